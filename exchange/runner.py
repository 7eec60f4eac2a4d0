"""The engine: the single writer of a market.

`MarketEngine` owns one market's in-memory book (exchange/engine). `apply_batch` reads the next
accepted commands in sequence, applies them to the book and commits everything they caused —
trades, settlement journals with fees, order states, released reservations and the commands'
`applied_at` — in ONE transaction (group commit). If that transaction fails, the book is rebuilt
from the database, so memory never runs ahead of what is committed: an acknowledged command is
applied exactly once. `run_engine` (management command) owns markets through PostgreSQL
advisory locks; embedded mode (SQLite) runs one engine for all markets.
"""
import logging
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from exchange.engine import (
    BUY, FOK, GTC, IOC, SELL, STOP_LOSS, STP_EXPIRE_BOTH, STP_EXPIRE_MAKER, STP_EXPIRE_TAKER, STP_NONE, TAKE_PROFIT, OrderBook, Status,
)
from exchange.marketdata import depth_event, klines_apply, plain, publish, trade_event
from exchange.models import EngineCommand, FeeTier, Market, MarketDepth, Order, Trade
from accounts.models import User
from config.db import ids_allocate, rows_copy, rows_insert, rows_update
from wallets.ledger import PendingJournal, journals_post_many, system_account, user_account
from wallets.models import AccountKind, Entry, Journal, LedgerAccount

log = logging.getLogger(__name__)
DEPTH_LEVELS = 100  # levels a side kept in MarketDepth

SIDES = {Order.Side.BUY: BUY, Order.Side.SELL: SELL}
TIFS = {Order.TimeInForce.GTC: GTC, Order.TimeInForce.IOC: IOC, Order.TimeInForce.FOK: FOK}
STPS = {Order.Stp.NONE: STP_NONE, Order.Stp.EXPIRE_TAKER: STP_EXPIRE_TAKER, Order.Stp.EXPIRE_MAKER: STP_EXPIRE_MAKER,
        Order.Stp.EXPIRE_BOTH: STP_EXPIRE_BOTH}
STOPS = {Order.Type.STOP_LOSS_LIMIT: STOP_LOSS, Order.Type.TAKE_PROFIT_LIMIT: TAKE_PROFIT}
ENDED = {Status.FILLED: Order.Status.FILLED, Status.EXPIRED: Order.Status.EXPIRED, Status.REJECTED: Order.Status.REJECTED,
         Status.EXPIRED_IN_MATCH: Order.Status.EXPIRED_IN_MATCH}


def fee_rates() -> dict[int, tuple[Decimal, Decimal]]:
    return {t.tier: (t.maker_rate, t.taker_rate) for t in FeeTier.objects.all()}


class OwnershipLost(Exception):
    """This engine no longer owns the market (its lock or its view of the market is stale)."""


