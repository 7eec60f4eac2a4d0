"""A minimal reference book: the obvious, slow implementation (sorted lists, linear scans).

Benchmarks run it on the same operation list as OrderBook and compare the total filled quantity;
property tests use it as the model. Supports LIMIT GTC/IOC/FOK, MARKET by quantity with a bound,
and cancel, without self-trade prevention or stops."""

from bisect import insort

from exchange.engine.book import BUY, FOK, GTC, IOC


class ReferenceBook:
    def __init__(self):
        self.bids = []  # [(-price, seq, id)], best first
        self.asks = []  # [(price, seq, id)]
        self.qty = {}  # id -> remaining
        self.side = {}
        self.seq = 0

    def place_limit(self, order_id, side, price, qty, tif=GTC):
        book = self.asks if side == BUY else self.bids
        crosses = (lambda p: p <= price) if side == BUY else (lambda p: p >= price)
        if tif == FOK:
            available = sum(self.qty[oid] for key, _s, oid in book if crosses(abs(key)))
            if available < qty:
                return []
        fills = self._take(book, crosses, qty)
        left = qty - sum(q for _m, _p, q in fills)
        if left and tif == GTC:
            self.seq += 1
            insort(self.bids if side == BUY else self.asks, ((-price if side == BUY else price), self.seq, order_id))
            self.qty[order_id], self.side[order_id] = left, side
        return fills

    def place_market(self, order_id, side, qty, limit=None):
        book = self.asks if side == BUY else self.bids
        if limit is None:
            crosses = lambda p: True  # noqa: E731
        else:
            crosses = (lambda p: p <= limit) if side == BUY else (lambda p: p >= limit)
        return self._take(book, crosses, qty)

    def _take(self, book, crosses, qty):
        fills = []
        while qty and book and crosses(abs(book[0][0])):
            key, _seq, maker = book[0]
            trade = min(qty, self.qty[maker])
            fills.append((maker, abs(key), trade))
            qty -= trade
            self.qty[maker] -= trade
            if self.qty[maker] == 0:
                book.pop(0)
                del self.qty[maker], self.side[maker]
        return fills

    def cancel(self, order_id):
        if order_id not in self.qty:
            return None
        book = self.bids if self.side[order_id] == BUY else self.asks
        for i, entry in enumerate(book):
            if entry[2] == order_id:
                del book[i]
                break
        del self.side[order_id]
        return self.qty.pop(order_id)

    def depth(self, n=20):
        def levels(book):
            out = {}
            for key, _s, oid in book:
                out[abs(key)] = out.get(abs(key), 0) + self.qty[oid]
            return list(out.items())[:n]

        return levels(self.bids), levels(self.asks)


__all__ = ["ReferenceBook", "IOC"]
