"""Market data the engine produces: klines (persisted with each batch), depth update ids and the
events published after a batch commits, with Binance's stream names and payloads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from exchange.models import Kline

_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)


def kline_open_time(interval: str, when: datetime) -> datetime:
    """The start of the candle containing `when` (UTC): minutes, hours and days count from the
    epoch, weeks start on Monday, months on the 1st."""
    when = when.astimezone(UTC)
    if interval == "1M":
        return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if interval == "1w":
        weeks = (when - _FIRST_MONDAY) // timedelta(weeks=1)
        return _FIRST_MONDAY + timedelta(weeks=weeks)
    size = int(interval[:-1]) * _SECONDS[interval[-1]]
    seconds = int((when - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % size)


def kline_close_time(interval: str, open_time: datetime) -> datetime:
    """The last millisecond of the candle that opens at `open_time` (Binance's kline "T")."""
    if interval == "1M":
        following = (open_time.replace(day=28) + timedelta(days=4)).replace(day=1)
    elif interval == "1w":
        following = open_time + timedelta(weeks=1)
    else:
        following = open_time + timedelta(seconds=int(interval[:-1]) * _SECONDS[interval[-1]])
    return following - timedelta(milliseconds=1)


def klines_apply(market, trades: list[tuple[Decimal, Decimal, Decimal, int]], when: datetime) -> list[Kline]:
    """Fold a batch's trades (price, qty, quote qty, trade id, in execution order) into every
    interval's current candle, in the batch's transaction. Returns the candles as they are now."""
    if not trades:
        return []
    high = max(t[0] for t in trades)
    low = min(t[0] for t in trades)
    volume = sum((t[1] for t in trades), Decimal(0))
    quote_volume = sum((t[2] for t in trades), Decimal(0))
    first_id, last_id = trades[0][3], trades[-1][3]
    opens = {interval: kline_open_time(interval, when) for interval in Kline.INTERVALS}
    existing = {
        (k.interval, k.open_time): k
        # Only the candles, in one stable order: Kline's default ordering joins the market, and a
        # plain FOR UPDATE would lock the market row too (deadlocking with foreign-key checks on it).
        for k in Kline.objects.select_for_update(no_key=True, of=("self",))
        .filter(market=market, interval__in=Kline.INTERVALS, open_time__in=set(opens.values()))
        .order_by("pk")
    }
    created, changed = [], []
    for interval, open_time in opens.items():
        kline = existing.get((interval, open_time))
        if kline is None:
            created.append(
                Kline(
                    market=market,
                    interval=interval,
                    open_time=open_time,
                    open=trades[0][0],
                    high=high,
                    low=low,
                    close=trades[-1][0],
                    volume=volume,
                    quote_volume=quote_volume,
                    trades=len(trades),
                    first_trade_id=first_id,
                    last_trade_id=last_id,
                )
            )
        else:
            kline.high, kline.low, kline.close = max(kline.high, high), min(kline.low, low), trades[-1][0]
            kline.volume += volume
            kline.quote_volume += quote_volume
            kline.trades += len(trades)
            kline.first_trade_id = kline.first_trade_id or first_id
            kline.last_trade_id = last_id
            changed.append(kline)
    Kline.objects.bulk_create(created)
    if changed:
        from config.db import rows_update

        rows_update(Kline, changed, ["high", "low", "close", "volume", "quote_volume", "trades", "first_trade_id", "last_trade_id"])
    return created + changed


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def plain(value: Decimal, places: int = 8) -> str:
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def trade_event(symbol: str, trade_id: int, price: Decimal, qty: Decimal, when: datetime, buyer_is_maker: bool, places=(8, 8)) -> dict:
    """Binance's <symbol>@trade payload."""
    return {
        "e": "trade",
        "E": to_ms(when),
        "s": symbol,
        "t": trade_id,
        "p": plain(price, places[0]),
        "q": plain(qty, places[1]),
        "T": to_ms(when),
        "m": buyer_is_maker,
        "M": True,
    }


def depth_event(symbol: str, first_id: int, last_id: int, bids, asks, when: datetime) -> dict:
    """Binance's <symbol>@depth diff payload: levels changed since the previous event (qty "0" =
    removed); U/u chain from the REST depth snapshot's lastUpdateId."""
    return {
        "e": "depthUpdate",
        "E": to_ms(when),
        "s": symbol,
        "U": first_id,
        "u": last_id,
        "b": [[price, qty] for price, qty in bids],
        "a": [[price, qty] for price, qty in asks],
    }


def ticker_event(ticker, places: tuple[int, int], now: datetime) -> dict:
    """Binance's <symbol>@ticker payload (24hrTicker) from exchange.selectors.Ticker24h."""
    price, qty = (lambda v: plain(v, places[0])), (lambda v: plain(v, places[1]))
    return {
        "e": "24hrTicker",
        "E": to_ms(now),
        "s": ticker.symbol,
        "p": price(ticker.price_change),
        "P": plain(ticker.price_change_percent, 3),
        "w": price(ticker.weighted_avg_price),
        "x": price(ticker.prev_close),
        "c": price(ticker.last_price),
        "Q": qty(ticker.last_qty),
        "b": ticker.best_bid or price(Decimal(0)),
        "B": ticker.best_bid_qty or qty(Decimal(0)),
        "a": ticker.best_ask or price(Decimal(0)),
        "A": ticker.best_ask_qty or qty(Decimal(0)),
        "o": price(ticker.open_price),
        "h": price(ticker.high_price),
        "l": price(ticker.low_price),
        "v": qty(ticker.volume),
        "q": plain(ticker.quote_volume, 8),
        "O": to_ms(ticker.open_time),
        "C": to_ms(ticker.close_time),
        "F": ticker.first_id,
        "L": ticker.last_id,
        "n": ticker.count,
    }


def kline_event(symbol: str, kline: Kline, places: tuple[int, int], now: datetime) -> dict:
    """Binance's <symbol>@kline_<interval> payload for the candle as it stands; "x" says whether its
    time is over. Taker-buy volumes are not kept: "V" and "Q" are "0"."""
    price, qty = (lambda v: plain(v, places[0])), (lambda v: plain(v, places[1]))
    close_time = kline_close_time(kline.interval, kline.open_time)
    return {
        "e": "kline",
        "E": to_ms(now),
        "s": symbol,
        "k": {
            "t": to_ms(kline.open_time),
            "T": to_ms(close_time),
            "s": symbol,
            "i": kline.interval,
            "f": kline.first_trade_id if kline.first_trade_id is not None else -1,
            "L": kline.last_trade_id if kline.last_trade_id is not None else -1,
            "o": price(kline.open),
            "c": price(kline.close),
            "h": price(kline.high),
            "l": price(kline.low),
            "v": qty(kline.volume),
            "n": kline.trades,
            "x": now > close_time,
            "q": plain(kline.quote_volume, 8),
            "V": qty(Decimal(0)),
            "Q": plain(Decimal(0), 8),
            "B": "0",
        },
    }


def publish(events: list[tuple[str, dict]]) -> None:
    """Send (stream name, payload) pairs to the Channels groups web pages and API streams read.
    Called after the batch commits; a failure to publish never undoes a committed batch."""
    if not events:
        return
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all():  # one hop into the event loop for the whole batch, not one per event
        for stream, payload in events:
            await layer.group_send(stream_group(stream), {"type": "market.event", "stream": stream, "data": payload})

    async_to_sync(send_all)()


def stream_group(stream: str) -> str:
    """Channels group names allow [a-zA-Z0-9-_.]: 'btcusdt@trade' -> 'md.btcusdt.trade'."""
    return "md." + stream.replace("@", ".")
