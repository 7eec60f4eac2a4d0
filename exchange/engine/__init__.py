"""The pure matching engine: a deterministic price-time-priority order book on integer ticks and
lots. No Django, no database, no clock: the same commands in the same order give the same
results, which is what lets the engine process rebuild a book by replaying, and what the
benchmarks drive. See book.py for the API."""

from exchange.engine.book import (
    BUY,
    FOK,
    GTC,
    IOC,
    SELL,
    STOP_LOSS,
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
    TAKE_PROFIT,
    OrderBook,
    Result,
    Status,
)

__all__ = [
    "BUY",
    "FOK",
    "GTC",
    "IOC",
    "SELL",
    "STOP_LOSS",
    "STP_EXPIRE_BOTH",
    "STP_EXPIRE_MAKER",
    "STP_EXPIRE_TAKER",
    "STP_NONE",
    "TAKE_PROFIT",
    "OrderBook",
    "Result",
    "Status",
]
