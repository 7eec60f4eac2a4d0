"""The engine loop: owns markets (advisory locks on PostgreSQL), applies their commands in
sequence with group commit, takes over markets whose owner died, and stops when `stop_event` is
set. `manage.py run_engine` runs it in its own process (SIGTERM sets the event); tests run it in
a thread of theirs (tests/exchange/test_engine_loop.py)."""

import logging
import threading
import time
from collections.abc import Callable

from django.db import connection

from exchange import ownership
from exchange.models import Market
from exchange.runner.market import MarketEngine, OwnershipLost, gc_settle

log = logging.getLogger(__name__)


def engine_run(
    *,
    stop_event: threading.Event,
    batch: int = 1000,
    idle_sleep: float = 0.002,
    claim_every: float = 1.0,
    max_seconds: float = 0,
    poll_only: bool = False,
    settle_gc: bool = True,
    say: Callable[[str], None] = lambda line: None,
) -> list[int]:
    """Run until `stop_event` is set (or `max_seconds` passed, if given); release the markets and
    return the ids of those it owned at the end. `idle_sleep` is the first wait when there is
    nothing to do (doubling up to 0.1 s); `poll_only` sleeps instead of waiting for NOTIFY;
    `settle_gc` tunes the garbage collector for a process that is only this loop (gc_settle);
    `say` gets the lines the command prints ("engine owns BTCUSDT")."""
    engines: dict[int, MarketEngine] = {}
    waiter = _Waiter(stop_event, poll_only)
    started = time.monotonic()
    wait = idle_sleep
    last_claim = 0.0
    while not stop_event.is_set() and not (max_seconds and time.monotonic() - started > max_seconds):
        if time.monotonic() - last_claim >= claim_every:
            try:
                markets_verify(engines)
                if markets_claim(engines, say=say) and settle_gc:
                    gc_settle()
            except Exception:  # the database went away while claiming: start over on a new session
                log.exception("claiming markets failed")
                connection.close()
                engines.clear()
                stop_event.wait(0.5)
            last_claim = time.monotonic()
        applied = 0
        for market_id, engine in list(engines.items()):
            if market_id not in engines:
                continue
            try:
                applied += engine.apply_batch(limit=batch)
            except OwnershipLost as lost:  # another engine owns it now: forget it, claim again later
                log.warning("%s", lost)
                engines.pop(market_id, None)
                connection.close()  # a fresh session, so any lock this one still had is not kept by accident
                if ownership.shared_locks():  # closing the session released every lock it held
                    engines.clear()
            except Exception:  # the book was rebuilt from the database; the batch is retried
                log.exception("engine batch failed for %s", engine.market)
                if not session_alive():
                    # The database session is gone, and with it every advisory lock: own nothing
                    # until the markets are claimed again on a new session.
                    connection.close()
                    engines.clear()
                    last_claim = 0.0
                stop_event.wait(0.5)
        if applied:
            wait = idle_sleep
        else:  # wait for a wake-up (PostgreSQL), or back off while idle so SQLite does not spin
            for engine in engines.values():
                engine.periodic_publish()
            waiter.idle(wait)
            wait = min(wait * 2, 0.1)
    owned = sorted(engines)
    for market_id in owned:
        ownership.market_release(market_id)
    return owned


class _Waiter:
    """Waiting while idle. On PostgreSQL: on the connection for an accepted command's NOTIFY
    (delivered when it commits), at most `seconds`; LISTEN again whenever the session is new.
    Elsewhere (or poll-only) on the stop event, so a stop is seen at once."""

    def __init__(self, stop_event: threading.Event, poll_only: bool):
        self.stop_event, self.poll_only, self.listening = stop_event, poll_only, None

    def idle(self, seconds: float) -> None:
        if not ownership.shared_locks() or self.poll_only:
            self.stop_event.wait(seconds)
            return
        try:
            if connection.connection is None or connection.connection is not self.listening:
                self.listening = ownership.wake_listen()
            ownership.wake_wait(seconds)
        except Exception:  # the session is gone: the next round finds out and starts over
            log.warning("waiting for commands failed", exc_info=True)
            self.stop_event.wait(seconds)


def session_alive() -> bool:
    try:
        return connection.connection is not None and connection.is_usable()
    except Exception:  # noqa: BLE001 - any failure means the session is gone
        return False


def markets_claim(engines: dict[int, MarketEngine], *, say: Callable[[str], None] = lambda line: None) -> bool:
    """Try the lock of every market not owned yet; build an engine (its book from the database as of
    now) for each one won. Returns whether any was claimed."""
    claimed = False
    for market in Market.objects.exclude(pk__in=list(engines)).order_by("pk"):
        if not ownership.market_claim(market.pk):
            continue
        try:
            engines[market.pk] = MarketEngine(market, holds_lock=True)  # rebuilt from the database as of now
        except Exception:
            if not session_alive():
                raise  # the session is gone with all its locks: the caller starts over
            # This market cannot be rebuilt (bad data?): let it go so another engine may try;
            # the markets this engine owns keep running.
            log.exception("could not rebuild %s; releasing it", market.symbol)
            ownership.market_release(market.pk)
            continue
        claimed = True
        say(f"engine owns {market.symbol}")
    return claimed


def markets_verify(engines: dict[int, MarketEngine]) -> None:
    """Drop markets whose lock this connection no longer holds (the connection was lost)."""
    if not ownership.shared_locks():
        return
    try:
        held = ownership.markets_held()
    except Exception:  # noqa: BLE001 - a dead session holds nothing: reconnect and claim again
        connection.close()
        held = set()
    for market_id in set(engines) - held:
        log.warning("engine lost market %s", market_id)
        engines.pop(market_id)
