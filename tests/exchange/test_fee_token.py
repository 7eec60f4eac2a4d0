"""Paying trading fees in the platform token: 25 % less, valued at the fill's price and the last USDT
prices, only while the payer holds enough of it; otherwise the fee stays in the received asset."""

from decimal import Decimal as D

import pytest

from exchange.models import Market, Order, Trade
from exchange.runner import engine_for
from exchange.services import OrderRejected, order_place
from tests.conftest import on_postgres, run_concurrently
from tests.exchange.conftest import bal, funded
from wallets.ledger import system_account
from wallets.models import AccountKind, Asset, Entry
from wallets.selectors import ledger_violations

pytestmark = pytest.mark.django_db


@pytest.fixture
def agr(market):
    return Asset.objects.create(symbol="AGR", name="Agora Token", precision=8, is_platform_token=True, reference_price=D("0.8"))


def opted_in(**holdings):
    user = funded(**holdings)
    user.pay_fees_in_platform_token = True
    user.save(update_fields=["pay_fees_in_platform_token"])
    return user


def accept(user, market, side, qty, price, **kw):
    return order_place(user=user, market=market, side=side, type="LIMIT", quantity=qty, price=price, **kw)


def run(market):
    engine_for(market.pk).apply_all()


def btc_trade(market, seller, buyer):
    """The seller rests 0.01 BTC at 50,000 and the buyer takes it: 500 USDT, one trade."""
    accept(seller, market, "SELL", "0.01", "50000")
    accept(buyer, market, "BUY", "0.01", "50000")
    run(market)


def fee_account(symbol):
    return system_account(kind=AccountKind.FEES, asset=Asset.objects.get(symbol=symbol)).available


def test_taker_pays_its_fee_in_the_token_at_a_discount(market, agr, django_capture_on_commit_callbacks):
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="10")
    btc_trade(market, seller, buyer)
    trade = Trade.objects.get()
    # taker 0.2 % of 0.01 BTC = 0.00002 BTC = 1 USDT at the fill's price = 1.25 AGR at 0.8; less 25 % = 0.9375 AGR
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("0.9375"), "AGR")
    assert (trade.seller_fee, trade.seller_fee_asset.symbol) == (D("0.5"), "USDT")  # the seller did not opt in
    assert bal(buyer, "BTC") == (D("0.01"), 0)  # the whole quantity: no BTC fee
    assert bal(buyer, "AGR") == (D("9.0625"), 0)
    assert bal(seller, "USDT") == (D("499.5"), 0)
    assert (fee_account("AGR"), fee_account("BTC"), fee_account("USDT")) == (D("0.9375"), 0, D("0.5"))
    lines = sorted(
        (e.account.asset.symbol, e.bucket, e.amount) for e in Entry.objects.filter(journal=trade.journal).select_related("account__asset")
    )
    assert lines == [
        ("AGR", "available", D("-0.9375")),
        ("AGR", "available", D("0.9375")),
        ("BTC", "available", D("0.01")),
        ("BTC", "locked", D("-0.01")),
        ("USDT", "available", D("0.5")),
        ("USDT", "available", D("499.5")),
        ("USDT", "locked", D("-500")),
    ]
    assert ledger_violations() == []


def test_maker_fee_in_the_token_and_the_discount_setting(market, agr, settings):
    settings.FEE_TOKEN_DISCOUNT_PERCENT = "10"
    seller, buyer = opted_in(btc="1", agr="10"), funded(usdt="1000")
    btc_trade(market, seller, buyer)
    trade = Trade.objects.get()
    # maker 0.1 % of 500 USDT = 0.5 USDT = 0.625 AGR, less 10 % = 0.5625 AGR
    assert (trade.seller_fee, trade.seller_fee_asset.symbol) == (D("0.5625"), "AGR")
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("0.00002"), "BTC")
    assert bal(seller, "USDT") == (D("500"), 0) and bal(seller, "AGR") == (D("9.4375"), 0)
    assert ledger_violations() == []


