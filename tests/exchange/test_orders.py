from decimal import Decimal as D

import pytest

from accounts.models import AccountFreeze
from accounts.services import account_freeze
from exchange.models import EngineCommand, Market, Order, Trade
from exchange.runner import MarketEngine, engine_for
from exchange.services import OrderRejected, order_cancel, order_cancel_all, order_place
from tests.exchange.conftest import bal, funded
from wallets.ledger import system_account
from wallets.models import AccountKind
from wallets.selectors import ledger_violations

pytestmark = pytest.mark.django_db


def place(user, market, side, qty=None, price=None, type="LIMIT", **kw):
    """Accept an order, then let the in-process engine apply it (after commit, in production)."""
    order = order_place(user=user, market=market, side=side, type=type, quantity=qty, price=price, **kw)
    engine_for(market.pk).apply_all()
    order.refresh_from_db()
    return order


def test_limit_orders_match_and_settle_to_the_last_unit_with_fees(market, django_capture_on_commit_callbacks):
    seller = funded(btc="1")
    buyer = funded(usdt="100000")
    with django_capture_on_commit_callbacks(execute=True):
        ask = place(seller, market, "SELL", "0.5", "60000.01")
    assert ask.status == "NEW" and bal(seller, "BTC") == (D("0.5"), D("0.5"))
    with django_capture_on_commit_callbacks(execute=True):
        bid = place(buyer, market, "BUY", "0.3", "60100")  # crosses: fills at the maker's price
    ask.refresh_from_db()
    assert (bid.status, bid.executed_qty, bid.cumulative_quote_qty) == ("FILLED", D("0.3"), D("18000.003"))
    assert (ask.status, ask.executed_qty) == ("PARTIALLY_FILLED", D("0.3"))
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.quote_quantity, trade.taker_side) == (D("60000.01"), D("0.3"), D("18000.003"), "BUY")
    # taker (buyer, tier 0) pays 0.2 % of the BTC it receives; the maker (seller) 0.1 % of its USDT, rounded down
    assert (trade.buyer_fee, trade.seller_fee) == (D("0.0006"), D("18.000003"))
    assert bal(buyer, "BTC") == (D("0.2994"), 0)
    assert bal(buyer, "USDT") == (D("81999.997"), 0)  # price improvement released: nothing stays locked
    assert bal(seller, "BTC") == (D("0.5"), D("0.2"))
    assert bal(seller, "USDT") == (D("17982.002997"), 0)
    btc, usdt = market.base, market.quote
    assert system_account(kind=AccountKind.FEES, asset=btc).available == D("0.0006")
    assert system_account(kind=AccountKind.FEES, asset=usdt).available == D("18.000003")
    assert ledger_violations() == []


def test_vip_tier_fees(market, django_capture_on_commit_callbacks):
    seller, buyer = funded(btc="1"), funded(usdt="1000")
    seller.vip_tier = 1  # maker 0 %
    seller.save()
    with django_capture_on_commit_callbacks(execute=True):
        place(seller, market, "SELL", "0.01", "50000")
        place(buyer, market, "BUY", "0.01", "50000")
    trade = Trade.objects.get()
    assert (trade.buyer_fee, trade.seller_fee) == (D("0.00002"), D("0"))
    assert bal(seller, "USDT") == (D("500"), 0)


@pytest.mark.parametrize(
    ("kwargs", "code", "binance_code", "msg"),
    [
        ({"qty": "0", "price": "50000"}, "number_invalid", -1100, "Illegal characters found in parameter 'quantity'"),
        ({"qty": "-1", "price": "50000"}, "number_invalid", -1100, "Illegal characters found in parameter 'quantity'"),
        ({"qty": "NaN", "price": "50000"}, "number_invalid", -1100, "Illegal characters found in parameter 'quantity'"),
        ({"qty": 0.1, "price": "50000"}, "number_invalid", -1100, "Illegal characters found in parameter 'quantity'"),
        ({"qty": "0.00001", "price": "50000"}, "lot_size", -1013, "Filter failure: LOT_SIZE"),
        ({"qty": "0.1", "price": "50000.001"}, "price_filter", -1013, "Filter failure: PRICE_FILTER"),
        ({"qty": "0.0001", "price": "100"}, "notional", -1013, "Filter failure: NOTIONAL"),
        ({"qty": "101", "price": "1"}, "lot_size", -1013, "Filter failure: LOT_SIZE"),
        ({"qty": "0.1"}, "parameter_missing", -1102, "Mandatory parameter 'price'"),
        ({"qty": "1", "price": "50000"}, "insufficient_balance", -2010, "Account has insufficient balance for requested action."),
    ],
)
def test_bad_orders_are_refused_with_binance_codes_and_reserve_nothing(market, kwargs, code, binance_code, msg):
    user = funded(usdt="10000")
    with pytest.raises(OrderRejected) as info:
        place(user, market, "BUY", kwargs.get("qty"), kwargs.get("price"))
    assert (info.value.code, info.value.binance_code) == (code, binance_code) and info.value.msg.startswith(msg)
    assert Order.objects.count() == 0 and EngineCommand.objects.count() == 0
    assert bal(user, "USDT") == (D("10000"), 0)


