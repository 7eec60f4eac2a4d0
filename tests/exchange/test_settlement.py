"""The settlement arithmetic on its own (exchange/engine/settlement.py): no engine, no database."""

from decimal import Decimal as D

import pytest

from exchange.engine.settlement import BASE, OTHER, QUOTE, fee_in_token, fee_rate, fee_round

SATOSHI, MICRO = D("0.00000001"), D("0.000001")


@pytest.mark.parametrize(
    ("raw", "quantum", "fee"),
    [
        (D("0.3") * D("0.002"), SATOSHI, D("0.0006")),
        (D("18000.003") * D("0.001"), MICRO, D("18.000003")),
        (D("0.0001") * D("0.002"), D("1"), D("0")),  # a 0-decimal asset: a small fee rounds to nothing
        (D("1.2345678") * D("0.001"), MICRO, D("0.001234")),  # down, never up
    ],
)
def test_a_fee_is_rounded_down_to_the_assets_precision(raw, quantum, fee):
    assert fee_round(raw, quantum) == fee


def test_a_buyers_fee_is_worth_its_base_amount_at_the_fill_price_less_the_discount():
    # 0.0006 BTC at 60000 = 36 USDT; 25 % off = 27 USDT; the token at 0.5 USDT: 54 tokens
    amount = fee_in_token(
        raw=D("0.0006"),
        paid_by_buyer=True,
        price=D("60000"),
        discount_factor=D("0.75"),
        token_is=OTHER,
        quantum=SATOSHI,
        quote_usdt=D("1"),
        token_usdt=D("0.5"),
    )
    assert amount == D("54")


def test_a_sellers_fee_is_already_in_the_quote_asset():
    amount = fee_in_token(
        raw=D("18.000003"),
        paid_by_buyer=False,
        price=D("60000.01"),
        discount_factor=D("0.75"),
        token_is=OTHER,
        quantum=D("0.0001"),
        quote_usdt=D("1"),
        token_usdt=D("0.3"),
    )
    assert amount == D("45.0000")  # 13.50000225 / 0.3 = 45.0000075, rounded down


def test_the_token_as_quote_or_base_of_the_market_converts_at_the_fill_price():
    common = {"raw": D("1"), "paid_by_buyer": False, "discount_factor": D("0.75"), "quantum": MICRO}
    assert fee_in_token(price=D("4"), token_is=QUOTE, **common) == D("0.75")  # multiplied once: not 1 / 0.75 * 0.75
    assert fee_in_token(price=D("4"), token_is=BASE, **common) == D("0.1875")
    assert fee_in_token(price=D("3"), token_is=BASE, **common) == D("0.25")


def test_without_a_usdt_price_there_is_no_token_fee():
    common = {"raw": D("1"), "paid_by_buyer": False, "price": D("2"), "discount_factor": D("0.75"), "token_is": OTHER, "quantum": MICRO}
    assert fee_in_token(quote_usdt=None, token_usdt=D("1"), **common) is None
    assert fee_in_token(quote_usdt=D("1"), token_usdt=D("0"), **common) is None


RATES = {0: (D("0.001"), D("0.002")), 1: (D("0"), D("0.001"))}


@pytest.mark.parametrize(
    ("rates", "tier", "maker", "rate"),
    [
        (RATES, 1, True, D("0")),
        (RATES, 1, False, D("0.001")),
        (RATES, 0, True, D("0.001")),
        (RATES, 4, False, D("0.002")),  # a tier without a row pays tier 0's rate
        ({}, 0, False, D("0")),  # no fee schedule at all: no fee
    ],
)
def test_a_payer_pays_its_tiers_maker_or_taker_rate(rates, tier, maker, rate):
    assert fee_rate(rates, tier, maker=maker) == rate
