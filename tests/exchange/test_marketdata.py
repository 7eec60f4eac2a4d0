from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from freezegun import freeze_time

from exchange.marketdata import kline_open_time, stream_group
from exchange.models import Kline, MarketDepth, Order
from exchange.runner import engine_for
from exchange.runner.publishing import level_plain
from exchange.services import order_place
from tests.exchange.conftest import funded

pytestmark = pytest.mark.django_db


def subscribed(settings, *streams, capacity=100):
    """An in-memory channel layer with one channel in the groups of these streams; the engine is
    driven by hand (not inline), so each test decides when batches run."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": capacity}}}
    settings.ENGINE_INLINE = False
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for stream in streams:
        async_to_sync(layer.group_add)(stream_group(stream), channel)
    return layer, channel


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("1m", "2026-11-24 21:37:00"),
        ("15m", "2026-11-24 21:30:00"),
        ("1h", "2026-11-24 21:00:00"),
        ("4h", "2026-11-24 20:00:00"),
        ("1d", "2026-11-24 00:00:00"),
        ("3d", "2026-11-24 00:00:00"),
        ("1w", "2026-11-23 00:00:00"),
        ("1M", "2026-11-01 00:00:00"),
    ],
)
def test_kline_open_times_follow_binance(interval, expected):
    when = datetime(2026, 11, 24, 21, 37, 42, tzinfo=UTC)  # a Tuesday
    assert kline_open_time(interval, when).strftime("%Y-%m-%d %H:%M:%S") == expected


def place(user, market, side, qty, price):
    order_place(user=user, market=market, side=side, type="LIMIT", quantity=qty, price=price)


def test_trades_fold_into_klines_and_publish_binance_events_with_chained_update_ids(market, settings):
    layer, channel = subscribed(settings, "btcusdt@trade", "btcusdt@depth")
    seller, buyer = funded(btc="1"), funded(usdt="100000")
    engine = engine_for(market.pk)
    place(seller, market, "SELL", "0.1", "50000")
    place(seller, market, "SELL", "0.2", "50100")
    engine.apply_all()
    first = async_to_sync(layer.receive)(channel)
    assert first["stream"] == "btcusdt@depth"
    assert (first["data"]["U"], first["data"]["u"], first["data"]["a"]) == (1, 2, [["50000.00", "0.1000"], ["50100.00", "0.2000"]])
    place(buyer, market, "BUY", "0.15", "50100")
    engine.apply_all()
    trades = [async_to_sync(layer.receive)(channel) for _ in range(2)]
    depth = async_to_sync(layer.receive)(channel)
    assert [t["data"]["p"] for t in trades] == ["50000.00000000", "50100.00000000"]
    assert [t["data"]["q"] for t in trades] == ["0.10000000", "0.05000000"]
    assert trades[0]["data"]["m"] is False  # the buyer was the taker
    assert (depth["data"]["U"], depth["data"]["u"]) == (3, 3)  # chains from the previous u
    assert depth["data"]["a"] == [["50000.00", "0.0000"], ["50100.00", "0.1500"]]
    snapshot = MarketDepth.objects.get(market=market)
    assert (snapshot.last_update_id, snapshot.asks, snapshot.bids) == (3, [["50100.00", "0.1500"]], [])
    minute = Kline.objects.get(market=market, interval="1m")
    assert (minute.open, minute.high, minute.low, minute.close, minute.volume, minute.quote_volume, minute.trades) == (
        D("50000"),
        D("50100"),
        D("50000"),
        D("50100"),
        D("0.15"),
        D("7505"),
        2,
    )
    assert Kline.objects.filter(market=market).count() == len(Kline.INTERVALS)


def test_rolling_24h_ticker(market):
    from exchange.selectors import ticker_24h

    assert ticker_24h(market=market).count == 0 and ticker_24h(market=market).last_price == 0
    seller, buyer = funded(btc="1"), funded(usdt="100000")
    engine = engine_for(market.pk)
    times = ["2026-03-01 09:59:30", "2026-03-01 10:20:00", "2026-03-02 08:00:10", "2026-03-02 09:59:59"]
    for when, price in zip(times, ("50000", "51000", "49500", "49800")):
        with freeze_time(when):
            place(seller, market, "SELL", "0.01", price)
            place(buyer, market, "BUY", "0.01", price)
            engine.apply_all()
    with freeze_time("2026-03-02 10:00:00"):
        place(seller, market, "SELL", "0.02", "52000")
        engine.apply_all()
    # Just before 10:00 the window starts at the minute 24 hours before, 09:59 the day before: all four trades.
    ticker = ticker_24h(market=market, now=datetime(2026, 3, 2, 9, 59, 59, 900000, tzinfo=UTC))
    assert (ticker.open_price, ticker.high_price, ticker.low_price, ticker.last_price) == (D("50000"), D("51000"), D("49500"), D("49800"))
    assert (ticker.volume, ticker.quote_volume, ticker.count) == (D("0.04"), D("2003"), 4)
    # At 10:01 the window starts at 10:01 the day before: the 09:59 trade has left it. The 10:20
    # trade is counted from the 1m candles (the first hour is partial), the rest from whole 1h candles
    # and the last hour's 1m candles.
    ticker = ticker_24h(market=market, now=datetime(2026, 3, 2, 10, 1, 0, tzinfo=UTC))
    assert (ticker.open_price, ticker.high_price, ticker.low_price, ticker.last_price) == (D("51000"), D("51000"), D("49500"), D("49800"))
    assert (ticker.volume, ticker.quote_volume, ticker.count) == (D("0.03"), D("1503"), 3)
    assert (ticker.price_change, ticker.price_change_percent) == (D("-1200"), D("-2.353"))
    assert (ticker.best_bid, ticker.best_ask) == (None, "52000.00")
    later = ticker_24h(market=market, now=datetime(2026, 3, 4, tzinfo=UTC))
    assert (later.count, later.volume, later.open_price, later.last_price) == (0, 0, D("49800"), D("49800"))


def test_ticker_stream_is_published_at_most_once_a_second_and_never_holds_back_the_last_change(market, settings):
    layer, channel = subscribed(settings, "btcusdt@ticker")
    seller, buyer = funded(btc="1"), funded(usdt="100000")
    engine = engine_for(market.pk)
    place(seller, market, "SELL", "0.1", "50000")
    place(seller, market, "SELL", "0.2", "50100")
    place(buyer, market, "BUY", "0.15", "50100")
    engine.apply_all()
    first = async_to_sync(layer.receive)(channel)["data"]
    trade_ids = list(market.trades.order_by("id").values_list("id", flat=True))
    assert {k: first[k] for k in ("e", "s", "o", "h", "l", "c", "Q", "v", "q", "n", "F", "L", "a", "A", "b", "B", "p", "P", "w")} == {
        "e": "24hrTicker",
        "s": "BTCUSDT",
        "o": "50000.00",
        "h": "50100.00",
        "l": "50000.00",
        "c": "50100.00",
        "Q": "0.0500",
        "v": "0.1500",
        "q": "7505.00000000",
        "n": 2,
        "F": trade_ids[0],
        "L": trade_ids[1],
        "a": "50100.00",
        "A": "0.1500",
        "b": "0.00",
        "B": "0.0000",
        "p": "100.00",
        "P": "0.200",
        "w": "50033.33",
    }
    place(buyer, market, "BUY", "0.05", "50100")
    engine.apply_all()  # within the second: held back, not lost
    assert engine.publisher.ticker_due and engine.periodic_publish() is False
    engine.publisher.ticker_sent -= 1  # a second later (run_engine calls this when idle)
    assert engine.periodic_publish() is True
    second = async_to_sync(layer.receive)(channel)["data"]
    assert (second["v"], second["n"], second["A"]) == ("0.2000", 3, "0.1000")
    assert engine.periodic_publish() is False  # nothing new since


def test_depth_diffs_replayed_on_the_snapshot_always_equal_the_book(market, settings):
    """A client that takes the snapshot and applies every diff event (U/u chained) holds exactly the
    engine's book after every batch: placements, fills, partial fills, cancels, IOC and STP expiries."""
    import random

    from exchange.services import order_cancel

    layer, channel = subscribed(settings, "btcusdt@depth", capacity=10000)
    rng = random.Random(7)
    traders = [funded(btc="10", usdt="1000000") for _ in range(4)]
    engine = engine_for(market.pk)
    book = {"b": {}, "a": {}}
    last_u = 0
    for batch in range(40):
        for _ in range(rng.randint(1, 6)):
            user = rng.choice(traders)
            open_orders = list(Order.objects.filter(user=user, status__in=Order.OPEN))
            if open_orders and rng.random() < 0.25:
                order_cancel(user=user, order=rng.choice(open_orders))
                continue
            order_place(
                user=user,
                market=market,
                side=rng.choice(["BUY", "SELL"]),
                type="LIMIT",
                quantity=str(rng.randint(1, 20) / 1000),
                price=str(rng.randint(49_990, 50_010)),
                time_in_force=rng.choice(["GTC", "GTC", "IOC"]),
                stp_mode=rng.choice(["NONE", "EXPIRE_MAKER", "EXPIRE_TAKER"]),
            )
        engine.apply_all()
        while True:
            try:
                message = async_to_sync(asyncio_wait_for_receive)(layer, channel)
            except TimeoutError:
                break
            data = message["data"]
            assert data["U"] == last_u + 1
            last_u = data["u"]
            for side in ("b", "a"):
                for price, qty in data[side]:
                    if D(qty) == 0:
                        book[side].pop(price, None)
                    else:
                        book[side][price] = qty
        bids, asks = engine.book.depth(1000)
        assert book["b"] == dict(level_plain(engine.market, p, q) for p, q in bids), batch
        assert book["a"] == dict(level_plain(engine.market, p, q) for p, q in asks), batch
    assert last_u == MarketDepth.objects.get(market=market).last_update_id


