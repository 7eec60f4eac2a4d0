"""Reads for the exchange: market statistics the API and pages show."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from exchange.marketdata import kline_open_time
from exchange.models import FeeTier, Kline, Market, MarketDepth, Trade
from wallets.models import AccountKind, Asset, LedgerAccount
from wallets.selectors import usdt_prices


def fee_token() -> Asset | None:
    """The platform token fees can be paid in (at most one asset is), if it is listed."""
    return Asset.objects.filter(is_platform_token=True, is_active=True).first()


def fee_token_discount() -> Decimal:
    """The fraction of a fee saved by paying it in the platform token (FEE_TOKEN_DISCOUNT_PERCENT)."""
    return Decimal(settings.FEE_TOKEN_DISCOUNT_PERCENT) / 100


def markets_listed() -> list[Market]:
    """Every market with its base and quote assets, in the model's order."""
    return list(Market.objects.select_related("base", "quote"))


def fee_tiers_with_discount(*, discount: Decimal) -> list[tuple[FeeTier, Decimal, Decimal]]:
    """Each fee tier with its maker and taker rates after the platform-token discount."""
    return [(tier, tier.maker_rate * (1 - discount), tier.taker_rate * (1 - discount)) for tier in FeeTier.objects.all()]


def fee_token_balance_for(*, user, token: Asset) -> Decimal:
    """The user's available balance in the fee token; 0 without an account (read, never created:
    looking at a page writes nothing)."""
    return LedgerAccount.objects.filter(kind=AccountKind.USER, user=user, asset=token).values_list(
        "available", flat=True
    ).first() or Decimal(0)


def volumes_30d(*, now=None, user_ids=None) -> dict[int, Decimal]:
    """Each user's 30-day trading volume in USDT: both sides of every trade they were in; a
    non-USDT quote is valued at its current USDT price (wallets.selectors.usdt_prices)."""
    now = now or timezone.now()
    recent = Trade.objects.filter(created_at__gte=now - timedelta(days=30))
    prices = usdt_prices(Asset.objects.filter(quote_markets__isnull=False).distinct())
    volume: dict[int, Decimal] = {}
    for side in ("buy_order__user", "sell_order__user"):
        rows = recent.filter(**({f"{side}__in": user_ids} if user_ids is not None else {}))
        for row in rows.values(side, "market__quote").annotate(total=Sum("quote_quantity")).order_by():
            price = prices.get(row["market__quote"]) or Decimal(0)
            volume[row[side]] = volume.get(row[side], Decimal(0)) + Decimal(str(row["total"])) * price
    return volume


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
    return tickers_24h(markets=[market], now=now)[0]


def tickers_24h(*, markets, now=None) -> list[Ticker24h]:
    """Rolling 24 hours for each market, from the persisted klines, so the work is bounded
    whatever the trade rate and the number of markets (four queries in all): whole hours from the
    1h candles, the partial hours at both ends from the 1m candles. Like Binance's rolling windows
    it is exact to the minute (the window starts at the minute 24 hours ago); volumes are summed
    as Decimals; the first and last trade ids come from the candles. The best bid and ask come
    from the engine's latest depth snapshot. With no trade in the window, every price is the last
    trade price before (or 0) and the volumes are 0."""
    from django.db.models import OuterRef, Subquery

    markets = list(markets)
    now = now or timezone.now()
    start = kline_open_time("1m", now - timedelta(hours=24))
    first_hour = kline_open_time("1h", start) + timedelta(hours=1)
    last_hour = kline_open_time("1h", now)
    ids = [m.pk for m in markets]
    rows: dict[int, list] = {pk: [] for pk in ids}
    for row in (
        Kline.objects.filter(market__in=ids)
        .filter(
            Q(interval="1m", open_time__gte=start, open_time__lt=first_hour)
            | Q(interval="1h", open_time__gte=first_hour, open_time__lt=last_hour)
            | Q(interval="1m", open_time__gte=max(last_hour, first_hour), open_time__lte=now)
        )
        .order_by("market", "open_time", "interval")
        .values_list("market", "open", "high", "low", "close", "volume", "quote_volume", "trades", "first_trade_id", "last_trade_id")
    ):
        rows[row[0]].append(row[1:])
    depths = {d.market_id: d for d in MarketDepth.objects.filter(market__in=ids)}
    last_trade = Trade.objects.filter(market=OuterRef("pk")).order_by("-id")
    before = Kline.objects.filter(market=OuterRef("pk"), interval="1m", open_time__lt=start).order_by("-open_time").values("close")[:1]
    extra = {
        pk: (price, qty, prev)
        for pk, price, qty, prev in Market.objects.filter(pk__in=ids)
        .annotate(
            last_price=Subquery(last_trade.values("price")[:1]),
            last_qty=Subquery(last_trade.values("quantity")[:1]),
            prev_close=Subquery(before),
        )
        .values_list("pk", "last_price", "last_qty", "prev_close")
    }
    tickers = []
    for market in markets:
        depth = depths.get(market.pk)
        bid = depth.bids[0] if depth and depth.bids else [None, None]
        ask = depth.asks[0] if depth and depth.asks else [None, None]
        last_price, last_qty, prev_close = extra.get(market.pk, (None, None, None))
        common = {
            "best_bid": bid[0],
            "best_ask": ask[0],
            "best_bid_qty": bid[1],
            "best_ask_qty": ask[1],
            "open_time": start,
            "close_time": now,
        }
        candles = rows[market.pk]
        if not candles:
            price = last_price if last_price is not None else Decimal(0)
            tickers.append(Ticker24h(market.symbol, price, price, price, price, Decimal(0), Decimal(0), 0, prev_close=price, **common))
            continue
        tickers.append(
            Ticker24h(
                market.symbol,
                candles[0][0],
                max(c[1] for c in candles),
                min(c[2] for c in candles),
                candles[-1][3],
                sum((c[4] for c in candles), Decimal(0)),
                sum((c[5] for c in candles), Decimal(0)),
                sum(c[6] for c in candles),
                last_qty=last_qty or Decimal(0),
                prev_close=prev_close if prev_close is not None else Decimal(0),
                first_id=next((c[7] for c in candles if c[7] is not None), -1),
                last_id=next((c[8] for c in reversed(candles) if c[8] is not None), -1),
                **common,
            )
        )
    return tickers
