"""The engine process on PostgreSQL: SIGKILL mid-batch loses and repeats nothing; two engine
processes share the markets and one takes over the other's within seconds."""

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal as D

import pytest
from django.conf import settings as django_settings
from django.db import connection

from exchange.engine import BUY, SELL, OrderBook
from exchange.models import EngineCommand, Market, Order, Trade
from exchange.ownership import ENGINE_LOCK_SPACE
from exchange.runner import MarketEngine
from exchange.services import order_place
from tests.conftest import on_postgres
from tests.exchange.conftest import funded
from wallets.selectors import ledger_violations

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="engine ownership uses PostgreSQL advisory locks"),
]


def engine_process(*args) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "ENGINE_INLINE": "false",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_engine", "--claim-every", "0.3", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, timeout=20.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(step)
    raise AssertionError("timed out")


def pending() -> int:
    return EngineCommand.objects.filter(applied_at__isnull=True).count()


def owners() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND granted", [ENGINE_LOCK_SPACE])
        return dict(cursor.fetchall())


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def _no_inline_engine(settings):
    settings.ENGINE_INLINE = False  # the engine processes under test apply the commands


def test_sigkill_mid_batch_then_restart_applies_every_command_exactly_once(market):
    rng = random.Random(5)
    traders = [funded(btc="50", usdt="5000000") for _ in range(4)]
    placed = []
    for _ in range(600):
        side = rng.choice(["BUY", "SELL"])
        price = D(50000 + rng.randint(-30, 30))
        qty = D(rng.randint(2, 50)) / 10000
        placed.append(
            order_place(user=rng.choice(traders), market=market, side=side, type="LIMIT", quantity=qty, price=price, stp_mode="NONE")
        )
    process = engine_process("--batch", "10")
    wait_for(lambda: pending() < 590, step=0.001)
    process.send_signal(signal.SIGKILL)  # wherever it is: most of its time is spent inside a batch's transaction
    process.wait()
    applied_before_restart = 600 - pending()
    assert 0 < applied_before_restart < 600
    restarted = engine_process("--batch", "40")
    try:
        wait_for(lambda: pending() == 0)
    finally:
        stop(restarted)
    # The same commands, replayed once in order by the pure matcher, give the same trades.
    book, expected = OrderBook(), []
    for order in placed:
        result = book.place_limit(
            order.pk, BUY if order.side == "BUY" else SELL, int(order.price / market.tick_size), int(order.quantity / market.step_size)
        )
        expected += [(maker, order.pk, q) for maker, _p, q in result.fills]
    trades = [
        (
            t.sell_order_id if t.taker_side == "BUY" else t.buy_order_id,
            t.buy_order_id if t.taker_side == "BUY" else t.sell_order_id,
            int(t.quantity / market.step_size),
        )
        for t in Trade.objects.order_by("id")
    ]
    assert trades == expected and len(trades) > 50
    assert MarketEngine(market).book.depth(1000) == book.depth(1000)  # the database's book is the replayed book
    assert ledger_violations() == []
    for order in Order.objects.filter(status__in=["FILLED", "CANCELED", "EXPIRED"]):
        assert order.reserved == 0


def test_two_engines_share_markets_and_take_over_a_dead_ones(market):
    from wallets.models import Asset

    second = Market.objects.create(
        symbol="ETHUSDT",
        base=Asset.objects.create(symbol="ETH", name="Ether", precision=8),
        quote=market.quote,
        tick_size=D("0.01"),
        step_size=D("0.0001"),
        min_qty=D("0.0001"),
        max_qty=D("1000"),
        min_notional=D("5"),
    )
    first_engine = engine_process()
    second_engine = None
    try:
        wait_for(lambda: set(owners()) == {market.pk, second.pk})
        first_backend = set(owners().values())
        assert len(first_backend) == 1  # the first engine owns both markets
        second_engine = engine_process()  # starts, finds both markets owned, waits
        time.sleep(1.5)
        assert set(owners().values()) == first_backend  # a lock has exactly one owner
        first_engine.send_signal(signal.SIGKILL)
        first_engine.wait()
        killed_at = time.monotonic()
        user = funded(usdt="100000")
        order = order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
        taken_at = wait_for(lambda: pending() == 0, timeout=15)
        assert taken_at - killed_at < 5
        order.refresh_from_db()
        assert order.status == "NEW"
        wait_for(
            lambda: set(owners()) == {market.pk, second.pk} and len(set(owners().values())) == 1 and set(owners().values()) != first_backend
        )
    finally:
        stop(first_engine)
        if second_engine is not None:
            stop(second_engine)