def test_halted_market_and_frozen_account_are_refused(market):
    user = funded(usdt="10000")
    Market.objects.filter(pk=market.pk).update(status="HALT")
    market.refresh_from_db()
    with pytest.raises(OrderRejected, match="market_closed"):
        place(user, market, "BUY", "0.1", "50000")
    Market.objects.filter(pk=market.pk).update(status="TRADING")
    market.refresh_from_db()
    account_freeze(user=user, source=AccountFreeze.Source.SELF)
    with pytest.raises(OrderRejected, match="account_disabled"):
        place(user, market, "BUY", "0.1", "50000")


def test_duplicate_client_order_id_among_open_orders(market, django_capture_on_commit_callbacks):
    user = funded(usdt="100000")
    with django_capture_on_commit_callbacks(execute=True):
        first = place(user, market, "BUY", "0.1", "50000", client_order_id="x-1")
    with pytest.raises(OrderRejected, match="duplicate_order"):
        place(user, market, "BUY", "0.1", "50000", client_order_id="x-1")
    assert bal(user, "USDT") == (D("95000"), D("5000"))
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(user=user, order=first)
        engine_for(market.pk).apply_all()
    first.refresh_from_db()
    assert first.status == "CANCELED" and bal(user, "USDT") == (D("100000"), 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert place(user, market, "BUY", "0.1", "50000", client_order_id="x-1").status == "NEW"  # free again once closed


def test_ioc_fok_limit_maker_and_market_orders(market, django_capture_on_commit_callbacks):
    maker, taker = funded(btc="2"), funded(usdt="1000000")
    with django_capture_on_commit_callbacks(execute=True):
        place(maker, market, "SELL", "0.1", "50000")
        place(maker, market, "SELL", "0.1", "50100")
        fok = place(taker, market, "BUY", "0.3", "50100", time_in_force="FOK")
        ioc = place(taker, market, "BUY", "0.15", "50000", time_in_force="IOC")
        post = place(taker, market, "BUY", "0.1", "50100", type="LIMIT_MAKER")
        mkt = order_place(user=taker, market=market, side="BUY", type="MARKET", quote_quantity="5010")
        engine_for(market.pk).apply_all()
    mkt.refresh_from_db()
    assert (fok.status, fok.executed_qty) == ("EXPIRED", 0)
    assert (ioc.status, ioc.executed_qty) == ("EXPIRED", D("0.1"))
    assert post.status == "REJECTED"
    assert (mkt.status, mkt.executed_qty, mkt.cumulative_quote_qty) == ("FILLED", D("0.1"), D("5010"))
    assert bal(taker, "USDT")[1] == 0  # every reservation released
    assert ledger_violations() == []


def test_market_order_is_bounded_by_protection_and_needs_liquidity(market, django_capture_on_commit_callbacks):
    maker, taker = funded(btc="2"), funded(usdt="1000000")
    with pytest.raises(OrderRejected, match="no_liquidity"):
        order_place(user=taker, market=market, side="BUY", type="MARKET", quantity="0.1")
    with django_capture_on_commit_callbacks(execute=True):
        place(maker, market, "SELL", "0.1", "50000")
        place(maker, market, "SELL", "0.1", "60000")  # 20 % away: beyond the 5 % protection
        order = place(taker, market, "BUY", "0.2", type="MARKET")
    assert (order.status, order.executed_qty, order.price) == ("EXPIRED", D("0.1"), D("52500.00"))
    assert bal(taker, "USDT") == (D("995000"), 0)


def test_self_trade_prevention_expires_the_resting_order_by_default(market, django_capture_on_commit_callbacks):
    user = funded(btc="1", usdt="100000")
    with django_capture_on_commit_callbacks(execute=True):
        resting = place(user, market, "SELL", "0.1", "50000")
        taker = place(user, market, "BUY", "0.1", "50000")
    resting.refresh_from_db()
    assert (resting.status, taker.status) == ("EXPIRED_IN_MATCH", "NEW")
    assert Trade.objects.count() == 0 and bal(user, "BTC") == (D("1"), 0)


def test_stop_loss_triggers_from_the_last_trade(market, django_capture_on_commit_callbacks):
    a, b = funded(btc="5", usdt="1000000"), funded(btc="5", usdt="1000000")
    with django_capture_on_commit_callbacks(execute=True):
        place(a, market, "BUY", "1", "49000")
        place(a, market, "SELL", "0.1", "50000")
        place(b, market, "BUY", "0.1", "50000")  # last price 50000
        stop = place(b, market, "SELL", "0.5", "48500", type="STOP_LOSS_LIMIT", stop_price="49000")
        assert stop.status == "NEW" and bal(b, "BTC")[1] == D("0.5")
        place(b, market, "SELL", "0.1", "49000")  # trades at 49000: the stop fires and sells into the 49000 bid
    stop.refresh_from_db()
    assert (stop.status, stop.executed_qty) == ("FILLED", D("0.5"))
    assert list(Trade.objects.order_by("id").values_list("price", "quantity")) == [
        (D("50000"), D("0.1")),
        (D("49000"), D("0.1")),
        (D("49000"), D("0.5")),
    ]


def test_cancel_all_and_unknown_orders(market, django_capture_on_commit_callbacks):
    user, other = funded(usdt="100000"), funded(usdt="100")
    with django_capture_on_commit_callbacks(execute=True):
        orders = [place(user, market, "BUY", "0.1", price) for price in ("40000", "41000", "42000")]
        assert order_cancel_all(user=user, market=market) == 3
        engine_for(market.pk).apply_all()
    assert set(Order.objects.values_list("status", flat=True)) == {"CANCELED"}
    with pytest.raises(OrderRejected, match="unknown_order"):
        order_cancel(user=other, order=orders[0])
    with pytest.raises(OrderRejected, match="unknown_order"):
        order_cancel(user=user, order=orders[0])  # already closed


def test_engine_rebuilds_its_book_from_the_database(market, settings, django_capture_on_commit_callbacks):
    settings.ENGINE_INLINE = False
    maker, taker = funded(btc="1"), funded(usdt="100000")
    order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.1", price="50000")
    order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.1", price="50000")
    engine = MarketEngine(market)
    assert engine.apply_all() == 2
    first = Order.objects.filter(user=maker).order_by("id").first()
    order_place(user=taker, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
    fresh = MarketEngine(market)  # a restarted engine: same book, same time priority
    assert fresh.book.depth() == engine.book.depth() == ([], [(5_000_000, 2000)])
    assert fresh.apply_all() == 1
    assert Trade.objects.get().sell_order == first  # the older order filled first
    assert fresh.apply_all() == 0 and EngineCommand.objects.filter(applied_at__isnull=True).count() == 0


def test_fee_tiers_follow_30_day_volume(market, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from exchange.services import fee_tiers_recompute

    whale, minnow, idle = funded(btc="100"), funded(usdt="10000000"), funded(usdt="1")
    idle.vip_tier = 1
    idle.save()
    place(whale, market, "SELL", "25", "50000")
    place(minnow, market, "BUY", "20.0001", "50000")  # 1,000,005 USDT each side: tier 1 starts at 1,000,000
    assert fee_tiers_recompute() == {"up": 2, "down": 1}
    for user, tier in ((whale, 1), (minnow, 1), (idle, 0)):
        user.refresh_from_db()
        assert user.vip_tier == tier
    assert fee_tiers_recompute() == {"up": 0, "down": 0}
    assert fee_tiers_recompute(now=timezone.now() + timedelta(days=31)) == {"up": 0, "down": 2}  # the volume aged out


def test_operator_halts_and_resumes_a_market_in_admin(client, market):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    from accounts import services as account_services
    from tests.factories import UserFactory

    account_services.roles_sync()
    operator = account_services.role_assign(user=UserFactory(), role="operator")
    client.force_login(operator)
    client.post("/en/admin/exchange/market/", {"action": "halt", ACTION_CHECKBOX_NAME: [market.pk], "reason": "maintenance"})
    market.refresh_from_db()
    assert market.status == "HALT"
    client.post("/en/admin/exchange/market/", {"action": "resume", ACTION_CHECKBOX_NAME: [market.pk], "reason": "done"})
    market.refresh_from_db()
    assert market.status == "TRADING"


def test_an_engine_that_lost_the_market_writes_nothing(market, settings):
    from exchange.runner import OwnershipLost

    settings.ENGINE_INLINE = False
    user = funded(usdt="100000")
    stale = MarketEngine(market)
    order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
    assert MarketEngine(market).apply_all() == 1  # a new owner applied it (update id 1)
    order = order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="49000")
    with pytest.raises(OwnershipLost):
        stale.apply_batch()  # its view (update id 0) is stale: it must not apply or settle anything
    order.refresh_from_db()
    assert order.status == "PENDING_NEW" and EngineCommand.objects.filter(applied_at__isnull=True).count() == 1


def test_rebuild_keeps_the_queue_order_of_a_taker_and_the_stop_it_triggered(market, settings):
    settings.ENGINE_INLINE = False
    maker, buyer = funded(btc="1"), funded(usdt="100000")
    engine = MarketEngine(market)

    def accept(user, side, qty, price, **kw):
        order = order_place(user=user, market=market, side=side, type=kw.pop("type", "LIMIT"), quantity=qty, price=price, **kw)
        engine.apply_all()
        return order

    accept(maker, "SELL", "0.1", "50000")
    stop = accept(buyer, "BUY", "0.1", "50000", type="STOP_LOSS_LIMIT", stop_price="50000", client_order_id="stop")
    taker = accept(buyer, "BUY", "0.2", "50000")  # fills the ask at 50000, rests 0.1; the stop fires and rests behind it
    level = engine.ticks(D("50000"))
    assert [o.id for o in engine.book.bids[level].orders] == [taker.pk, stop.pk]
    rebuilt = MarketEngine(market)
    assert [o.id for o in rebuilt.book.bids[level].orders] == [taker.pk, stop.pk]


def test_market_order_bound_ignores_stops_waiting_for_their_trigger(market, django_capture_on_commit_callbacks):
    maker, buyer = funded(btc="2"), funded(usdt="1000000")
    place(maker, market, "SELL", "0.5", "50000")
    place(maker, market, "SELL", "0.001", "10000", type="STOP_LOSS_LIMIT", stop_price="20000")  # not in the book
    order = place(buyer, market, "BUY", "0.5", type="MARKET")
    assert (order.price, order.status, order.executed_qty) == (D("52500.00"), "FILLED", D("0.5"))


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"client_order_id": "a bé<script>"}, "client_order_id_invalid"),
        ({"price": "1000000000000000000"}, "number_invalid"),
        ({"stop_price": "40000"}, "parameter_not_required"),
    ],
)
def test_more_bad_input_is_refused(market, kwargs, code):
    user = funded(usdt="100000")
    params = {"quantity": "0.1", "price": "50000", **kwargs}
    with pytest.raises(OrderRejected) as info:
        order_place(user=user, market=market, side="BUY", type="LIMIT", **params)
    assert info.value.code == code and Order.objects.count() == 0


