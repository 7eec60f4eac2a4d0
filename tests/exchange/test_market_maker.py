from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exchange.models import Order, Trade
from exchange.runner import engine_for
from tests.exchange.conftest import funded
from wallets.models import Asset
from wallets.selectors import ledger_violations

pytestmark = pytest.mark.django_db


def test_market_maker_quotes_both_sides_through_the_order_service_and_a_taker_trades(market, monkeypatch):
    Asset.objects.filter(symbol="BTC").update(reference_price=D("50000"))
    maker = funded(btc="10", usdt="1000000")
    taker = funded(btc="10", usdt="1000000")
    monkeypatch.setattr("time.sleep", lambda _s: engine_for(market.pk).apply_all())  # the engine runs between rounds
    call_command(
        "market_maker",
        "--email",
        maker.email,
        "--taker",
        taker.email,
        "--interval",
        "0",
        "--max-rounds",
        "12",
        "--seed",
        "3",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    engine_for(market.pk).apply_all()
    book = engine_for(market.pk).book
    bids, asks = book.depth()
    assert len(bids) == 3 and len(asks) == 3  # three levels a side; earlier quotes were cancelled
    assert bids[0][0] < asks[0][0] and abs(asks[0][0] - bids[0][0]) <= 2 * 0.0011 * asks[0][0]  # tight and never crossed
    open_orders = Order.objects.filter(user=maker, status__in=Order.OPEN)
    assert open_orders.count() == 6 and set(open_orders.values_list("type", flat=True)) == {"LIMIT_MAKER"}
    assert Trade.objects.exists()  # the taker traded against the quotes
    assert ledger_violations() == []


def test_market_maker_refuses_production_and_unknown_accounts(market, settings):
    with pytest.raises(CommandError, match="no user"):
        call_command("market_maker", "--email", "nobody@demo.test", "--max-rounds", "1")
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("market_maker", "--max-rounds", "1")
