"""The engine process: owns markets (advisory locks on PostgreSQL), applies their commands in
sequence with group commit, takes over markets whose owner died."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import connection

from exchange import ownership
from exchange.models import Market
from exchange.runner import MarketEngine, OwnershipLost, gc_settle

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the matching engine: own markets, apply their orders and cancels in sequence, commit each batch at once."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="most commands per transaction")
        parser.add_argument("--idle-sleep", type=float, default=0.002, help="first wait when there is nothing to do (doubles up to 0.1 s)")
        parser.add_argument("--claim-every", type=float, default=1.0, help="seconds between attempts to take over markets")
        parser.add_argument("--max-seconds", type=float, default=0, help="stop after this long (tests)")
        parser.add_argument("--poll-only", action="store_true", help="sleep instead of waiting for NOTIFY (benchmark comparison)")

    def handle(self, *args, batch, idle_sleep, claim_every, max_seconds, poll_only=False, **options):
        self.poll_only = poll_only
        self.running = True
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "running", False))
        engines: dict[int, MarketEngine] = {}
        started = time.monotonic()
        wait = idle_sleep
        last_claim = 0.0
        while self.running and not (max_seconds and time.monotonic() - started > max_seconds):
            if time.monotonic() - last_claim >= claim_every:
                try:
                    self._verify(engines)
                    self._claim(engines)
                except Exception:  # the database went away while claiming: start over on a new session
                    log.exception("claiming markets failed")
                    connection.close()
                    engines.clear()
                    time.sleep(0.5)
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
                    if not self._session_alive():
                        # The database session is gone, and with it every advisory lock: own nothing
                        # until the markets are claimed again on a new session.
                        connection.close()
                        engines.clear()
                        last_claim = 0.0
                    time.sleep(0.5)
            if applied:
                wait = idle_sleep
            else:  # wait for a wake-up (PostgreSQL), or back off while idle so SQLite does not spin
                for engine in engines.values():
                    engine.periodic_publish()
                self._idle(wait)
                wait = min(wait * 2, 0.1)
        for market_id in list(engines):
            ownership.market_release(market_id)
        self.stdout.write(f"engine stopped; owned {sorted(engines)}")

    def _idle(self, seconds: float) -> None:
        """On PostgreSQL: wait on the connection for an accepted command's NOTIFY (delivered when
        it commits), at most `seconds`; LISTEN again whenever the session is new. Elsewhere sleep."""
        if not ownership.shared_locks() or self.poll_only:
            time.sleep(seconds)
            return
        try:
            if connection.connection is None or connection.connection is not getattr(self, "_listening", None):
                self._listening = ownership.wake_listen()
            ownership.wake_wait(seconds)
        except Exception:  # the session is gone: the next round finds out and starts over
            log.warning("waiting for commands failed", exc_info=True)
            time.sleep(seconds)

    @staticmethod
    def _session_alive() -> bool:
        try:
            return connection.connection is not None and connection.is_usable()
        except Exception:  # noqa: BLE001 - any failure means the session is gone
            return False

    def _claim(self, engines: dict) -> None:
        claimed = False
        for market in Market.objects.exclude(pk__in=list(engines)).order_by("pk"):
            if not ownership.market_claim(market.pk):
                continue
            try:
                engines[market.pk] = MarketEngine(market, holds_lock=True)  # rebuilt from the database as of now
            except Exception:
                if not self._session_alive():
                    raise  # the session is gone with all its locks: the caller starts over
                # This market cannot be rebuilt (bad data?): let it go so another engine may try;
                # the markets this engine owns keep running.
                log.exception("could not rebuild %s; releasing it", market.symbol)
                ownership.market_release(market.pk)
                continue
            claimed = True
            self.stdout.write(f"engine owns {market.symbol}")
            self.stdout.flush()
        if claimed:
            gc_settle()

    def _verify(self, engines: dict) -> None:
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
