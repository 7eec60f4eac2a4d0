"""Issue 9: an operator may change a market's tick and step only while nothing rests in it
(exchange.services.market_save); the running engine must then convert in the new steps, and an
order accepted under the old ones must never be truncated into the new ones."""

from decimal import Decimal as D

import pytest

from exchange.models import Market, Order, Trade
from exchange.runner import MarketEngine
from exchange.services import market_save, order_place
from tests.exchange.conftest import bal, funded
from wallets.selectors import ledger_violations

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine(market, settings):
    settings.ENGINE_INLINE = False
    return MarketEngine(market)  # running before the operator's change, as run_engine would be


def steps_set(market, tick: str, step: str = "0.0001") -> Market:
    edited = Market.objects.get(pk=market.pk)
    edited.tick_size, edited.step_size = D(tick), D(step)
    return market_save(market=edited)


def test_a_running_engine_trades_in_the_new_tick_after_the_operator_changes_it(market, engine):
    steps_set(market, "0.001")  # 0.01 → 0.001, allowed: nothing rests
    fresh = Market.objects.get(pk=market.pk)
    seller, buyer = funded(btc="1"), funded(usdt="10000")
    sell = order_place(user=seller, market=fresh, side="SELL", type="LIMIT", quantity="0.1", price="50000.005", stp_mode="NONE")
    buy = order_place(user=buyer, market=fresh, side="BUY", type="LIMIT", quantity="0.1", price="50000.005", stp_mode="NONE")
    engine.apply_all()
    trade = Trade.objects.get()
    assert trade.price == D("50000.005") and trade.quantity == D("0.1")  # not truncated to 50000.00 by the old tick
    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (sell.status, buy.status) == ("FILLED", "FILLED")
    assert bal(buyer, "USDT") == (D("4999.9995"), D("0"))  # 10000 − 5000.0005
    assert bal(buyer, "BTC") == (D("0.0998"), D("0"))  # 0.1 less the 0.2 % taker fee
    assert ledger_violations() == []


def test_an_order_accepted_under_the_old_tick_expires_with_its_funds_released(market, engine):
    stale = Market.objects.get(pk=market.pk)  # what a request read before the operator saved
    steps_set(market, "0.05")
    buyer = funded(usdt="10000")
    order = order_place(user=buyer, market=stale, side="BUY", type="LIMIT", quantity="0.1", price="50000.01", stp_mode="NONE")
    assert bal(buyer, "USDT") == (D("4999.999"), D("5000.001"))
    engine.apply_all()
    order.refresh_from_db()
    assert (order.status, order.reason, order.executed_qty, order.reserved) == ("EXPIRED", "market_changed", D("0"), D("0"))
    assert bal(buyer, "USDT") == (D("10000"), D("0")) and not Trade.objects.exists()
    assert order.get_reason_display() == "Market tick or step changed"
    assert ledger_violations() == []


def test_an_order_on_the_old_step_expires_too(market, engine):
    stale = Market.objects.get(pk=market.pk)
    steps_set(market, "0.01", step="0.01")
    seller = funded(btc="1")
    order = order_place(user=seller, market=stale, side="SELL", type="LIMIT", quantity="0.0101", price="50000", stp_mode="NONE")
    engine.apply_all()
    order.refresh_from_db()
    assert (order.status, order.reason) == (Order.Status.EXPIRED, "market_changed")
    assert bal(seller, "BTC") == (D("1"), D("0"))