@pytest.mark.parametrize("when", ["while claiming", "while running"])
def test_an_engine_whose_database_session_dies_owns_its_markets_again(market, when):
    """pg_terminate_backend on the engine's session (a network cut, a failover): its locks go with
    the session; the engine notices, opens a new session, claims the market again and applies
    what was accepted meanwhile. Right after the lock is granted the engine is still rebuilding
    its book (that once killed the process); a second later it is polling for commands."""
    engine = engine_process()
    try:
        wait_for(lambda: market.pk in owners())
        if when == "while running":
            time.sleep(1)
        backend = owners()[market.pk]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        user = funded(usdt="100000")
        order = order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
        wait_for(lambda: pending() == 0, timeout=15)
        order.refresh_from_db()
        assert order.status == "NEW"
        assert owners().get(market.pk) not in (None, backend)
    finally:
        stop(engine)
        output = engine.stdout.read() if engine.stdout else ""
    assert "engine owns BTCUSDT" in output


def test_a_market_that_cannot_be_rebuilt_is_released_and_the_others_kept(market, monkeypatch):
    from exchange import ownership
    from exchange.runner import loop
    from wallets.models import Asset

    broken = Market.objects.create(
        symbol="ETHUSDT",
        base=Asset.objects.create(symbol="ETH", name="Ether", precision=8),
        quote=market.quote,
        tick_size=D("0.01"),
        step_size=D("0.0001"),
        min_qty=D("0.0001"),
        max_qty=D("1000"),
        min_notional=D("5"),
    )

    class Engine(MarketEngine):
        def rebuild(self):
            if self.market.pk == broken.pk:
                raise ValueError("corrupt book")
            super().rebuild()

    monkeypatch.setattr(loop, "MarketEngine", Engine)
    engines = {}
    try:
        loop.markets_claim(engines)
        assert set(engines) == {market.pk}
        assert ownership.markets_held() == {market.pk}  # the broken market's lock was let go for another engine
    finally:
        for market_id in list(engines):
            ownership.market_release(market_id)