class MarketEngine:
    def __init__(self, market: Market, *, holds_lock: bool = False):
        """`holds_lock`: this engine was given the market by its advisory lock (run_engine), and
        must find the lock still held before every batch. In-process engines (tests, embedded
        inline use) are fenced by the market's update id alone."""
        self.market = Market.objects.select_related("base", "quote").get(pk=market.pk)
        self.holds_lock = holds_lock
        self.rebuild()

    # --- conversions ---------------------------------------------------------------------------

    def ticks(self, price: Decimal) -> int:
        return int(price / self.market.tick_size)

    def lots(self, qty: Decimal) -> int:
        return int(qty / self.market.step_size)

    def price(self, ticks: int) -> Decimal:
        return ticks * self.market.tick_size

    def qty(self, lots: int) -> Decimal:
        return lots * self.market.step_size

    # --- rebuilding ----------------------------------------------------------------------------

    def rebuild(self) -> None:
        """The book as the database says: resting orders in their time order, then waiting stops."""
        self.market = Market.objects.select_related("base", "quote").get(pk=self.market.pk)
        self.book = OrderBook()
        self.open: dict[int, Order] = {}
        orders = (Order.objects.select_related("user").filter(market=self.market, status__in=[Order.Status.NEW, Order.Status.PARTIALLY_FILLED])
                  .order_by("book_seq", "id"))
        stops = []
        for order in orders:
            self.open[order.pk] = order
            remaining = self.lots(order.quantity - order.executed_qty)
            if order.book_seq is None and order.type in STOPS:
                stops.append(order)
            else:
                self.book.restore(order.pk, SIDES[order.side], self.ticks(order.price), remaining, order.user_id)
        for order in sorted(stops, key=lambda o: o.pk):
            self.book.restore_stop(order.pk, SIDES[order.side], STOPS[order.type], self.ticks(order.stop_price), self.ticks(order.price),
                                   self.lots(order.quantity), TIFS[order.time_in_force], order.user_id, STPS[order.stp_mode])
        last = self.market.trades.order_by("-id").values_list("price", flat=True).first()
        self.book.last_price = self.ticks(last) if last is not None else None
        self.fees = fee_rates()
        base, quote = self.market.base, self.market.quote
        self.assets = {base.pk: base, quote.pk: quote}
        self.fee_accounts = {a.pk: system_account(kind=AccountKind.FEES, asset=a).pk for a in (base, quote)}
        self.account_ids: dict[tuple[int, int], int] = dict(
            ((user_id, asset_id), pk) for pk, user_id, asset_id in
            LedgerAccount.objects.filter(kind=AccountKind.USER, asset__in=[base, quote]).values_list("pk", "user_id", "asset_id"))

    # --- applying commands ---------------------------------------------------------------------

    def apply_batch(self, limit: int = 1000) -> int:
        """Apply up to `limit` pending commands and commit their results together. Returns how
        many were applied."""
        try:
            with transaction.atomic():
                self._fence()
                commands = list(EngineCommand.objects.filter(market=self.market, applied_at__isnull=True)
                                .select_related("order__user").order_by("id")[:limit])
                if not commands:
                    return 0
                self.now = timezone.now()
                self.fees, self.tiers = fee_rates(), {}  # fee changes and tier recomputes apply from the next batch
                levels_before = self._levels()
                self.changed: dict[int, Order] = {}
                self.journals: list[PendingJournal] = []
                self.trades: list[tuple[str, tuple]] = []
                for position, command in enumerate(commands, start=1):
                    self.command, self.trade_count, self.rest_count = command, 0, 0
                    self.command_update_id = self.market.update_id + position
                    if command.kind == EngineCommand.Kind.PLACE:
                        self._place(command.order)
                    else:
                        self._cancel(command.order)
                # Group commit: every journal of the batch in a few statements, then its trades.
                journal_ids = journals_post_many(self.journals, assets=self.assets)
                trade_fields = ["id", "market", "price", "quantity", "quote_quantity", "buy_order", "sell_order", "taker_side", "buyer_fee",
                                "seller_fee", "journal", "created_at"]
                trade_ids = ids_allocate(Trade, len(self.trades)) if connection.vendor == "postgresql" and self.trades else None
                if trade_ids is None:
                    trade_ids = rows_insert(Trade, trade_fields[1:], [[*t[:9], journal_ids[k], t[9]] for k, t in self.trades], returning=True)
                else:
                    rows_copy(Trade, trade_fields, ([tid, *t[:9], journal_ids[k], t[9]] for tid, (k, t) in zip(trade_ids, self.trades)))
                klines_apply(self.market, [(t[1], t[2], t[3]) for _k, t in self.trades], self.now)
                first_update = self.market.update_id + 1
                self.market.update_id += len(commands)
                Market.objects.filter(pk=self.market.pk).update(update_id=self.market.update_id)
                bids, asks = self.book.depth(DEPTH_LEVELS)
                MarketDepth.objects.update_or_create(market=self.market, defaults={
                    "last_update_id": self.market.update_id, "bids": [[self._p(p), self._q(q)] for p, q in bids],
                    "asks": [[self._p(p), self._q(q)] for p, q in asks]})
                rows_update(Order, self.changed.values(), ["status", "executed_qty", "cumulative_quote_qty", "reserved", "book_seq", "updated_at"])
                applied = EngineCommand.objects.filter(pk__in=[c.pk for c in commands], applied_at__isnull=True).update(applied_at=timezone.now())
                if applied != len(commands):
                    raise OwnershipLost(f"{self.market}: {len(commands) - applied} command(s) were applied by someone else")
            self._publish(first_update, levels_before, trade_ids)
        except OwnershipLost:
            raise
        except Exception:
            log.exception("batch failed on %s; rebuilding the book from the database", self.market)
            self.rebuild()
            raise
        return len(commands)

    def _fence(self) -> None:
        """Inside the batch's transaction: the market row is locked and its update id must be the
        one this engine last wrote, and (PostgreSQL) this session must still hold the market's
        advisory lock. Otherwise another engine has taken over: stop before writing anything."""
        from exchange import ownership

        current = Market.objects.select_for_update().filter(pk=self.market.pk).values_list("update_id", flat=True).first()
        if current != self.market.update_id:
            raise OwnershipLost(f"{self.market}: update id {current} in the database, {self.market.update_id} here")
        if self.holds_lock and ownership.shared_locks() and self.market.pk not in ownership.markets_held():
            raise OwnershipLost(f"{self.market}: this session no longer holds the market's lock")

    def _rest_seq(self) -> int:
        """Time priority in the order the engine applied things (not command ids, which are taken
        at insert and may commit out of order): the command's update id, then its rests in order."""
        self.rest_count += 1
        return self.command_update_id * 1000 + self.rest_count

    def _p(self, ticks: int) -> str:
        return plain(self.price(ticks), max(0, -self.market.tick_size.normalize().as_tuple().exponent))

    def _q(self, lots: int) -> str:
        return plain(self.qty(lots), max(0, -self.market.step_size.normalize().as_tuple().exponent))

    def _levels(self) -> tuple[dict, dict]:
        return ({p: level.qty for p, level in self.book.bids.items()}, {p: level.qty for p, level in self.book.asks.items()})

    def _publish(self, first_update: int, before: tuple[dict, dict], trade_ids: list[int]) -> None:
        """After commit: trades and the depth diff on Binance's stream names (never undoes a batch)."""
        symbol = self.market.symbol.lower()
        events = []
        for trade_id, (_key, t) in zip(trade_ids or [], self.trades):
            buyer_is_maker = t[6] == Order.Side.SELL
            events.append((f"{symbol}@trade", trade_event(self.market.symbol, trade_id, t[1], t[2], self.now, buyer_is_maker)))
        after = self._levels()
        changes = []
        for side_before, side_after in zip(before, after):
            changes.append(sorted([self._p(p), self._q(side_after.get(p, 0))] for p in set(side_before) | set(side_after)
                                  if side_before.get(p) != side_after.get(p)))
        if changes[0] or changes[1]:
            events.append((f"{symbol}@depth", depth_event(self.market.symbol, first_update, self.market.update_id, changes[0], changes[1], self.now)))
        try:
            publish(events)
        except Exception:  # a lost event is recovered by the next snapshot; the batch is committed
            log.exception("publishing %s events failed", self.market.symbol)

    def apply_all(self) -> int:
        total = 0
        while applied := self.apply_batch():
            total += applied
        return total

    def _touch(self, order: Order) -> Order:
        order.updated_at = timezone.now()
        self.changed[order.pk] = order
        return order

    def _place(self, order: Order) -> None:
        if order.status != Order.Status.PENDING_NEW:
            return
        self._touch(order)
        side, owner, stp = SIDES[order.side], order.user_id, STPS[order.stp_mode]
        book = self.book
        if order.type in STOPS:
            result = book.place_stop(order.pk, side, STOPS[order.type], self.ticks(order.stop_price), self.ticks(order.price),
                                     self.lots(order.quantity), TIFS[order.time_in_force], owner, stp)
            if result.status == Status.REJECTED:
                self._end(order, Order.Status.REJECTED)
            else:
                order.status = Order.Status.NEW
                self.open[order.pk] = order
            return
        if order.type == Order.Type.MARKET:
            if order.quote_quantity is not None:
                quote_units = int(order.quote_quantity / (self.market.tick_size * self.market.step_size))
                result = book.place_market(order.pk, side, quote_qty=quote_units, limit=self.ticks(order.price), owner=owner, stp=stp)
            else:
                result = book.place_market(order.pk, side, qty=self.lots(order.quantity), limit=self.ticks(order.price), owner=owner, stp=stp)
        else:
            result = book.place_limit(order.pk, side, self.ticks(order.price), self.lots(order.quantity), TIFS[order.time_in_force],
                                      order.type == Order.Type.LIMIT_MAKER, owner, stp)
        self._result(order, result)

    def _result(self, order: Order, result) -> None:
        for n, (maker_id, price_ticks, lots) in enumerate(result.fills):
            self._fill(order, self.open[maker_id], self.price(price_ticks), self.qty(lots))
        for maker_id in result.expired_makers:
            self._end(self._touch(self.open[maker_id]), Order.Status.EXPIRED_IN_MATCH)
        if result.status in ENDED:
            self._end(order, ENDED[result.status])
        else:  # resting
            order.status = Order.Status.PARTIALLY_FILLED if result.filled else Order.Status.NEW
            if order.book_seq is None:
                order.book_seq = self._rest_seq()
            self.open[order.pk] = order
            if order.side == Order.Side.BUY:  # a price improvement frees quote now, not when the order ends
                excess = order.reserved - (order.quantity - order.executed_qty) * order.price
                if excess > 0:
                    self._release(order, excess, f"order-{order.pk}-improved-{self.command.pk}", f"order #{order.pk} price improvement")
        for triggered in result.triggered:
            stop_order = self._touch(self.open[triggered.order_id])
            self._result(stop_order, triggered)

    def _cancel(self, order: Order) -> None:
        live = self.open.get(order.pk)
        if live is None or self.book.cancel(order.pk) is None:
            return  # already ended: nothing to cancel
        self._end(self._touch(live), Order.Status.CANCELED)

    def _end(self, order: Order, status: str) -> None:
        order.status = status
        self.open.pop(order.pk, None)
        if order.reserved > 0:
            self._release(order, order.reserved, f"order-{order.pk}-release", f"order #{order.pk} {status.lower()}")

    def _fill(self, taker: Order, maker: Order, price: Decimal, qty: Decimal) -> None:
        """Settle one fill: a balanced journal moves base and quote out of the two reservations,
        fees (rounded down: never more than the published rate) go to the fee account."""
        market = self.market
        base, quote = market.base, market.quote
        buyer, seller = (taker, maker) if taker.side == Order.Side.BUY else (maker, taker)
        notional = price * qty
        buyer_rate = self._rate(buyer, maker=buyer is maker)
        seller_rate = self._rate(seller, maker=seller is maker)
        buyer_fee = (qty * buyer_rate).quantize(base.quantum, rounding=ROUND_DOWN)
        seller_fee = (notional * seller_rate).quantize(quote.quantum, rounding=ROUND_DOWN)
        lines = [
            (self._account(buyer.user_id, quote), Entry.Bucket.LOCKED, -notional),
            (self._account(buyer.user_id, base), Entry.Bucket.AVAILABLE, qty - buyer_fee),
            (self._account(seller.user_id, base), Entry.Bucket.LOCKED, -qty),
            (self._account(seller.user_id, quote), Entry.Bucket.AVAILABLE, notional - seller_fee),
        ]
        if buyer_fee:
            lines.append((self.fee_accounts[base.pk], Entry.Bucket.AVAILABLE, buyer_fee))
        if seller_fee:
            lines.append((self.fee_accounts[quote.pk], Entry.Bucket.AVAILABLE, seller_fee))
        self.trade_count += 1
        key = f"trade-{self.command.pk}-{self.trade_count}"
        self.journals.append(PendingJournal(Journal.Kind.TRADE, key, f"{market.symbol} {qty} @ {price}", [line for line in lines if line[2]]))
        self.trades.append((key, (market.pk, price, qty, notional, buyer.pk, seller.pk, taker.side, buyer_fee, seller_fee, self.now)))
        for order, consumed in ((buyer, notional), (seller, qty)):
            self._touch(order)
            order.executed_qty += qty
            order.cumulative_quote_qty += notional
            order.reserved -= consumed
        if maker.executed_qty == maker.quantity:
            self._end(maker, Order.Status.FILLED)
        else:
            maker.status = Order.Status.PARTIALLY_FILLED

    def _release(self, order: Order, amount: Decimal, key: str, memo: str) -> None:
        account = self._account(order.user_id, self.assets[order.reserved_asset_id])
        self.journals.append(PendingJournal(Journal.Kind.RELEASE, key, memo,
                                            [(account, Entry.Bucket.LOCKED, -amount), (account, Entry.Bucket.AVAILABLE, amount)]))
        order.reserved -= amount

    def _account(self, user_id: int, asset) -> int:
        key = (user_id, asset.pk)
        pk = self.account_ids.get(key)
        if pk is None:
            pk = self.account_ids[key] = user_account(user=User(pk=user_id), asset=asset).pk
        return pk

    def _rate(self, order: Order, maker: bool) -> Decimal:
        tier = self.tiers.get(order.user_id)
        if tier is None:
            tier = self.tiers[order.user_id] = User.objects.filter(pk=order.user_id).values_list("vip_tier", flat=True).first() or 0
        maker_rate, taker_rate = self.fees.get(tier, self.fees.get(0, (Decimal(0), Decimal(0))))
        return maker_rate if maker else taker_rate


# --- in-process (embedded and test) engines --------------------------------------------------------

_ENGINES: dict[int, MarketEngine] = {}


def engine_for(market_id: int) -> MarketEngine:
    engine = _ENGINES.get(market_id)
    if engine is None:
        engine = _ENGINES[market_id] = MarketEngine(Market.objects.get(pk=market_id))
    return engine


def engines_reset() -> None:
    _ENGINES.clear()


def engine_wake(market_id: int) -> None:
    """Called after an order or cancel commits. With ENGINE_INLINE (tests, and embedded single-process
    use) the command is applied here and now; otherwise the engine process picks it up."""
    if getattr(settings, "ENGINE_INLINE", False):
        engine_for(market_id).apply_all()
