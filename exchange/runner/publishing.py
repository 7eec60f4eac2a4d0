"""Publishing: the engine's market data fan-out on Binance's stream names (exchange/marketdata.py
sends them to the channel layer). After a batch commits: its trades and the depth diff of every
level it touched; about once a second: the 24 h ticker and the candles that changed. Never undoes a
batch: a lost event is recovered by the next snapshot. Also the depth snapshot's levels as text."""

import logging
import time

from django.utils import timezone

from exchange.marketdata import depth_event, kline_event, plain, publish, ticker_event, trade_event
from exchange.models import Market, Order
from exchange.selectors import ticker_24h

log = logging.getLogger(__name__)
TICKER_EVERY = 1.0  # seconds between <symbol>@ticker events of a market (Binance: 1000 ms)
TICKER_REFRESH = 30.0  # and at least this often, so trades leaving the 24 h window show on a quiet market


def level_plain(market: Market, ticks: int, lots: int) -> list[str]:
    """A book level as Binance writes it: [price, quantity] at the market's places."""
    return [plain(ticks * market.tick_size, market.price_places), plain(lots * market.step_size, market.qty_places)]


class Publisher:
    """One market's publishing state: where the depth diff chain stands, whether a ticker is due,
    and the candles committed since the last kline events. It outlives rebuilds of the book."""

    def __init__(self):
        self.ticker_due, self.ticker_sent = False, 0.0
        self.klines_changed: dict = {}  # interval -> the candle as last committed, until published
        self.depth_published = 0  # set by depth_restart when the engine rebuilds its book

    def depth_restart(self, update_id: int) -> None:
        """Depth events chain (U = previous u + 1) across batches that changed no level, so a client
        never sees a gap; after a rebuild the chain starts again from the snapshot's update id."""
        self.depth_published = update_id

    def batch_publish(self, *, market: Market, book, batch, trade_ids: list[int], klines) -> None:
        """After a batch commits: trades and the depth diff. The diff carries every level the batch
        touched with its quantity now ("0": gone)."""
        self.klines_changed.update((kline.interval, kline) for kline in klines)  # committed: publishable
        symbol = market.symbol.lower()
        events = []
        for trade_id, fill in zip(trade_ids, batch.fills):
            buyer_is_maker = fill.taker_side == Order.Side.SELL
            events.append((f"{symbol}@trade", trade_event(market.symbol, trade_id, fill.price, fill.qty, batch.now, buyer_is_maker)))
        changes = ([], [])
        for side, ticks in sorted(batch.touched):
            levels = book.bids if side == Order.Side.BUY else book.asks
            level = levels.get(ticks)
            changes[side == Order.Side.SELL].append(level_plain(market, ticks, level.qty if level is not None else 0))
        if changes[0] or changes[1]:
            events.append(
                (
                    f"{symbol}@depth",
                    depth_event(market.symbol, self.depth_published + 1, market.update_id, changes[0], changes[1], batch.now),
                )
            )
            self.depth_published = market.update_id
        self.ticker_due = self.ticker_due or bool(events)
        try:
            publish(events)
        except Exception:  # a lost event is recovered by the next snapshot; the batch is committed
            log.exception("publishing %s events failed", market.symbol)
        self.periodic_publish(market)

    def periodic_publish(self, market: Market) -> bool:
        """The once-a-second market data: <symbol>@ticker and the <symbol>@kline_<interval> of the
        candles that changed, if trades or the book changed since the last time and a second has
        passed (the engine loop also calls this when idle, so the last change is never held back), or
        if TICKER_REFRESH seconds passed (the window moves even when nothing trades)."""
        since = time.monotonic() - self.ticker_sent
        if since < TICKER_EVERY or not (self.ticker_due or since >= TICKER_REFRESH):
            return False
        self.ticker_due, self.ticker_sent = False, time.monotonic()
        klines, self.klines_changed = self.klines_changed, {}
        try:
            ticker = ticker_24h(market=market)
            places, now, symbol = (market.price_places, market.qty_places), timezone.now(), market.symbol
            events = [(f"{symbol.lower()}@ticker", ticker_event(ticker, places, now))]
            events += [
                (f"{symbol.lower()}@kline_{interval}", kline_event(symbol, kline, places, now)) for interval, kline in klines.items()
            ]
            publish(events)
        except Exception:
            log.exception("publishing the %s ticker failed", market.symbol)
        return True
