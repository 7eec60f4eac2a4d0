"""A price-time-priority order book on integer ticks (prices) and lots (quantities).

API (all integers; ids are any hashable the caller chooses, unique among live orders):

    book = OrderBook()
    r = book.place_limit(order_id, side, price, qty, tif=GTC, post_only=False, owner=None, stp=STP_NONE)
    r = book.place_market(order_id, side, qty=..., limit=None, owner=None, stp=STP_NONE)
    r = book.place_market(order_id, side, quote_qty=..., limit=None, ...)   # quote in price x qty units
    r = book.place_stop(order_id, side, kind, stop_price, price, qty, tif=GTC, owner=None, stp=STP_NONE)
    book.cancel(order_id) -> remaining qty, or None if it is not live
    book.best_bid(), book.best_ask() -> price or None;  book.depth(n) -> ([(price, qty)...], [...])

A Result carries the order's status (Status.*), filled and remaining quantity, its fills as
(maker_id, price, qty) tuples in execution order, the makers expired by self-trade prevention,
and the results of stop orders its trades triggered. Market orders never rest: `limit` is the
protection bound (the worst price the service layer allows) and whatever is left expires.
"""

from collections import deque
from heapq import heappop, heappush, nlargest, nsmallest

BUY, SELL = 1, 2
GTC, IOC, FOK = 0, 1, 2
STP_NONE, STP_EXPIRE_TAKER, STP_EXPIRE_MAKER, STP_EXPIRE_BOTH = 0, 1, 2, 3
STOP_LOSS, TAKE_PROFIT = 1, 2
_NO_LIMIT = 1 << 62
_SHARDS = 64
_MASK = _SHARDS - 1


class Status:
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    EXPIRED = "EXPIRED"  # IOC/FOK/market remainder, or a FOK that could not fill completely
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"  # self-trade prevention expired the taker
    REJECTED = "REJECTED"  # a post-only order that would take, a stop that would trigger at once
    CANCELED = "CANCELED"
    PENDING_TRIGGER = "NEW"  # a stop order waiting for its trigger (Binance reports NEW)


class Order:
    __slots__ = ("id", "side", "price", "qty", "owner")

    def __init__(self, order_id, side, price, qty, owner):
        self.id, self.side, self.price, self.qty, self.owner = order_id, side, price, qty, owner


class Level:
    __slots__ = ("orders", "qty")

    def __init__(self):
        self.orders = deque()
        self.qty = 0


class Result:
    __slots__ = ("order_id", "status", "filled", "remaining", "fills", "expired_makers", "triggered", "quote_filled")

    def __init__(self, order_id, status, filled, remaining, fills, expired_makers=(), quote_filled=0):
        self.order_id, self.status, self.filled, self.remaining = order_id, status, filled, remaining
        self.fills, self.expired_makers, self.triggered, self.quote_filled = fills, expired_makers, [], quote_filled

    def __repr__(self):
        return f"Result({self.order_id!r}, {self.status}, filled={self.filled}, remaining={self.remaining}, fills={self.fills})"


class _Stop:
    __slots__ = ("id", "side", "kind", "stop_price", "price", "qty", "tif", "owner", "stp", "seq")