def test_not_enough_token_means_the_full_fee_in_the_received_asset(market, agr):
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="0.9374")  # 0.00000001 short of 0.9375
    btc_trade(market, seller, buyer)
    trade = Trade.objects.get()
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("0.00002"), "BTC")
    assert bal(buyer, "BTC") == (D("0.00998"), 0) and bal(buyer, "AGR") == (D("0.9374"), 0)
    assert fee_account("AGR") == 0


def test_a_user_with_no_token_account_pays_in_the_received_asset(market, agr):
    seller, buyer = funded(btc="1"), opted_in(usdt="1000")
    btc_trade(market, seller, buyer)
    assert Trade.objects.get().buyer_fee_asset.symbol == "BTC"
    assert ledger_violations() == []


def test_the_token_balance_is_spent_in_fill_order_within_one_batch(market, agr):
    """Two fills in one batch, token enough for one: the first is paid in the token, the second
    in BTC; nothing is overdrawn, whatever the fills' order."""
    makers = [funded(btc="1") for _ in range(2)]
    buyer = opted_in(usdt="2000", agr="1.5")
    for maker in makers:
        accept(maker, market, "SELL", "0.01", "50000")
    accept(buyer, market, "BUY", "0.02", "50000")
    run(market)
    trades = list(Trade.objects.order_by("id"))
    assert [(t.buyer_fee, t.buyer_fee_asset.symbol) for t in trades] == [(D("0.9375"), "AGR"), (D("0.00002"), "BTC")]
    assert bal(buyer, "AGR") == (D("0.5625"), 0) and bal(buyer, "BTC") == (D("0.01998"), 0)
    assert ledger_violations() == []


def test_locked_token_does_not_count(market, agr, agrusdt):
    """A token reserved by an open order (or a withdrawal) is not there to pay fees."""
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="10")
    accept(buyer, agrusdt, "SELL", "9.5", "1")  # 9.5 of its 10 AGR locked
    run(agrusdt)
    btc_trade(market, seller, buyer)
    assert Trade.objects.get().buyer_fee_asset.symbol == "BTC"
    assert bal(buyer, "AGR") == (D("0.5"), D("9.5"))


@pytest.fixture
def agrusdt(market, agr):
    return Market.objects.create(
        symbol="AGRUSDT",
        base=agr,
        quote=market.quote,
        tick_size=D("0.0001"),
        step_size=D("0.1"),
        min_qty=D("0.1"),
        max_qty=D("1000000"),
        min_notional=D("5"),
    )


def cross(market, qty, price):
    a, b = funded(agr="100000"), funded(usdt="100000")
    accept(a, market, "SELL", qty, price)
    accept(b, market, "BUY", qty, price)
    run(market)


def test_token_valued_at_its_usdt_markets_last_hour_average(market, agr, agrusdt):
    cross(agrusdt, "10", "0.9")
    cross(agrusdt, "30", "0.7")  # the hour's volume-weighted price: (9 + 21) / 40 = 0.75
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="10")
    btc_trade(market, seller, buyer)
    # 1 USDT of fee at 0.75 USDT per AGR = 1.3333 AGR, less 25 % = 1 AGR (not the last price 0.7, not the reference 0.8)
    trade = Trade.objects.filter(market=market).get()
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("1.00000000"), "AGR")


def test_a_self_trade_at_an_absurd_price_cannot_make_token_fees_ruinous(market, agr, agrusdt):
    """Someone trades 50,000 AGR with themselves at 0.0001 USDT (5 USDT, the minimum notional):
    the hour's average falls to 0.00026, but the valuation stays within 20 % of the reference."""
    cross(agrusdt, "10", "0.8")
    cross(agrusdt, "50000", "0.0001")
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="10")
    btc_trade(market, seller, buyer)
    # at most 20 % below 0.8: 0.64 USDT per AGR; 1 USDT of fee = 1.5625 AGR, less 25 % = 1.171875 AGR (not 2,884 AGR)
    trade = Trade.objects.filter(market=market).get()
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("1.171875"), "AGR")
    assert bal(buyer, "AGR") == (D("8.828125"), 0)


