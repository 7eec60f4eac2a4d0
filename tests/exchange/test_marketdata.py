from datetime import datetime, timezone
from decimal import Decimal as D

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from exchange.marketdata import kline_open_time, stream_group
from exchange.models import Kline, MarketDepth
from exchange.runner import engine_for
from exchange.services import order_place
from tests.exchange.conftest import funded

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("interval", "expected"), [
    ("1m", "2026-11-24 21:37:00"), ("15m", "2026-11-24 21:30:00"), ("1h", "2026-11-24 21:00:00"), ("4h", "2026-11-24 20:00:00"),
    ("1d", "2026-11-24 00:00:00"), ("3d", "2026-11-24 00:00:00"), ("1w", "2026-11-23 00:00:00"), ("1M", "2026-11-01 00:00:00"),
])
def test_kline_open_times_follow_binance(interval, expected):
    when = datetime(2026, 11, 24, 21, 37, 42, tzinfo=timezone.utc)  # a Tuesday
    assert kline_open_time(interval, when).strftime("%Y-%m-%d %H:%M:%S") == expected


def place(user, market, side, qty, price):
    order_place(user=user, market=market, side=side, type="LIMIT", quantity=qty, price=price)


def test_trades_fold_into_klines_and_publish_binance_events_with_chained_update_ids(market, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.ENGINE_INLINE = False
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for stream in ("btcusdt@trade", "btcusdt@depth"):
        async_to_sync(layer.group_add)(stream_group(stream), channel)
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
        D("50000"), D("50100"), D("50000"), D("50100"), D("0.15"), D("7505"), 2)
    assert Kline.objects.filter(market=market).count() == len(Kline.INTERVALS)


def test_rolling_24h_ticker(market):
    from datetime import timedelta

    from django.utils import timezone

    from exchange.models import Trade
    from exchange.selectors import ticker_24h

    assert ticker_24h(market=market).count == 0 and ticker_24h(market=market).last_price == 0
    seller, buyer = funded(btc="1"), funded(usdt="100000")
    engine = engine_for(market.pk)
    for price in ("50000", "51000", "49500"):
        place(seller, market, "SELL", "0.01", price)
        place(buyer, market, "BUY", "0.01", price)
        engine.apply_all()
    Trade.objects.filter(price=D("50000")).update(created_at=timezone.now() - timedelta(hours=25))  # out of the window
    place(seller, market, "SELL", "0.02", "52000")
    engine.apply_all()
    ticker = ticker_24h(market=market)
    assert (ticker.open_price, ticker.high_price, ticker.low_price, ticker.last_price) == (D("51000"), D("51000"), D("49500"), D("49500"))
    assert (ticker.volume, ticker.quote_volume, ticker.count) == (D("0.02"), D("1005"), 2)
    assert (ticker.price_change, ticker.price_change_percent) == (D("-1500"), D("-2.941"))
    assert (ticker.best_bid, ticker.best_ask) == (None, "52000.00")
