"""The engine package: the Django side of the matching engine (the pure book is exchange/engine).

- `market` — `MarketEngine`, one market's single writer: applies a batch of commands to the
  book and commits everything they caused in one transaction; the in-process engines
  (`engine_for`, the ENGINE_INLINE applier).
- `intake` — the raw SQL that reads pending commands and marks them applied.
- `batch` — `Batch`, one batch's state (clock, fee rates, payers, frozen accounts, and what
  matching gathers until the commit: changed orders, touched levels, journals, `Fill`s).
- `publishing` — `Publisher`: after a commit, the batch's trades and depth diff; about once a
  second the ticker and changed candles (channel layer, Binance stream names).
- `loop` — `engine_run(stop_event=...)`: owns markets (advisory locks), applies their batches,
  waits for NOTIFY when idle, takes over dead engines' markets; `manage.py run_engine` runs it.
- exchange/engine/settlement.py — the pure fee arithmetic `MarketEngine` books.

Import what callers need from here: `from exchange.runner import MarketEngine`.
"""

from exchange.runner.loop import engine_run
from exchange.runner.market import (
    MarketEngine,
    OwnershipLost,
    engine_apply_inline,
    engine_for,
    engines_reset,
    gc_settle,
)

__all__ = ["MarketEngine", "OwnershipLost", "engine_apply_inline", "engine_for", "engine_run", "engines_reset", "gc_settle"]
