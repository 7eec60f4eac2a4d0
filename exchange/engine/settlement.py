"""Settlement arithmetic, pure: a fill's fees and their worth in the platform token. No Django, no
database, no clock: the engine (exchange/runner/market.py) gives it amounts, rates and prices, and books
what it returns; tests/exchange/test_settlement.py checks it without an engine."""

from decimal import ROUND_DOWN, Decimal

QUOTE, BASE, OTHER = "quote", "base", "other"  # what the platform token is to a market


def fee_rate(rates: dict[int, tuple[Decimal, Decimal]], tier: int, *, maker: bool) -> Decimal:
    """The payer's rate from `rates` (VIP tier -> (maker rate, taker rate), as FeeTier rows give
    them): a tier without a row pays tier 0's rates, and without any row no fee is charged."""
    maker_rate, taker_rate = rates.get(tier, rates.get(0, (Decimal(0), Decimal(0))))
    return maker_rate if maker else taker_rate


def fee_round(raw: Decimal, quantum: Decimal) -> Decimal:
    """A fee rounded down to the asset's precision: never above the published rate."""
    return raw.quantize(quantum, rounding=ROUND_DOWN)


def fee_in_token(
    *,
    raw: Decimal,
    paid_by_buyer: bool,
    price: Decimal,
    discount_factor: Decimal,
    token_is: str,
    quantum: Decimal,
    quote_usdt: Decimal | None = None,
    token_usdt: Decimal | None = None,
) -> Decimal | None:
    """The platform-token amount for a fee of `raw` (before rounding) in the asset the payer
    receives: its worth in the quote asset at the fill's price (a buyer's fee is in the base asset),
    times `discount_factor`, then one conversion into the token — as is when the token is the
    quote, ÷ price when it is the base, else × the quote's USDT price ÷ the token's (dividing
    first would round 1 / 0.75 × 0.75 below 1) — rounded down. None when there is no price."""
    value = (raw * price if paid_by_buyer else raw) * discount_factor
    if token_is == QUOTE:
        amount = value
    elif token_is == BASE:
        amount = value / price
    elif quote_usdt and token_usdt:
        amount = value * quote_usdt / token_usdt
    else:
        return None
    return fee_round(amount, quantum)
