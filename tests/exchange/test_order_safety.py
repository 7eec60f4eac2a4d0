"""Issue 9: a freeze cancels the account's orders, a halt expires what was accepted before it,
and numbers are read strictly."""

from decimal import Decimal as D

import pytest

from accounts.models import AccountFreeze
from accounts.services import account_freeze
from exchange.models import EngineCommand, Market, MarketStatusChange, Order, Trade
from exchange.runner import MarketEngine
from exchange.services import MarketError, OrderRejected, market_halt, market_resume, order_cancel, order_place
from tests.exchange.conftest import bal, funded
from tests.factories import UserFactory
from wallets.selectors import ledger_violations

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine(market, settings):
    """The engine applies commands only when the test says so (as run_engine would, later)."""
    settings.ENGINE_INLINE = False
    return MarketEngine(market)


def accept(user, market, side, qty, price=None, type="LIMIT", **kw):
    return order_place(user=user, market=market, side=side, type=type, quantity=qty, price=price, stp_mode="NONE", **kw)


def refreshed(*orders):
    for order in orders:
        order.refresh_from_db()
    return orders


# --- freezing an account ------------------------------------------------------------------------------


def test_freezing_cancels_resting_orders_and_waiting_stops_and_releases_their_funds(market, engine):
    user, other = funded(btc="1", usdt="10000"), funded(btc="1", usdt="100000")
    ask = accept(user, market, "SELL", "0.1", "50000")
    bid = accept(user, market, "BUY", "0.1", "40000")
    stop = accept(user, market, "SELL", "0.2", "44000", type="STOP_LOSS_LIMIT", stop_price="45000")
    engine.apply_all()
    assert bal(user, "BTC") == (D("0.7"), D("0.3")) and bal(user, "USDT") == (D("6000"), D("4000"))

    account_freeze(user=user, source=AccountFreeze.Source.SELF)
    assert EngineCommand.objects.filter(kind="cancel", reason="account_frozen", applied_at__isnull=True).count() == 3
    assert engine.apply_all() == 3
    for order in refreshed(ask, bid, stop):
        assert (order.status, order.reason, order.reserved) == ("CANCELED", "account_frozen", D("0"))
    assert bal(user, "BTC") == (D("1"), D("0")) and bal(user, "USDT") == (D("10000"), D("0"))
    taker = accept(other, market, "BUY", "0.1", "50000")
    engine.apply_all()
    (taker,) = refreshed(taker)
    assert (taker.status, Trade.objects.count()) == ("NEW", 0)  # nothing of the frozen account left to fill
    assert ledger_violations() == []


def test_an_order_accepted_before_the_freeze_is_never_matched(market, engine):
    """A taker accepted before the freeze, applied in a batch before the freeze's cancels: the
    frozen maker's order leaves the book first, so nothing fills."""
    maker, taker = funded(btc="1"), funded(usdt="100000")
    ask = accept(maker, market, "SELL", "0.1", "50000")
    engine.apply_all()
    bid = accept(taker, market, "BUY", "0.1", "50000")
    account_freeze(user=maker, source=AccountFreeze.Source.SELF)
    assert engine.apply_batch(limit=1) == 1  # the taker's command only; the cancel comes in the next batch
    ask, bid = refreshed(ask, bid)
    assert (ask.status, ask.reason, ask.executed_qty) == ("CANCELED", "account_frozen", D("0"))
    assert (bid.status, bid.executed_qty) == ("NEW", D("0")) and Trade.objects.count() == 0
    assert bal(maker, "BTC") == (D("1"), D("0"))
    assert engine.apply_all() == 1  # the freeze's cancel, now a no-op
    assert ledger_violations() == []


def test_the_engine_refuses_a_pending_placement_of_an_account_frozen_since(market, engine):
    """The freeze may commit between order_place and the engine: the order is cancelled, not matched."""
    user, maker = funded(usdt="10000"), funded(btc="1")
    accept(maker, market, "SELL", "0.1", "50000")
    engine.apply_all()
    order = accept(user, market, "BUY", "0.1", "50000")
    type(user).objects.filter(pk=user.pk).update(frozen_at="2026-01-01T00:00:00Z")  # a freeze that did not see the order
    engine.apply_all()
    (order,) = refreshed(order)
    assert (order.status, order.reason, order.executed_qty, order.reserved) == ("CANCELED", "account_frozen", D("0"), D("0"))
    assert bal(user, "USDT") == (D("10000"), D("0")) and Trade.objects.count() == 0
    assert ledger_violations() == []


# --- halting a market ----------------------------------------------------------------------------------


