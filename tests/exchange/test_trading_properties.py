"""A randomized trading session through the public service keeps the ledger sound and conserves
every asset; concurrent placement on PostgreSQL cannot overdraw."""

from decimal import Decimal as D
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.models import Market, Order
from exchange.runner import engine_for
from exchange.services import OrderRejected, order_cancel, order_place
from tests.conftest import on_postgres, run_concurrently
from tests.exchange.conftest import bal, funded
from wallets.ledger import system_account
from wallets.models import AccountKind, Asset, LedgerAccount
from wallets.selectors import ledger_violations

EXAMPLES = count()
ORDERS = st.lists(
    st.tuples(
        st.integers(0, 2),  # trader
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from(["LIMIT", "LIMIT", "LIMIT", "MARKET", "LIMIT_MAKER", "IOC", "FOK", "CANCEL"]),
        st.integers(49_990, 50_010),  # price in whole USDT
        st.integers(1, 30),  # quantity in 0.0001 BTC... x10
    ),
    min_size=5,
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=ORDERS)
def test_random_session_conserves_assets_and_keeps_the_ledger_sound(market, ops):
    template = market
    # Examples share the test's database: each gets its own market and traders, and fees are measured as changes.
    market = Market.objects.create(
        symbol=f"BTCUSDT{next(EXAMPLES)}",
        base=template.base,
        quote=template.quote,
        tick_size=template.tick_size,
        step_size=template.step_size,
        min_qty=template.min_qty,
        max_qty=template.max_qty,
        min_notional=template.min_notional,
    )
    agr = Asset.objects.get_or_create(
        symbol="AGR", defaults={"name": "Agora Token", "precision": 8, "is_platform_token": True, "reference_price": D("0.8")}
    )[0]
    fees_before = {a: system_account(kind=AccountKind.FEES, asset=a).available for a in (market.base, market.quote, agr)}
    # The third trader pays fees in the platform token and holds little of it: it runs out mid-session.
    traders = [funded(btc="1", usdt="100000") for _ in range(2)] + [funded(btc="1", usdt="100000", agr="3")]
    traders[2].pay_fees_in_platform_token = True
    traders[2].save(update_fields=["pay_fees_in_platform_token"])
    for trader_i, side, kind, price, lots in ops:
        user = traders[trader_i]
        try:
            if kind == "CANCEL":
                open_order = Order.objects.filter(user=user, status__in=Order.OPEN).first()
                if open_order:
                    order_cancel(user=user, order=open_order)
            elif kind == "MARKET":
                order_place(user=user, market=market, side=side, type="MARKET", quantity=D(lots) / 1000)
            elif kind in ("IOC", "FOK"):
                order_place(user=user, market=market, side=side, type="LIMIT", time_in_force=kind, quantity=D(lots) / 1000, price=D(price))
            else:
                order_place(user=user, market=market, side=side, type=kind, quantity=D(lots) / 1000, price=D(price), stp_mode="NONE")
        except OrderRejected:
            pass
        engine_for(market.pk).apply_all()
        assert ledger_violations() == []
    fees = {a: system_account(kind=AccountKind.FEES, asset=a).available - fees_before[a] for a in (market.base, market.quote, agr)}
    totals = {symbol: sum((sum(bal(t, symbol)) for t in traders), D(0)) for symbol in ("BTC", "USDT", "AGR")}
    assert totals["BTC"] + fees[market.base] == D("3") and totals["USDT"] + fees[market.quote] == D("300000")
    assert totals["AGR"] + fees[agr] == D("3") and bal(traders[2], "AGR")[0] >= 0
    for order in Order.objects.filter(market=market).exclude(status__in=Order.OPEN):
        assert order.reserved == 0  # every ended order released what it held
    open_reserved = {
        symbol: sum((o.reserved for o in Order.objects.filter(market=market, status__in=Order.OPEN, reserved_asset__symbol=symbol)), D(0))
        for symbol in ("BTC", "USDT")
    }
    for symbol in ("BTC", "USDT"):
        locked = sum((a.locked for a in LedgerAccount.objects.filter(kind="user", asset__symbol=symbol, user__in=traders)), D(0))
        assert locked == open_reserved[symbol]  # what is locked is exactly what open orders hold


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)")
def test_concurrent_placement_cannot_overdraw(market, settings):
    settings.ENGINE_INLINE = False
    user = funded(usdt="1000")
    outcomes = run_concurrently(
        12,
        lambda i: order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.002", price="50000", client_order_id=f"c{i}"),
        expected=(OrderRejected,),
    )
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert sum(isinstance(o, Order) for o in outcomes) == 10 and outcomes.count("refused") == 2  # 10 x 100 USDT
    assert bal(user, "USDT") == (D("0"), D("1000"))
    assert ledger_violations() == []
