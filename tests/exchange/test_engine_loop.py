"""The engine loop in-process (exchange/runner/loop.py): started in a thread it claims the market,
applies an order placed while it runs, and stops cleanly when told, releasing what it owned.
Two threads on one database: PostgreSQL (SQLite's shared in-memory test database refuses a
table another connection is writing instead of waiting)."""

import threading
import time
from decimal import Decimal as D

import pytest
from django.db import connection

from exchange import ownership
from exchange.models import EngineCommand, Order, Trade
from exchange.runner import engine_run
from exchange.services import order_place
from tests.conftest import on_postgres
from tests.exchange.conftest import bal, funded
from wallets.selectors import ledger_violations

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="the loop's thread and the test share the database: PostgreSQL"),
]


def wait_for(condition, timeout=20.0, step=0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(step)


def test_engine_run_in_a_thread_applies_an_order_placed_while_it_runs_and_stops_cleanly(market, settings):
    settings.ENGINE_INLINE = False  # only the loop applies commands
    maker, taker = funded(btc="1"), funded(usdt="100000")
    sell = order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.5", price="50000")
    stop, said, result = threading.Event(), [], {}

    def run():
        try:
            result["owned"] = engine_run(stop_event=stop, claim_every=0.05, settle_gc=False, say=said.append)
            result["held after"] = ownership.markets_held()  # on the loop's own session, still open
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="engine")
    thread.start()
    try:
        wait_for(lambda: Order.objects.get(pk=sell.pk).status == Order.Status.NEW)  # the loop claimed the market
        buy = order_place(user=taker, market=market, side="BUY", type="LIMIT", quantity="0.2", price="50000")
        wait_for(lambda: not EngineCommand.objects.filter(applied_at__isnull=True).exists())
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert result["owned"] == [market.pk]
    assert said == ["engine owns BTCUSDT"]

    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (buy.status, buy.executed_qty, buy.reserved) == (Order.Status.FILLED, D("0.2"), D("0"))
    assert (sell.status, sell.executed_qty, sell.reserved) == (Order.Status.PARTIALLY_FILLED, D("0.2"), D("0.3"))
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.buyer_fee, trade.seller_fee) == (D("50000"), D("0.2"), D("0.0004"), D("10"))
    assert bal(taker, "BTC") == (D("0.1996"), D("0"))  # taker fee 0.2 % in BTC
    assert bal(taker, "USDT") == (D("90000"), D("0"))
    assert bal(maker, "USDT") == (D("9990"), D("0"))  # maker fee 0.1 % of 10000 USDT
    assert bal(maker, "BTC") == (D("0.5"), D("0.3"))
    assert ledger_violations() == []
    assert result["held after"] == set()  # stopped cleanly: it let the market's lock go itself
