"""Reads for the exchange: market statistics the API and pages show."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from exchange.marketdata import kline_open_time
from exchange.models import Kline, Market, MarketDepth, Trade


@dataclass(frozen=True)
class Ticker24h:
    """Binance's rolling 24-hour statistics (GET /api/v3/ticker/24hr and the <symbol>@ticker stream)."""

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
    best_bid_qty: str | None = None
    best_ask_qty: str | None = None
    last_qty: Decimal = Decimal(0)
    prev_close: Decimal = Decimal(0)  # the last price before the window
    first_id: int = -1  # trade ids in the window (-1: none)
    last_id: int = -1
    open_time: datetime | None = None
    close_time: datetime | None = None

    @property
    def price_change(self) -> Decimal:
        return self.last_price - self.open_price

    @property
    def price_change_percent(self) -> Decimal:
        if not self.open_price:
            return Decimal(0)
        return (self.price_change * 100 / self.open_price).quantize(Decimal("0.001"))

    @property
    def change_ratio(self) -> Decimal:
        """The change as a fraction of the open price (for display as a percentage)."""
        return self.price_change / self.open_price if self.open_price else Decimal(0)

    @property
    def weighted_avg_price(self) -> Decimal:
        return self.quote_volume / self.volume if self.volume else Decimal(0)


def ticker_24h(*, market: Market, now=None) -> Ticker24h:
    """Rolling 24 hours from the persisted klines, so the work is bounded whatever the trade rate:
    whole hours from the 1h candles, the two partial hours at the edges from the 1m candles. Like
    Binance's rolling windows it is exact to the minute (the window starts at the minute 24 hours
    ago); volumes are summed as Decimals. The best bid and ask come from the engine's latest depth
    snapshot. With no trade in the window, every price is the last trade price before (or 0) and
    the volumes are 0."""
    now = now or timezone.now()
    start = kline_open_time("1m", now - timedelta(hours=24))
    first_hour = kline_open_time("1h", start) + timedelta(hours=1)
    last_hour = kline_open_time("1h", now)
    rows = list(Kline.objects.filter(market=market).filter(
        Q(interval="1m", open_time__gte=start, open_time__lt=first_hour) | Q(interval="1h", open_time__gte=first_hour, open_time__lt=last_hour)
        | Q(interval="1m", open_time__gte=max(last_hour, first_hour), open_time__lte=now)).order_by("open_time", "interval")
        .values_list("open", "high", "low", "close", "volume", "quote_volume", "trades"))
    depth = MarketDepth.objects.filter(market=market).first()
    bid = depth.bids[0] if depth and depth.bids else [None, None]
    ask = depth.asks[0] if depth and depth.asks else [None, None]
    trades = Trade.objects.filter(market=market)
    last = trades.order_by("-id").values_list("id", "price", "quantity").first()
    before = (Kline.objects.filter(market=market, interval="1m", open_time__lt=start).order_by("-open_time")
              .values_list("close", flat=True).first())
    common = {"best_bid": bid[0], "best_ask": ask[0], "best_bid_qty": bid[1], "best_ask_qty": ask[1], "open_time": start, "close_time": now}
    if not rows:
        price = last[1] if last else Decimal(0)
        return Ticker24h(market.symbol, price, price, price, price, Decimal(0), Decimal(0), 0, prev_close=price, **common)
    first_id = trades.filter(created_at__gte=start).order_by("created_at", "id").values_list("id", flat=True).first()
    return Ticker24h(market.symbol, rows[0][0], max(r[1] for r in rows), min(r[2] for r in rows), rows[-1][3],
                     sum((r[4] for r in rows), Decimal(0)), sum((r[5] for r in rows), Decimal(0)), sum(r[6] for r in rows),
                     last_qty=last[2], prev_close=before if before is not None else Decimal(0), first_id=first_id or -1, last_id=last[0],
                     **common)
