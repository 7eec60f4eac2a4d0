"""Benchmark: the engine with durable settlement against the engine alone, on one order list.

Runs in a throw-away database (test_<name>, created and dropped here). Accepted orders are
loaded as engine commands with their funds reserved; then MarketEngine applies them in batches,
committing trades, order states, balances and ledger journals. Prints orders/s, the
accept-to-commit latency of a paced run, and the ratio to the pure matcher on the same orders.
"""

import os
import random
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC
from decimal import Decimal as D

from django.core.management.base import BaseCommand
from django.db import connection, connections, transaction
from django.utils import timezone


class Command(BaseCommand):
    help = "Benchmark the durable engine (PostgreSQL recommended) against the pure matcher."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=20_000)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--rate", type=int, default=1000, help="orders/s of the paced latency run")
        parser.add_argument("--paced-seconds", type=float, default=5.0)
        parser.add_argument("--keepdb", action="store_true")
        parser.add_argument(
            "--e2e-orders", type=int, default=100, help="orders placed one by one against a run_engine process (PostgreSQL)"
        )
        parser.add_argument("--e2e-rate", type=int, default=200, help="orders/s placed through order_place against run_engine for 5 s")

    def handle(self, *args, orders, batch, rate, paced_seconds, keepdb, e2e_orders, e2e_rate, **options):
        self.e2e_orders, self.e2e_rate = e2e_orders, e2e_rate
        creation = connection.creation
        old_name = connection.settings_dict["NAME"]
        self.stdout.write(f"database: {connection.vendor}; creating a throw-away copy of the schema...")
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb)
        try:
            self._run(orders, batch, rate, paced_seconds)
        finally:
            creation.destroy_test_db(old_name, verbosity=0, keepdb=keepdb)

    def _setup(self):
        from exchange.models import FeeTier, Market
        from wallets.models import Asset

        btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
        usdt = Asset.objects.create(symbol="USDT", name="Tether", precision=6)
        FeeTier.objects.create(tier=0, min_volume_30d=0, maker_rate=D("0.001"), taker_rate=D("0.001"))
        return Market.objects.create(
            symbol="BTCUSDT",
            base=btc,
            quote=usdt,
            tick_size=D("0.01"),
            step_size=D("0.0001"),
            min_qty=D("0.0001"),
            max_qty=D("100"),
            min_notional=D("1"),
        )

    def _orders(self, n, seed, start=0):
        rng = random.Random(seed)
        out = []
        for i in range(n):
            side = "BUY" if rng.random() < 0.5 else "SELL"
            offset = rng.randint(0, 20)
            price = 50000 + (-offset if side == "BUY" else offset)
            if rng.random() < 0.3:  # crossing orders make trades
                price = 50000 + (offset if side == "BUY" else -offset)
            out.append((start + i, side, D(price), D(rng.randint(1, 20)) / 10000))
        return out

    def _load(self, market, users, specs):
        """Accept orders in bulk: orders, engine commands and one hold per user and asset that
        covers their reservations (locked equals the sum of the orders' reservations)."""
        from exchange.models import EngineCommand, Order
        from wallets.ledger import hold_place, user_account

        rows, holds = [], defaultdict(D)
        for n, side, price, qty in specs:
            user = users[n % len(users)]
            asset = market.quote if side == "BUY" else market.base
            reserve = price * qty if side == "BUY" else qty
            holds[(user.pk, asset.pk)] += reserve
            rows.append(
                Order(
                    market=market,
                    user=user,
                    client_order_id=f"b{n}",
                    side=side,
                    type="LIMIT",
                    time_in_force="GTC",
                    price=price,
                    quantity=qty,
                    stp_mode="NONE",
                    reserved_asset=asset,
                    reserved=reserve,
                )
            )
        by_pk = {u.pk: u for u in users}
        assets = {market.base.pk: market.base, market.quote.pk: market.quote}
        # Each hold in its own short transaction, as order_place's is, then the orders and commands
        # in one: a loader holding fifty accounts' locks for a whole batch would make the engine
        # wait for it, which no real client can do.
        for (u, a), amount in holds.items():
            account = user_account(user=by_pk[u], asset=assets[a])
            hold_place(account=account, amount=amount, idempotency_key=f"bench-{account.pk}-{time.monotonic_ns()}")
        with transaction.atomic():
            created = Order.objects.bulk_create(rows, batch_size=5000)
            accepted = timezone.now()  # (the paced run takes acceptance as the commit, after this block)
            EngineCommand.objects.bulk_create(
                [EngineCommand(market=market, kind="place", order=o, created_at=accepted) for o in created], batch_size=5000
            )
        return created

    def _run(self, n, batch, rate, paced_seconds):
        from accounts.models import User
        from exchange.engine import BUY, SELL, OrderBook
        from exchange.models import Trade
        from exchange.runner import MarketEngine, gc_settle
        from wallets.selectors import ledger_violations
        from wallets.services import ledger_adjust

        market = self._setup()
        users = [User.objects.create_user(email=f"bench{i}@example.test", password=None) for i in range(50)]
        for user in users:
            ledger_adjust(user=user, asset=market.base, amount=D("1000"), reason="bench", idempotency_key=f"b-{user.pk}-base")
            ledger_adjust(user=user, asset=market.quote, amount=D("100000000"), reason="bench", idempotency_key=f"b-{user.pk}-quote")
        specs = self._orders(n, seed=11)

        # The engine alone: the pure matcher on the same orders, with the engine process's collector settings.
        gc_settle()
        book = OrderBook()
        started = time.perf_counter()
        fills = 0
        for i, side, price, qty in specs:
            fills += len(book.place_limit(i, BUY if side == "BUY" else SELL, int(price * 100), int(qty * 10000)).fills)
        alone = n / (time.perf_counter() - started)

        self._load(market, users, specs)
        engine = MarketEngine(market)
        gc_settle()  # as run_engine does after claiming markets
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(engine.apply_batch, limit=batch)
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(30)
            queries = []

            def timed(execute, sql, params, many, context):
                t = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    queries.append(((time.perf_counter() - t) * 1000, sql[:150]))

            with connection.execute_wrapper(timed):
                t = time.perf_counter()
                engine.apply_batch(limit=batch)
                total = (time.perf_counter() - t) * 1000
            self.stdout.write(
                f"one batch: {total:.1f} ms, {len(queries)} statements, {sum(q[0] for q in queries):.1f} ms in them; slowest:"
            )
            for ms, sql in sorted(queries, reverse=True)[:12]:
                self.stdout.write(f"  {ms:7.2f} ms  {sql}")
        engine.phases.clear()
        started = time.perf_counter()
        batches = []
        while True:
            t0 = time.perf_counter()
            applied = engine.apply_batch(limit=batch)
            if not applied:
                break
            batches.append((applied, time.perf_counter() - t0))
        durable_seconds = time.perf_counter() - started
        measured = sum(applied for applied, _s in batches)  # without the profiled batches (BENCH_PROFILE)
        durable = measured / durable_seconds
        phases = {name: seconds / measured * 1e6 for name, seconds in engine.phases.items()}  # µs per order
        self.stdout.write("where the durable run's time goes, µs per order: " + ", ".join(f"{k} {v:.0f}" for k, v in phases.items()))
        trades = Trade.objects.count()

        latencies = None
        if connection.vendor == "postgresql":
            latencies = self._paced(market, users, engine, n, batch, rate, paced_seconds)
        problems = ledger_violations()
        self._report(n, batch, trades, fills, alone, durable, batches, rate, paced_seconds, latencies, problems)
        if connection.vendor == "postgresql" and self.e2e_orders:
            self._end_to_end(market, users[:2], self.e2e_orders)

    def _end_to_end(self, market, users, count):
        """What one trader sees: `order_place` returns (its transaction committed), then the order
        leaves PENDING_NEW when a `run_engine` process has committed its batch. Orders go one at
        a time, so no batching hides the wait; the engine is run twice, waking on NOTIFY and
        (for comparison) polling as it did before."""
        import subprocess
        import sys

        from django.conf import settings as django_settings

        from exchange.models import Order
        from exchange.services import order_place

        db = connection.settings_dict
        env = {**os.environ, "ENGINE_INLINE": "false", "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
        self.stdout.write("")
        self.stdout.write(
            f"end to end, {count} orders one at a time against `run_engine` (order_place returns -> the order's batch committed):"
        )
        results = {}
        for mode, extra in (("wakes on NOTIFY", []), ("polls (1-100 ms back-off)", ["--poll-only"])):
            engine = subprocess.Popen(
                [sys.executable, "manage.py", "run_engine", "--claim-every", "0.2", *extra],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                # A first order, applied once the engine owns the market and has rebuilt its book.
                deadline = time.monotonic() + 30
                probe = order_place(user=users[0], market=market, side="BUY", type="LIMIT", quantity="0.0001", price="10000")
                while Order.objects.filter(pk=probe.pk, status="PENDING_NEW").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                waits = []
                for k in range(count):
                    time.sleep(0.05 + (k % 7) * 0.01)  # idle between orders, so the engine is waiting, as it mostly is
                    order = order_place(
                        user=users[k % 2],
                        market=market,
                        side="SELL" if k % 2 else "BUY",
                        type="LIMIT",
                        quantity="0.0001",
                        price="50000",
                        stp_mode="NONE",
                    )
                    placed = time.perf_counter()
                    while Order.objects.filter(pk=order.pk, status="PENDING_NEW").exists():
                        time.sleep(0.0002)
                    waits.append((time.perf_counter() - placed) * 1000)
                waits.sort()
                results[mode] = waits
                self.stdout.write(
                    f"  engine {mode}: p50 {waits[len(waits) // 2]:.1f} ms, p99 {waits[int(len(waits) * 0.99)]:.1f} ms, "
                    f"max {waits[-1]:.1f} ms"
                )
                if not extra and self.e2e_rate:
                    self._sustained(market, users, self.e2e_rate)
            finally:
                engine.terminate()
                engine.wait(10)
        first, second = results.values()
        self.stdout.write(f"  ratio of medians, polling / NOTIFY: {second[len(second) // 2] / first[len(first) // 2]:.1f}x")

    def _sustained(self, market, users, rate, seconds=5.0):
        """`order_place` at `rate`/s for `seconds` from this process while the run_engine process
        applies them: per order, from `order_place` returning to the batch's `applied_at` (stamped
        in the batch's transaction just before its commit)."""
        from datetime import datetime

        from exchange.models import EngineCommand
        from exchange.services import order_place

        accepted: dict[int, datetime] = {}
        started = time.perf_counter()
        for k in range(int(rate * seconds)):
            delay = started + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            order = order_place(
                user=users[k % 2],
                market=market,
                side="SELL" if k % 2 else "BUY",
                type="LIMIT",
                quantity="0.0001",
                price=str(50000 + (k % 5)),
                stp_mode="NONE",
            )
            accepted[order.pk] = datetime.now(UTC)
        achieved = len(accepted) / (time.perf_counter() - started)
        deadline = time.monotonic() + 30
        while EngineCommand.objects.filter(applied_at__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        waits = sorted(
            (applied - accepted[order_id]).total_seconds() * 1000
            for order_id, applied in EngineCommand.objects.filter(order_id__in=list(accepted), kind="place").values_list(
                "order_id", "applied_at"
            )
        )
        self.stdout.write(
            f"  sustained, order_place at {achieved:,.0f}/s for {seconds:g} s (NOTIFY): to applied p50 {waits[len(waits) // 2]:.1f} ms, "
            f"p99 {waits[int(len(waits) * 0.99)]:.1f} ms, max {waits[-1]:.1f} ms"
        )

    def _paced(self, market, users, engine, n, batch, rate, paced_seconds):
        """A producer thread accepts orders at `rate`/s while the engine applies them; returns the
        latencies in ms from each order's acceptance (its transaction committed) to the commit of
        its batch (PostgreSQL: SQLite's test database is one in-memory file that two connections
        cannot write at once)."""
        from exchange.models import EngineCommand

        paced = self._orders(int(rate * paced_seconds), seed=12, start=n)
        done = threading.Event()
        accepted: dict[int, float] = {}

        def produce():
            try:
                step = 0.05
                per_step = max(1, int(rate * step))
                for k in range(0, len(paced), per_step):
                    t = time.perf_counter()
                    orders = self._load(market, users, paced[k : k + per_step])
                    now = time.perf_counter()  # committed: accepted
                    for command_id in EngineCommand.objects.filter(order__in=orders).values_list("pk", flat=True):
                        accepted[command_id] = now
                    time.sleep(max(0.0, step - (time.perf_counter() - t)))
            finally:
                connections.close_all()
                done.set()

        self.paced_batches = []
        producer = threading.Thread(target=produce)
        producer.start()
        committed: dict[int, float] = {}
        while not done.is_set() or EngineCommand.objects.filter(applied_at__isnull=True).exists():
            t0 = time.perf_counter()
            if engine.apply_batch(limit=batch):
                now = time.perf_counter()
                committed.update((command_id, now) for command_id in engine.applied_ids)
                self.paced_batches.append((len(engine.applied_ids), now - t0))
            else:
                time.sleep(0.001)
        producer.join()
        return sorted((committed[c] - accepted[c]) * 1000 for c in accepted)

    def _report(self, n, batch, trades, fills, alone, durable, batches, rate, paced_seconds, latencies, problems):
        per_batch = [a / s for a, s in batches if s]
        self.stdout.write("")
        self.stdout.write(f"orders: {n:,} accepted limit orders (30 % crossing), {trades:,} trades, batches of {batch}")
        self.stdout.write("")
        self.stdout.write("| run | orders/s | note |")
        self.stdout.write("|---|---:|---|")
        self.stdout.write(f"| engine alone (pure matcher, same orders) | {alone:,.0f} | {fills:,} fills |")
        self.stdout.write(
            f"| engine + durable settlement ({connection.vendor}) | {durable:,.0f} | "
            f"median batch {statistics.median(per_batch):,.0f} orders/s |"
        )
        self.stdout.write("")
        self.stdout.write(f"ratio durable / alone: 1 : {alone / durable:,.0f}")
        if latencies:
            self.stdout.write(
                f"paced at {rate:,} orders/s for {paced_seconds:g} s: accept-to-commit p50 {latencies[len(latencies) // 2]:.1f} ms, "
                f"p99 {latencies[int(len(latencies) * 0.99)]:.1f} ms, max {latencies[-1]:.1f} ms"
            )
            sizes, seconds = [b[0] for b in self.paced_batches], [b[1] for b in self.paced_batches]
            self.stdout.write(
                f"  the paced run's {len(sizes)} batches: median {statistics.median(sizes):.0f} orders in "
                f"{statistics.median(seconds) * 1000:.1f} ms, longest {max(seconds) * 1000:.1f} ms"
            )
        else:
            self.stdout.write("paced latency run: needs PostgreSQL (set DATABASE_URL)")
        self.stdout.write(f"ledger check after the run: {'sound' if not problems else problems[:3]}")
        met = durable >= 10_000 and latencies is not None and latencies[int(len(latencies) * 0.99)] <= 20
        self.stdout.write(
            f"target (performance.md): >= 10,000 orders/s sustained, commit-to-ack p99 <= 20 ms -> {'met' if met else 'NOT met'}"
        )
