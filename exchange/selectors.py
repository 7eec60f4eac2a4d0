"""Reads for the exchange: market statistics the API and pages show."""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from exchange.models import Market, MarketDepth, Trade


@dataclass(frozen=True)
class Ticker24h:
    """Binance's rolling 24-hour statistics (GET /api/v3/ticker/24hr)."""

    symbol: str
    open_price: Decimal
    high_price: Decimal
    low_price: Decimal
    last_price: Decimal
    volume: Decimal
    quote_volume: Decimal
    count: int
    best_bid: str | None
    best_ask: str | None

    @property
    def price_change(self) -> Decimal:
        return self.last_price - self.open_price

    @property
    def price_change_percent(self) -> Decimal:
        if not self.open_price:
            return Decimal(0)
        return (self.price_change * 100 / self.open_price).quantize(Decimal("0.001"))


def ticker_24h(*, market: Market, now=None) -> Ticker24h:
    """Computed from the trades of the last 24 hours (exact: summed as Decimals), and the best
    bid and ask from the engine's latest depth snapshot. With no trade in 24 hours, every price
    is the last trade price before (or 0) and the volumes are 0."""
    now = now or timezone.now()
    rows = list(Trade.objects.filter(market=market, created_at__gt=now - timedelta(hours=24)).order_by("id")
                .values_list("price", "quantity", "quote_quantity"))
    depth = MarketDepth.objects.filter(market=market).first()
    best_bid = depth.bids[0][0] if depth and depth.bids else None
    best_ask = depth.asks[0][0] if depth and depth.asks else None
    if not rows:
        last = Trade.objects.filter(market=market).order_by("-id").values_list("price", flat=True).first() or Decimal(0)
        return Ticker24h(market.symbol, last, last, last, last, Decimal(0), Decimal(0), 0, best_bid, best_ask)
    prices = [price for price, _q, _n in rows]
    return Ticker24h(market.symbol, prices[0], max(prices), min(prices), prices[-1], sum((q for _p, q, _n in rows), Decimal(0)),
                     sum((n for _p, _q, n in rows), Decimal(0)), len(rows), best_bid, best_ask)