def test_an_accepted_order_wakes_the_engines_when_it_commits_not_before(market):
    import psycopg
    from django.db import transaction

    from exchange.ownership import WAKE_CHANNEL

    db = connection.settings_dict
    listener = psycopg.connect(f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", autocommit=True)
    try:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")
        user = funded(usdt="100000")
        with transaction.atomic():
            order = order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.1", price="50000")
            assert list(listener.notifies(timeout=0.3, stop_after=1)) == []  # not committed: nobody is woken
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
        assert heard == [str(market.pk)]
        from exchange.services import order_cancel

        order_cancel(user=user, order=order)
        assert [n.payload for n in listener.notifies(timeout=2, stop_after=1)] == [str(market.pk)]
    finally:
        listener.close()


def test_placing_orders_while_the_engine_settles_the_same_accounts_never_deadlocks(market):
    """order_place holds the trader's account and, at its commit, checks its foreign key to the
    market; the engine holds the market row for its batch and then locks the same accounts. With
    the market held FOR UPDATE that was a deadlock (found by bench_engine); the engine now holds it
    FOR NO KEY UPDATE, which foreign-key checks do not wait for."""
    traders = [funded(btc="10", usdt="1000000") for _ in range(2)]
    engine = engine_process()
    try:
        wait_for(lambda: market.pk in owners())
        started = time.monotonic()
        placed = 0
        # at least 3 s and 120 placements: a loaded machine places fewer a second (at most 60 s)
        while time.monotonic() - started < 60 and (time.monotonic() - started < 3 or placed < 120):
            k = placed
            order_place(
                user=traders[k % 2],
                market=market,
                side="SELL" if k % 2 else "BUY",
                type="LIMIT",
                quantity="0.001",
                price=str(50000 + k % 3),
                stp_mode="NONE",
            )
            placed += 1
        wait_for(lambda: pending() == 0)
    finally:
        stop(engine)
        output = engine.stdout.read() if engine.stdout else ""
    assert "deadlock" not in output and "Traceback" not in output, output[-2000:]
    assert placed > 100 and Trade.objects.count() > 50
    assert ledger_violations() == []


def test_placing_and_cancelling_while_the_engine_runs_never_deadlocks(market):
    """Traders place crossing orders and cancel their own open ones from several threads while a
    run_engine process matches them, for a few seconds. Every lock taken on these paths follows
    one order (market -> orders -> ledger accounts by key -> klines, docs/architecture.md) and
    takes the market only FOR NO KEY UPDATE: once the klines were locked FOR UPDATE with a join
    to the market, a cancel's foreign-key check on the market and the engine's update of the
    cancelled order waited on each other (11 deadlocks in 40 s)."""
    import threading

    from django.db import connection as thread_connection

    from exchange.services import OrderRejected, order_cancel

    traders = [funded(btc="100", usdt="10000000") for _ in range(4)]
    engine = engine_process()
    failures: list[BaseException] = []
    counts = {"placed": 0, "cancelled": 0}
    lock = threading.Lock()
    started = [0.0]

    def busy() -> bool:  # at least 4 s and 200 placements (a loaded machine places fewer a second), at most 60 s
        elapsed = time.monotonic() - started[0]
        return elapsed < 60 and (elapsed < 4 or counts["placed"] < 200)

    def trade(i: int) -> None:
        rng = random.Random(i)
        user = traders[i]
        try:
            while busy():
                try:
                    if rng.random() < 0.4:
                        open_orders = list(Order.objects.filter(user=user, market=market, status__in=Order.OPEN).order_by("?")[:3])
                        for order in open_orders:
                            order_cancel(user=user, order=order)
                            with lock:
                                counts["cancelled"] += 1
                    else:
                        order_place(
                            user=user,
                            market=market,
                            side=rng.choice(["BUY", "SELL"]),
                            type="LIMIT",
                            quantity=str(D("0.001") * rng.randint(1, 5)),
                            price=str(50000 + rng.randint(-3, 3)),
                            stp_mode="NONE",
                        )
                        with lock:
                            counts["placed"] += 1
                except OrderRejected as refused:  # the order ended before its cancel: an answer, not a failure
                    if refused.code != "unknown_order":
                        raise
        except BaseException as exc:  # noqa: BLE001 - a deadlock or any other error fails the test below
            failures.append(exc)
        finally:
            thread_connection.close()

    try:
        wait_for(lambda: market.pk in owners())
        started[0] = time.monotonic()
        threads = [threading.Thread(target=trade, args=(i,)) for i in range(len(traders))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for(lambda: pending() == 0)
    finally:
        stop(engine)
        output = engine.stdout.read() if engine.stdout else ""
    assert failures == []
    assert "deadlock" not in output.lower() and "Traceback" not in output, output[-3000:]
    assert counts["placed"] >= 200 and counts["cancelled"] > 20, counts
    assert Trade.objects.count() > 20
    assert Order.objects.filter(status=Order.Status.CANCELED).count() > 10
    assert ledger_violations() == []