async def asyncio_wait_for_receive(layer, channel):
    import asyncio

    try:
        return await asyncio.wait_for(layer.receive(channel), 0.05)
    except TimeoutError:
        raise TimeoutError


@pytest.mark.parametrize(
    ("interval", "open_time", "close_time"),
    [
        ("1m", "2026-02-14 10:15:00", "2026-02-14 10:15:59.999000"),
        ("4h", "2026-02-14 08:00:00", "2026-02-14 11:59:59.999000"),
        ("1w", "2026-02-09 00:00:00", "2026-02-15 23:59:59.999000"),
        ("1M", "2026-02-01 00:00:00", "2026-02-28 23:59:59.999000"),
        ("1M", "2026-12-01 00:00:00", "2026-12-31 23:59:59.999000"),
        ("1M", "2028-02-01 00:00:00", "2028-02-29 23:59:59.999000"),
    ],
)
def test_kline_close_times_follow_binance(interval, open_time, close_time):
    from exchange.marketdata import kline_close_time

    parse = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    assert kline_close_time(interval, parse(open_time)) == parse(close_time)


def test_kline_events_follow_the_committed_candles_once_a_second(market, settings):
    from exchange.marketdata import kline_close_time, to_ms

    layer, channel = subscribed(settings, "btcusdt@kline_1m", "btcusdt@kline_1M")
    seller, buyer = funded(btc="1"), funded(usdt="100000")
    engine = engine_for(market.pk)
    place(seller, market, "SELL", "0.3", "50000")
    place(buyer, market, "BUY", "0.1", "50000")
    place(buyer, market, "BUY", "0.05", "50000")
    engine.apply_all()  # one batch: two trades
    trade_ids = list(market.trades.order_by("id").values_list("id", flat=True))
    events = {m["stream"]: m["data"] for m in (async_to_sync(layer.receive)(channel) for _ in range(2))}
    candle = Kline.objects.get(market=market, interval="1m")
    minute = events["btcusdt@kline_1m"]["k"]
    assert minute == {
        "t": to_ms(candle.open_time),
        "T": to_ms(kline_close_time("1m", candle.open_time)),
        "s": "BTCUSDT",
        "i": "1m",
        "f": trade_ids[0],
        "L": trade_ids[1],
        "o": "50000.00",
        "c": "50000.00",
        "h": "50000.00",
        "l": "50000.00",
        "v": "0.1500",
        "n": 2,
        "x": events["btcusdt@kline_1m"]["E"] > minute["T"],
        "q": "7500.00000000",
        "V": "0.0000",
        "Q": "0.00000000",
        "B": "0",
    }
    assert events["btcusdt@kline_1M"]["k"]["t"] == to_ms(Kline.objects.get(market=market, interval="1M").open_time)
    assert engine.publisher.klines_changed == {}  # published: nothing held back
    place(buyer, market, "BUY", "0.05", "50000")
    engine.apply_all()  # within the second: held back until the next periodic publish
    assert set(engine.publisher.klines_changed) == set(Kline.INTERVALS)