def test_a_token_fee_that_rounds_to_nothing_stays_in_the_received_asset(market, agr):
    Asset.objects.filter(pk=agr.pk).update(reference_price=D("1000000000"))  # 1 USDT of fee is 0.000000001 AGR: below 1e-8
    seller, buyer = funded(btc="1"), opted_in(usdt="1000", agr="10")
    btc_trade(market, seller, buyer)
    trade = Trade.objects.get()
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("0.00002"), "BTC")
    assert bal(buyer, "BTC") == (D("0.00998"), 0) and bal(buyer, "AGR") == (D("10"), 0)


def test_usdt_prices_use_the_last_hour_only(market, agr, agrusdt):
    from freezegun import freeze_time

    from wallets.selectors import usdt_prices

    with freeze_time("2026-03-01 10:00:00"):
        cross(agrusdt, "10", "0.9")
    with freeze_time("2026-03-01 10:59:30"):
        assert usdt_prices([agr, market.quote, market.base])[agr.pk] == D("0.9")
    with freeze_time("2026-03-01 11:01:00"):
        prices = usdt_prices([agr, market.quote, market.base])
    assert (prices[agr.pk], prices[market.quote.pk], prices[market.base.pk]) == (D("0.8"), 1, None)  # BTC: no reference, no trade


def test_in_the_tokens_own_market_the_discount_applies_to_the_received_token(market, agr, agrusdt):
    seller, buyer = opted_in(agr="1000"), opted_in(usdt="1000")  # the buyer holds no AGR before the trade
    accept(seller, agrusdt, "SELL", "100", "0.8")
    accept(buyer, agrusdt, "BUY", "100", "0.8")
    run(agrusdt)
    trade = Trade.objects.get()
    # buyer (taker): 0.2 % of 100 AGR = 0.2 AGR, less 25 % = 0.15 AGR out of what it receives
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol) == (D("0.15"), "AGR")
    # seller (maker): 0.1 % of 80 USDT = 0.08 USDT = 0.1 AGR at the fill's price, less 25 % = 0.075 AGR from its available AGR
    assert (trade.seller_fee, trade.seller_fee_asset.symbol) == (D("0.075"), "AGR")
    assert bal(buyer, "AGR") == (D("99.85"), 0)
    assert bal(seller, "AGR") == (D("899.925"), 0) and bal(seller, "USDT") == (D("80"), 0)
    assert fee_account("AGR") == D("0.225")
    assert ledger_violations() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)")
def test_token_fees_and_token_holds_racing_never_overdraw(market, agr, agrusdt, settings):
    """The engine charges token fees while the same user reserves the token for AGRUSDT orders in
    other sessions: the batch decides under the accounts' locks, so neither fails nor overdraws."""
    from exchange.runner import MarketEngine

    settings.ENGINE_INLINE = False
    makers = [funded(btc="1") for _ in range(10)]
    buyer = opted_in(usdt="10000", agr="12")
    for i, maker in enumerate(makers):
        accept(maker, market, "SELL", "0.01", "50000")
        accept(buyer, market, "BUY", "0.01", "50000", client_order_id=f"b{i}")  # each fill's fee: 0.9375 AGR

    def work(i):
        if i == 0:
            return MarketEngine(market).apply_all()
        return accept(buyer, agrusdt, "SELL", "10", "1", client_order_id=f"s{i}")  # 10 AGR each: one can succeed at most

    outcomes = run_concurrently(3, work, expected=(OrderRejected,))
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert 20 in outcomes  # the engine applied every command
    trades = list(Trade.objects.filter(market=market))
    in_token = sum(t.buyer_fee for t in trades if t.buyer_fee_asset_id == agr.pk)
    held = D("10") * sum(isinstance(o, Order) for o in outcomes)
    available, locked = bal(buyer, "AGR")
    assert (available + in_token + held, locked) == (D("12"), held) and available >= 0
    assert len(trades) == 10 and ledger_violations() == []