def test_rebuild_restores_waiting_stops_in_the_order_the_engine_accepted_them(market, settings):
    """Command ids are taken at insert and can commit out of order; trigger priority is the order
    the engine applied the stops, which a rebuild must keep (not the order ids)."""
    settings.ENGINE_INLINE = False
    buyer = funded(usdt="100000")
    first = order_place(user=buyer, market=market, side="BUY", type="STOP_LOSS_LIMIT", quantity="0.1", price="50000", stop_price="50000")
    second = order_place(user=buyer, market=market, side="BUY", type="STOP_LOSS_LIMIT", quantity="0.1", price="50000", stop_price="50000")
    EngineCommand.objects.filter(order=first).update(id=10**9)  # the first order's command committed after the second's
    engine = MarketEngine(market)
    engine.apply_all()
    assert list(engine.book.stops) == [second.pk, first.pk]
    assert list(MarketEngine(market).book.stops) == [second.pk, first.pk]


def test_a_quote_amount_market_order_that_cannot_buy_one_lot_expires_with_nothing_executed(market, django_capture_on_commit_callbacks):
    """One lot (0.0001 BTC) at 60000 costs 6 USDT; 5.5 USDT buys nothing. It used to end FILLED
    with nothing executed."""
    maker, buyer = funded(btc="1"), funded(usdt="100")
    with django_capture_on_commit_callbacks(execute=True):
        ask = place(maker, market, "SELL", "0.1", "60000")
        order = place(buyer, market, "BUY", type="MARKET", quote_quantity="5.5")
    ask.refresh_from_db()
    assert (order.status, order.executed_qty, order.cumulative_quote_qty, order.reserved) == ("EXPIRED", D("0"), D("0"), D("0"))
    assert bal(buyer, "USDT") == (D("100"), D("0")) and bal(buyer, "BTC") == (D("0"), D("0"))
    assert (ask.status, ask.executed_qty) == ("NEW", D("0")) and Trade.objects.count() == 0
    assert ledger_violations() == []


def test_a_quote_amount_market_order_that_spends_its_amount_down_to_less_than_a_lot_is_filled(market, django_capture_on_commit_callbacks):
    maker, buyer = funded(btc="1"), funded(usdt="100")
    with django_capture_on_commit_callbacks(execute=True):
        place(maker, market, "SELL", "0.1", "60000")
        order = place(buyer, market, "BUY", type="MARKET", quote_quantity="13")  # two lots (12 USDT); 1 USDT buys no third
    assert (order.status, order.executed_qty, order.cumulative_quote_qty, order.reserved) == ("FILLED", D("0.0002"), D("12"), D("0"))
    assert bal(buyer, "USDT") == (D("88"), D("0"))
    assert ledger_violations() == []
