"""Query budgets: one engine batch costs the same number of statements for one command as for a
thousand (PostgreSQL: COPY and array parameters; SQLite inserts row by row, so there only the
statements other than INSERTs are counted), and order_place a fixed few."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exchange.runner import MarketEngine
from exchange.services import order_place
from tests.conftest import on_postgres
from tests.exchange.conftest import funded

pytestmark = pytest.mark.django_db

BATCH_STATEMENTS_POSTGRES = 23  # with its savepoint; any number of commands, trades and traders
BATCH_READS_SQLITE = 12
ORDER_PLACE_POSTGRES = 17
ORDER_PLACE_SQLITE = 16


def crossing_batch(market, size: int):
    """`size` resting asks applied, then `size` buys from ten traders, each taking one ask: returns
    the engine and the statements its one batch of `size` commands ran."""
    maker = funded(btc="10")
    takers = [funded(usdt="1000000") for _ in range(10)]
    engine = MarketEngine(market)
    for _ in range(size):
        order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.001", price="50000", stp_mode="NONE")
    engine.apply_all()
    for i in range(size):
        order_place(user=takers[i % 10], market=market, side="BUY", type="LIMIT", quantity="0.001", price="50000", stp_mode="NONE")
    engine.publisher.ticker_sent = 0.0  # the once-a-second ticker runs in both measurements
    with CaptureQueriesContext(connection) as queries:
        assert engine.apply_batch(limit=size) == size
    return [q["sql"] for q in queries.captured_queries]


def _difference(one: list[str], other: list[str]) -> str:
    """Which statements (by their first words) one run made more or fewer times than the other."""
    from collections import Counter

    a, b = Counter(q[:70] for q in one), Counter(q[:70] for q in other)
    return f"{len(one)} vs {len(other)}: " + "; ".join(f"{k!r} {a[k]} vs {b[k]}" for k in sorted(a.keys() | b.keys()) if a[k] != b[k])


def test_one_engine_batch_costs_the_same_statements_for_one_command_as_for_a_thousand(market, settings, monkeypatch):
    settings.ENGINE_INLINE = False
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # every batch in the same candles, however long the setup takes
    crossing_batch(market, 1)  # the candles exist from now on: both measured batches update them
    one, thousand = crossing_batch(market, 1), crossing_batch(market, 1000)
    if on_postgres():
        # config.db.rows_update writes many rows through a temporary table: one statement more, once
        assert (len(one), len(thousand)) == (BATCH_STATEMENTS_POSTGRES, BATCH_STATEMENTS_POSTGRES + 1), _difference(one, thousand)
    else:  # SQLite writes rows one statement each (no COPY): its reads must still not grow
        reads = [[q for q in run if q.lstrip().upper().startswith("SELECT")] for run in (one, thousand)]
        assert len(reads[0]) == len(reads[1]) == BATCH_READS_SQLITE, _difference(*reads)


def test_order_place_runs_a_fixed_number_of_statements(market, settings, django_assert_num_queries):
    settings.ENGINE_INLINE = False
    user = funded(usdt="100000")
    order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.001", price="50000")  # the account exists now
    with django_assert_num_queries(ORDER_PLACE_POSTGRES if on_postgres() else ORDER_PLACE_SQLITE):
        order_place(user=user, market=market, side="BUY", type="LIMIT", quantity="0.001", price="50000")
