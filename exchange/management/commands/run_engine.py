"""The engine process: runs the engine loop (exchange/runner/loop.py) until SIGTERM."""

import signal
import threading

from django.core.management.base import BaseCommand

from exchange.runner import engine_run


class Command(BaseCommand):
    help = "Run the matching engine: own markets, apply their orders and cancels in sequence, commit each batch at once."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="most commands per transaction")
        parser.add_argument("--idle-sleep", type=float, default=0.002, help="first wait when there is nothing to do (doubles up to 0.1 s)")
        parser.add_argument("--claim-every", type=float, default=1.0, help="seconds between attempts to take over markets")
        parser.add_argument("--max-seconds", type=float, default=0, help="stop after this long (tests)")
        parser.add_argument("--poll-only", action="store_true", help="sleep instead of waiting for NOTIFY (benchmark comparison)")

    def handle(self, *args, batch, idle_sleep, claim_every, max_seconds, poll_only=False, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        owned = engine_run(
            stop_event=stop,
            batch=batch,
            idle_sleep=idle_sleep,
            claim_every=claim_every,
            max_seconds=max_seconds,
            poll_only=poll_only,
            say=self._say,
        )
        self.stdout.write(f"engine stopped; owned {owned}")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