class OrderBook:
    def __init__(self):
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self._bid_heap: list[int] = []  # negated prices; levels are removed lazily
        self._ask_heap: list[int] = []
        # Resting orders by id, in 64 dicts by the id's hash: a dict that grows past two thirds of
        # its table copies itself whole, and one dict of 20,000 orders took over a millisecond
        # to do that inside a single placement. Each of these grows in 1/64 of the time.
        self._index: list[dict] = [{} for _ in range(_SHARDS)]
        self.stops: dict = {}
        self.last_price: int | None = None
        self._stop_seq = 0
        self._triggering = False

    # --- queries -------------------------------------------------------------------------------

    def best_bid(self):
        heap, levels = self._bid_heap, self.bids
        while heap:
            price = -heap[0]
            if price in levels:
                return price
            heappop(heap)
        return None

    def best_ask(self):
        heap, levels = self._ask_heap, self.asks
        while heap:
            price = heap[0]
            if price in levels:
                return price
            heappop(heap)
        return None

    def depth(self, n: int = 20):
        bids = [(p, self.bids[p].qty) for p in nlargest(n, self.bids)]
        asks = [(p, self.asks[p].qty) for p in nsmallest(n, self.asks)]
        return bids, asks

    def __contains__(self, order_id):
        return order_id in self._index[hash(order_id) & _MASK] or order_id in self.stops

    @property
    def orders(self) -> dict:
        """Every resting order by id (a copy: for inspection, not the hot path)."""
        return {k: v for shard in self._index for k, v in shard.items()}

    # --- commands ------------------------------------------------------------------------------

    def place_limit(self, order_id, side, price, qty, tif=GTC, post_only=False, owner=None, stp=STP_NONE) -> Result:
        if qty <= 0 or price <= 0:
            raise ValueError("price and quantity must be positive")
        if order_id in self._index[hash(order_id) & _MASK] or order_id in self.stops:
            raise ValueError(f"order id {order_id!r} is live already")
        if post_only:
            best = self.best_ask() if side == BUY else self.best_bid()
            if best is not None and (price >= best if side == BUY else price <= best):
                return Result(order_id, Status.REJECTED, 0, qty, [])
        if tif == FOK and self._fillable(side, price, qty, owner, stp) < qty:
            return Result(order_id, Status.EXPIRED, 0, qty, [])
        result = self._match(order_id, side, price, qty, None, owner, stp)
        if result.status is None:  # matching ran out of liquidity or price, not expired in match
            if result.remaining == 0:
                result.status = Status.FILLED
            elif tif == GTC:
                self._rest(Order(order_id, side, price, result.remaining, owner))
                result.status = Status.PARTIALLY_FILLED if result.filled else Status.NEW
            else:
                result.status = Status.EXPIRED
        self._after_trades(result)
        return result

    def place_market(self, order_id, side, qty=None, quote_qty=None, limit=None, owner=None, stp=STP_NONE) -> Result:
        if (qty is None) == (quote_qty is None):
            raise ValueError("give exactly one of qty and quote_qty")
        if (qty if qty is not None else quote_qty) <= 0:
            raise ValueError("quantity must be positive")
        bound = limit if limit is not None else (_NO_LIMIT if side == BUY else 1)
        result = self._match(order_id, side, bound, qty if qty is not None else _NO_LIMIT, quote_qty, owner, stp)
        if result.status is None:
            if qty is not None:
                result.status = Status.FILLED if result.remaining == 0 else Status.EXPIRED
            else:  # filled when the quote amount is spent down to less than one lot at the next price;
                # one that could not buy a single lot executed nothing: expired, not filled
                result.status = Status.FILLED if result.remaining == 0 and result.filled else Status.EXPIRED
                result.remaining = 0
        self._after_trades(result)
        return result

    def place_stop(self, order_id, side, kind, stop_price, price, qty, tif=GTC, owner=None, stp=STP_NONE) -> Result:
        """STOP_LOSS(_LIMIT) buys trigger when the last trade price rises to the stop, sells when it
        falls to it; TAKE_PROFIT(_LIMIT) the other way round. Triggered, it becomes a limit order.
        One that would trigger at once is rejected (as Binance does)."""
        if qty <= 0 or price <= 0 or stop_price <= 0:
            raise ValueError("prices and quantity must be positive")
        if order_id in self._index[hash(order_id) & _MASK] or order_id in self.stops:
            raise ValueError(f"order id {order_id!r} is live already")
        if self.last_price is not None and self._triggers(side, kind, stop_price, self.last_price):
            return Result(order_id, Status.REJECTED, 0, qty, [])
        stop = _Stop()
        self._stop_seq += 1
        stop.id, stop.side, stop.kind, stop.stop_price, stop.price, stop.qty = order_id, side, kind, stop_price, price, qty
        stop.tif, stop.owner, stop.stp, stop.seq = tif, owner, stp, self._stop_seq
        self.stops[order_id] = stop
        return Result(order_id, Status.PENDING_TRIGGER, 0, qty, [])

    def cancel(self, order_id):
        order = self._index[hash(order_id) & _MASK].pop(order_id, None)
        if order is None:
            stop = self.stops.pop(order_id, None)
            return None if stop is None else stop.qty
        levels = self.bids if order.side == BUY else self.asks
        level = levels[order.price]
        remaining = order.qty
        level.qty -= remaining
        order.qty = 0  # left in the queue, skipped and dropped when matching reaches it
        if level.qty == 0:
            del levels[order.price]
        return remaining

    def restore(self, order_id, side, price, qty, owner=None) -> None:
        """Put back a resting order when rebuilding a book from storage (in its original time
        order; no matching: a stored book is never crossed)."""
        if order_id in self._index[hash(order_id) & _MASK] or order_id in self.stops:
            raise ValueError(f"order id {order_id!r} is live already")
        self._rest(Order(order_id, side, price, qty, owner))

    def restore_stop(self, order_id, side, kind, stop_price, price, qty, tif=GTC, owner=None, stp=STP_NONE) -> None:
        """Put back a stop order waiting for its trigger (set `last_price` after restoring)."""
        last, self.last_price = self.last_price, None
        try:
            self.place_stop(order_id, side, kind, stop_price, price, qty, tif, owner, stp)
        finally:
            self.last_price = last

    # --- internals -----------------------------------------------------------------------------

    def _rest(self, order: Order) -> None:
        if order.side == BUY:
            level = self.bids.get(order.price)
            if level is None:
                level = self.bids[order.price] = Level()
                heappush(self._bid_heap, -order.price)
        else:
            level = self.asks.get(order.price)
            if level is None:
                level = self.asks[order.price] = Level()
                heappush(self._ask_heap, order.price)
        level.orders.append(order)
        level.qty += order.qty
        self._index[hash(order.id) & _MASK][order.id] = order

    def _fillable(self, side, price, qty, owner, stp) -> int:
        """How much a FOK order could fill at acceptable prices, self-trade prevention included."""
        levels = self.asks if side == BUY else self.bids
        prices = sorted(p for p in levels if (p <= price if side == BUY else p >= price))
        if side == SELL:
            prices.reverse()
        total = 0
        for p in prices:
            for maker in levels[p].orders:
                if maker.qty == 0:
                    continue
                if owner is not None and maker.owner == owner and stp != STP_NONE:
                    if stp == STP_EXPIRE_MAKER:
                        continue
                    return total
                total += maker.qty
                if total >= qty:
                    return total
        return total

    def _match(self, order_id, side, limit, qty, quote_qty, owner, stp) -> Result:
        """Take liquidity up to `limit`; returns a Result whose status is None unless self-trade
        prevention expired the taker."""
        if side == BUY:
            levels, heap, sign = self.asks, self._ask_heap, 1
        else:
            levels, heap, sign = self.bids, self._bid_heap, -1
        index = self._index
        fills = []
        expired = []
        remaining = qty
        quote_left = quote_qty
        quote_filled = 0
        quote_spent = False
        status = None
        while remaining and heap:
            price = heap[0] * sign
            level = levels.get(price)
            if level is None:
                heappop(heap)
                continue
            if (price > limit) if side == BUY else (price < limit):
                break
            queue = level.orders
            while remaining and queue:
                maker = queue[0]
                if maker.qty == 0:
                    queue.popleft()
                    continue
                if owner is not None and maker.owner == owner and stp != STP_NONE:
                    if stp != STP_EXPIRE_TAKER:  # EXPIRE_MAKER or EXPIRE_BOTH: the resting order goes
                        level.qty -= maker.qty
                        maker.qty = 0
                        queue.popleft()
                        del index[hash(maker.id) & _MASK][maker.id]
                        expired.append(maker.id)
                    if stp != STP_EXPIRE_MAKER:
                        status = Status.EXPIRED_IN_MATCH
                        break
                    continue
                trade = maker.qty if maker.qty < remaining else remaining
                if quote_left is not None:
                    affordable = quote_left // price
                    if affordable < trade:
                        trade = affordable
                    if trade == 0:
                        quote_spent, remaining = True, 0  # the quote amount cannot buy one more lot here
                        break
                    quote_left -= trade * price
                    quote_filled += trade * price
                    if quote_left == 0:
                        quote_spent = True
                fills.append((maker.id, price, trade))
                maker.qty -= trade
                level.qty -= trade
                remaining -= trade
                if maker.qty == 0:
                    queue.popleft()
                    del index[hash(maker.id) & _MASK][maker.id]
                if quote_spent:
                    remaining = 0
            if level.qty == 0:
                del levels[price]
                heappop(heap)
            if status is not None:
                break
        filled = sum(f[2] for f in fills) if fills else 0
        if quote_qty is not None:
            # remaining 0 means "the quote amount was used up" (it cannot buy one more lot)
            return Result(order_id, status, filled, 0 if quote_spent else 1, fills, expired, quote_filled)
        return Result(order_id, status, filled, qty - filled, fills, expired, quote_filled)

    @staticmethod
    def _triggers(side, kind, stop_price, last) -> bool:
        rising = (side == BUY) == (kind == STOP_LOSS)
        return last >= stop_price if rising else last <= stop_price

    def _after_trades(self, result: Result) -> None:
        """Record the last price and place the stop orders it triggers, in the order they were
        placed; their trades may trigger more."""
        if not result.fills:
            return
        self.last_price = result.fills[-1][1]
        if not self.stops or self._triggering:
            return
        self._triggering = True
        try:
            self._fire_stops(result)
        finally:
            self._triggering = False

    def _fire_stops(self, result: Result) -> None:
        while True:
            last = self.last_price
            fired = sorted((s for s in self.stops.values() if self._triggers(s.side, s.kind, s.stop_price, last)), key=lambda s: s.seq)
            if not fired:
                return
            for stop in fired:
                del self.stops[stop.id]
                result.triggered.append(self.place_limit(stop.id, stop.side, stop.price, stop.qty, stop.tif, False, stop.owner, stop.stp))
            if self.last_price == last:
                return