def test_a_placement_accepted_before_a_halt_expires_with_its_funds_released(market, engine):
    operator, user, maker = UserFactory(), funded(usdt="10000"), funded(btc="1")
    resting = accept(maker, market, "SELL", "0.1", "50000")
    engine.apply_all()
    order = accept(user, market, "BUY", "0.1", "50000")
    assert bal(user, "USDT") == (D("5000"), D("5000"))
    market_halt(market=market, actor=operator, reason="incident 42: price feed")
    engine.apply_all()
    order, resting = refreshed(order, resting)
    assert (order.status, order.reason, order.executed_qty, order.reserved) == ("EXPIRED", "market_halted", D("0"), D("0"))
    assert bal(user, "USDT") == (D("10000"), D("0")) and Trade.objects.count() == 0
    assert (resting.status, resting.reason) == ("NEW", "")  # resting orders stay during a halt
    change = MarketStatusChange.objects.get()
    assert (change.market, change.previous, change.status, change.actor, change.reason) == (
        market,
        "TRADING",
        "HALT",
        operator,
        "incident 42: price feed",
    )
    with pytest.raises(OrderRejected) as refused:
        accept(user, market, "BUY", "0.1", "50000")
    assert refused.value.code == "market_closed"
    order_cancel(user=maker, order=resting)  # cancelling still works while halted
    engine.apply_all()
    (resting,) = refreshed(resting)
    assert resting.status == "CANCELED" and bal(maker, "BTC") == (D("1"), D("0"))

    market_resume(market=market, actor=operator, reason="feed fixed")
    market.refresh_from_db()
    assert market.status == "TRADING"
    assert list(MarketStatusChange.objects.order_by("id").values_list("status", "reason")) == [
        ("HALT", "incident 42: price feed"),
        ("TRADING", "feed fixed"),
    ]
    assert ledger_violations() == []


def test_halting_needs_a_reason_and_halting_twice_records_once(market):
    operator = UserFactory()
    with pytest.raises(MarketError) as refused:
        market_halt(market=market, actor=operator, reason="  ")
    assert refused.value.code == "reason_required" and Market.objects.get().status == "TRADING"
    market_halt(market=market, actor=operator, reason="maintenance")
    market_halt(market=market, actor=operator, reason="maintenance again")
    assert MarketStatusChange.objects.count() == 1 and Market.objects.get().status == "HALT"


def test_operator_halts_with_a_reason_in_admin(client, market):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    from accounts import services as account_services

    account_services.roles_sync()
    operator = account_services.role_assign(user=UserFactory(), role="operator")
    client.force_login(operator)
    asked = client.post("/en/admin/exchange/market/", {"action": "halt", ACTION_CHECKBOX_NAME: [market.pk]})
    assert asked.status_code == 200 and b'name="reason"' in asked.content  # asks for the reason first
    assert Market.objects.get().status == "TRADING"
    done = client.post("/en/admin/exchange/market/", {"action": "halt", ACTION_CHECKBOX_NAME: [market.pk], "reason": "exploit"})
    assert done.status_code == 302 and Market.objects.get().status == "HALT"
    change = MarketStatusChange.objects.get()
    assert (change.actor, change.reason, change.status) == (operator, "exploit", "HALT")
    assert client.get("/en/admin/exchange/marketstatuschange/").status_code == 200


# --- strict numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("0_1", "not_a_number"),
        ("٠٫١", "not_a_number"),  # Arabic-Indic digits
        ("۰.۱", "not_a_number"),  # Extended Arabic-Indic
        ("०.१", "not_a_number"),  # Devanagari
        ("０.１", "not_a_number"),  # full-width
        ("NaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("1e400", "too_large"),
        (" 0.1", "not_a_number"),
        ("0.1.1", "not_a_number"),
        ("+0.1", "not_a_number"),
        ("-0.1", "negative"),
        ("0", "not_positive"),
        (0.1, "not_a_number"),
    ],
)
def test_quantities_are_read_strictly_and_refusals_name_the_parameter(market, value, detail):
    user = funded(usdt="100000")
    with pytest.raises(OrderRejected) as refused:
        order_place(user=user, market=market, side="BUY", type="LIMIT", quantity=value, price="50000")
    error = refused.value
    assert (error.code, error.param, error.detail, error.binance_code) == ("number_invalid", "quantity", detail, -1100)
    assert error.msg.startswith("Illegal characters found in parameter 'quantity'")
    assert "quantity" in error.message
    assert Order.objects.count() == 0 and bal(user, "USDT") == (D("100000"), D("0"))


@pytest.mark.parametrize(("param", "name"), [("price", "price"), ("stop_price", "stopPrice"), ("quote_quantity", "quoteOrderQty")])
def test_every_number_parameter_is_named_in_its_refusal(market, param, name):
    user = funded(usdt="100000")
    kwargs = {"type": "STOP_LOSS_LIMIT", "quantity": "0.1", "price": "50000", "stop_price": "49000"}
    if param == "quote_quantity":
        kwargs = {"type": "MARKET"}
    kwargs[param] = "1_000"
    with pytest.raises(OrderRejected) as refused:
        order_place(user=user, market=market, side="BUY", **kwargs)
    assert (refused.value.code, refused.value.param) == ("number_invalid", name)


def test_an_exponent_in_ascii_is_a_number(market, engine):
    user = funded(usdt="100000")
    order = order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="1e-1", price="5E4")
    assert (order.quantity, order.price) == (D("0.1"), D("50000"))


def test_order_rejected_is_an_app_error_with_a_translated_message(market):
    from django.utils import translation

    from config.errors import AppError

    user = funded(usdt="10")
    with translation.override("en"), pytest.raises(AppError) as refused:
        order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
    assert refused.value.code == "insufficient_balance"
    assert refused.value.message == "Your available balance is too low for this order."
