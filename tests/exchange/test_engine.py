"""The pure matcher, semantics table by table, then property tests against the reference book."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.engine import (
    BUY,
    FOK,
    IOC,
    SELL,
    STOP_LOSS,
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
    TAKE_PROFIT,
    OrderBook,
    Status,
)
from exchange.engine.reference import ReferenceBook


def book_with(*orders):
    book = OrderBook()
    for order_id, side, price, qty, *owner in orders:
        book.place_limit(order_id, side, price, qty, owner=owner[0] if owner else None)
    return book


def test_price_then_time_priority_and_price_improvement():
    book = book_with(("a1", SELL, 101, 5), ("a2", SELL, 100, 5), ("a3", SELL, 100, 5), ("a4", SELL, 102, 5))
    r = book.place_limit("t", BUY, 105, 12)
    assert r.fills == [("a2", 100, 5), ("a3", 100, 5), ("a1", 101, 2)]  # better price first, then earlier
    assert (r.status, r.filled, r.remaining) == (Status.FILLED, 12, 0)
    assert book.depth() == ([], [(101, 3), (102, 5)])


def test_partial_fill_rests_the_remainder_at_its_price():
    book = book_with(("a", SELL, 100, 4))
    r = book.place_limit("b", BUY, 100, 10)
    assert (r.status, r.filled, r.remaining) == (Status.PARTIALLY_FILLED, 4, 6)
    assert book.best_bid() == 100 and book.best_ask() is None and book.depth() == ([(100, 6)], [])


@pytest.mark.parametrize(
    ("tif", "status", "fills", "rests"),
    [
        (IOC, Status.EXPIRED, [("a", 100, 4)], False),
        (FOK, Status.EXPIRED, [], False),
    ],
)
def test_ioc_and_fok_never_rest(tif, status, fills, rests):
    book = book_with(("a", SELL, 100, 4), ("z", SELL, 103, 10))
    r = book.place_limit("b", BUY, 101, 10, tif=tif)
    assert (r.status, r.fills) == (status, fills)
    assert (book.best_bid() is not None) == rests


def test_fok_fills_completely_when_it_can():
    book = book_with(("a", SELL, 100, 4), ("c", SELL, 101, 6))
    r = book.place_limit("b", BUY, 101, 10, tif=FOK)
    assert (r.status, r.fills) == (Status.FILLED, [("a", 100, 4), ("c", 101, 6)])


def test_post_only_is_rejected_if_it_would_take():
    book = book_with(("a", SELL, 100, 4), ("b", BUY, 98, 1))
    assert book.place_limit("m", BUY, 100, 1, post_only=True).status == Status.REJECTED
    assert book.place_limit("m", BUY, 99, 1, post_only=True).status == Status.NEW
    assert book.place_limit("s", SELL, 99, 1, post_only=True).status == Status.REJECTED
    assert book.depth() == ([(99, 1), (98, 1)], [(100, 4)])


def test_market_by_quantity_stops_at_the_protection_bound():
    book = book_with(("a", SELL, 100, 2), ("b", SELL, 105, 2), ("c", SELL, 200, 50))
    r = book.place_market("m", BUY, qty=10, limit=110)
    assert (r.status, r.fills, r.remaining) == (Status.EXPIRED, [("a", 100, 2), ("b", 105, 2)], 6)
    assert book.best_ask() == 200  # a thin book did not fill absurdly far away
    assert book.place_market("n", SELL, qty=1).status == Status.EXPIRED  # no bids at all


def test_market_by_quote_amount():
    book = book_with(("a", SELL, 100, 2), ("b", SELL, 150, 10))
    r = book.place_market("m", BUY, quote_qty=560)  # 2 x 100 = 200, then 2 x 150 = 300, 60 left < 150
    assert (r.status, r.fills, r.quote_filled) == (Status.FILLED, [("a", 100, 2), ("b", 150, 2)], 500)
    r = book.place_market("n", BUY, quote_qty=10_000)
    assert (r.status, r.filled, r.quote_filled) == (Status.EXPIRED, 8, 1200)  # the book ran out


@pytest.mark.parametrize(
    ("mode", "status", "fills", "expired", "depth"),
    [
        (STP_NONE, Status.FILLED, [("own", 100, 3)], [], ([], [(100, 2), (101, 5)])),
        (STP_EXPIRE_TAKER, Status.EXPIRED_IN_MATCH, [], [], ([], [(100, 5), (101, 5)])),
        (STP_EXPIRE_MAKER, Status.FILLED, [("other", 101, 3)], ["own"], ([], [(101, 2)])),
        (STP_EXPIRE_BOTH, Status.EXPIRED_IN_MATCH, [], ["own"], ([], [(101, 5)])),
    ],
)
def test_self_trade_prevention(mode, status, fills, expired, depth):
    book = book_with(("own", SELL, 100, 5, "alice"), ("other", SELL, 101, 5, "bob"))
    r = book.place_limit("t", BUY, 101, 3, owner="alice", stp=mode)
    assert (r.status, r.fills, r.expired_makers) == (status, fills, expired)
    assert book.depth() == depth


def test_stop_loss_triggers_on_the_last_trade_price_and_cascades():
    book = book_with(("b1", BUY, 99, 5), ("b2", BUY, 95, 5), ("a", SELL, 101, 1))
    assert book.place_limit("x", SELL, 99, 1).fills == [("b1", 99, 1)]  # last price 99
    assert book.place_stop("s1", SELL, STOP_LOSS, 99, 95, 3).status == Status.REJECTED  # would trigger at once
    assert book.place_stop("s1", SELL, STOP_LOSS, 98, 95, 3).status == Status.NEW
    assert book.place_stop("s2", SELL, STOP_LOSS, 95, 90, 4).status == Status.NEW
    assert book.place_stop("tp", BUY, TAKE_PROFIT, 90, 96, 1).status == Status.NEW
    r = book.place_limit("y", SELL, 98, 4)  # trades at 99 (4 left in b1) then... 99 -> no trigger
    assert r.fills == [("b1", 99, 4)] and not r.triggered
    r = book.place_limit("z", SELL, 95, 1)  # trades at 95: s1 (stop 98) fires and sells into b2; s2 (stop 95) fires too
    assert [t.order_id for t in r.triggered] == ["s1", "s2"]
    assert r.triggered[0].fills == [("b2", 95, 3)]
    assert (r.triggered[1].status, r.triggered[1].fills) == (Status.PARTIALLY_FILLED, [("b2", 95, 1)])
    assert book.depth() == ([], [(90, 3), (101, 1)])  # s2's rest waits at its limit
    assert "tp" in book and book.cancel("tp") == 1 and "tp" not in book


def test_cancel_returns_the_remainder_and_is_skipped_by_matching():
    book = book_with(("a", SELL, 100, 5), ("b", SELL, 100, 5))
    assert book.cancel("a") == 5
    assert book.cancel("a") is None and book.cancel("nope") is None
    assert book.place_limit("t", BUY, 100, 7).fills == [("b", 100, 5)]
    assert book.depth() == ([(100, 2)], [])
    with pytest.raises(ValueError):
        book.place_limit("t", BUY, 100, 1)  # "t" is live
    with pytest.raises(ValueError):
        book.place_limit("u", BUY, 0, 1)
    with pytest.raises(ValueError):
        book.place_limit("u", BUY, 1, -1)


# --- property tests against the reference book --------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("limit"), st.sampled_from([BUY, SELL]), st.integers(95, 105), st.integers(1, 20), st.sampled_from([0, IOC, FOK])),
        st.tuples(st.just("market"), st.sampled_from([BUY, SELL]), st.integers(1, 40), st.one_of(st.none(), st.integers(95, 105))),
        st.tuples(st.just("cancel"), st.integers(0, 60)),
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(OPS)
def test_same_fills_as_the_reference_book_and_invariants_hold(ops):
    book, reference = OrderBook(), ReferenceBook()
    for n, op in enumerate(ops):
        if op[0] == "limit":
            _kind, side, price, qty, tif = op
            r = book.place_limit(n, side, price, qty, tif=tif)
            assert r.fills == reference.place_limit(n, side, price, qty, tif=tif)
            assert r.filled + r.remaining == qty  # quantity is conserved
            if tif != 0:
                assert n not in book
        elif op[0] == "market":
            _kind, side, qty, limit = op
            r = book.place_market(n, side, qty=qty, limit=limit)
            assert r.fills == reference.place_market(n, side, qty, limit)
            assert n not in book
        else:
            assert book.cancel(op[1]) == reference.cancel(op[1])
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask  # never crossed
        assert book.depth(1000) == reference.depth(1000)
