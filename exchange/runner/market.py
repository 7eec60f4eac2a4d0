"""The market engine: the single writer of a market (see exchange/runner/__init__.py for the package).

`MarketEngine` owns one market's in-memory book (exchange/engine). `apply_batch` reads the next
accepted commands in sequence, applies them to the book and commits everything they caused —
trades, settlement journals with fees, order states, released reservations and the commands'
`applied_at` — in ONE transaction (group commit). If that transaction fails, the book is rebuilt
from the database, so memory never runs ahead of what is committed: an acknowledged command is
applied exactly once. The loop (exchange/runner/loop.py, run by `manage.py run_engine`) owns
markets through PostgreSQL advisory locks; embedded mode (SQLite) runs one engine for all markets.
"""

import logging
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from config.db import ids_allocate, rows_copy, rows_insert, rows_update
from config.formatting import amount_plain
from exchange.engine import (
    BUY,
    FOK,
    GTC,
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
from exchange.engine.settlement import BASE, OTHER, QUOTE, fee_in_token, fee_rate, fee_round
from exchange.marketdata import klines_apply
from exchange.models import EngineCommand, FeeTier, Market, MarketDepth, Order, Trade
from exchange.runner.batch import Batch, Fill
from exchange.runner.intake import Intake, commands_mark_applied
from exchange.runner.publishing import Publisher, level_plain
from exchange.selectors import fee_token, fee_token_discount
from wallets.ledger import PendingJournal, accounts_lock, journals_post_many, system_account, user_account
from wallets.models import AccountKind, Entry, Journal, LedgerAccount
from wallets.selectors import usdt_prices

log = logging.getLogger(__name__)
DEPTH_LEVELS = 100  # levels a side kept in MarketDepth
SEQ_SLOTS = 1_000_000  # rests one command may cause (a stop cascade), within one update id's sequence numbers

SIDES = {Order.Side.BUY: BUY, Order.Side.SELL: SELL}
TIFS = {Order.TimeInForce.GTC: GTC, Order.TimeInForce.IOC: IOC, Order.TimeInForce.FOK: FOK}
STPS = {
    Order.Stp.NONE: STP_NONE,
    Order.Stp.EXPIRE_TAKER: STP_EXPIRE_TAKER,
    Order.Stp.EXPIRE_MAKER: STP_EXPIRE_MAKER,
    Order.Stp.EXPIRE_BOTH: STP_EXPIRE_BOTH,
}
STOPS = {Order.Type.STOP_LOSS_LIMIT: STOP_LOSS, Order.Type.TAKE_PROFIT_LIMIT: TAKE_PROFIT}
ENDED = {
    Status.FILLED: Order.Status.FILLED,
    Status.EXPIRED: Order.Status.EXPIRED,
    Status.REJECTED: Order.Status.REJECTED,
    Status.EXPIRED_IN_MATCH: Order.Status.EXPIRED_IN_MATCH,
}


def fee_rates() -> dict[int, tuple[Decimal, Decimal]]:
    return {t.tier: (t.maker_rate, t.taker_rate) for t in FeeTier.objects.all()}


class _Phases:
    """Adds the time since the previous call to `totals[name]`."""

    def __init__(self, totals: dict[str, float]):
        self.totals, self.last = totals, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.totals[name] = self.totals.get(name, 0.0) + now - self.last
        self.last = now


class OwnershipLost(Exception):
    """This engine no longer owns the market (its lock or its view of the market is stale)."""


class MarketEngine:
    def __init__(self, market: Market, *, holds_lock: bool = False):
        """`holds_lock`: this engine was given the market by its advisory lock (run_engine), and
        must find the lock still held before every batch. In-process engines (tests, embedded
        inline use) are fenced by the market's update id alone."""
        self.market = Market.objects.select_related("base", "quote").get(pk=market.pk)
        self.holds_lock = holds_lock
        self.publisher = Publisher()  # its depth chain starts in rebuild()
        self.intake = Intake(market.pk)
        self.batch: Batch | None = None  # the batch being applied, or the last one (published after its commit)
        self.phases: dict[str, float] = {}  # seconds spent in each part of apply_batch, summed (bench_engine prints them)
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
        orders = Order.objects.filter(market=self.market, status__in=[Order.Status.NEW, Order.Status.PARTIALLY_FILLED]).order_by(
            "book_seq", "id"
        )
        stops = []
        for order in orders:
            self.open[order.pk] = order
            remaining = self.lots(order.quantity - order.executed_qty)
            if order.book_seq is None and order.type in STOPS:
                stops.append(order)
            else:
                self.book.restore(order.pk, SIDES[order.side], self.ticks(order.price), remaining, order.user_id)
        for order in sorted(stops, key=lambda o: (o.stop_seq or 0, o.pk)):  # in the order the engine accepted them
            self.book.restore_stop(
                order.pk,
                SIDES[order.side],
                STOPS[order.type],
                self.ticks(order.stop_price),
                self.ticks(order.price),
                self.lots(order.quantity),
                TIFS[order.time_in_force],
                order.user_id,
                STPS[order.stp_mode],
            )
        self.publisher.depth_restart(self.market.update_id)
        last = self.market.trades.order_by("-id").values_list("price", flat=True).first()
        self.book.last_price = self.ticks(last) if last is not None else None
        base, quote = self.market.base, self.market.quote
        self.fee_token = fee_token()
        self.assets = {a.pk: a for a in (base, quote, self.fee_token) if a is not None}
        self.fee_accounts = {pk: system_account(kind=AccountKind.FEES, asset=a).pk for pk, a in self.assets.items()}
        self.token_discount = 1 - fee_token_discount()
        self.account_ids: dict[tuple[int, int], int] = {
            (user_id, asset_id): pk
            for pk, user_id, asset_id in LedgerAccount.objects.filter(kind=AccountKind.USER, asset__in=[base, quote]).values_list(
                "pk", "user_id", "asset_id"
            )
        }

    # --- applying commands ---------------------------------------------------------------------

    def apply_batch(self, limit: int = 1000) -> int:
        """Apply up to `limit` pending commands and commit their results together. Returns how
        many were applied."""
        clock = _Phases(self.phases)
        try:
            with transaction.atomic():
                self._fence()
                commands = self.intake.pending(limit)
                if not commands:
                    return 0
                batch = self.batch = Batch(
                    now=timezone.now(),
                    fees=fee_rates(),  # fee changes, tier recomputes and fee-token choices apply from the next batch
                    update_id=self.market.update_id,
                )
                owners = User.objects.filter(pk__in={c.order.user_id for c in commands}).values_list(
                    "pk", "vip_tier", "pay_fees_in_platform_token", "frozen_at", "is_active"
                )
                for pk, tier, token, frozen_at, active in owners:
                    batch.payers[pk] = (tier, token)
                    if frozen_at is not None or not active:
                        batch.frozen.add(pk)
                # A freeze cancels the account's orders with commands that may lie beyond this batch:
                # its resting orders leave the book before anything in this batch can match them.
                batch.frozen |= self.intake.freezes_pending()
                clock("read")
                self._accounts_ensure({c.order.user_id for c in commands})
                self._cancel_frozen()
                for position, command in enumerate(commands, start=1):
                    batch.command_begin(position, command)
                    if command.kind == EngineCommand.Kind.PLACE:
                        self._place(command.order)
                    else:
                        self._cancel(command.order, command.reason)
                clock("match")
                # Locks in the one order (docs/architecture.md "Lock order"): the market (fenced above),
                # the orders, the ledger accounts by key, the klines.
                rows_update(
                    Order,
                    self.batch.changed.values(),
                    ["status", "executed_qty", "cumulative_quote_qty", "reserved", "book_seq", "stop_seq", "reason", "updated_at"],
                )
                clock("orders")
                # Group commit: every journal of the batch in a few statements, then its trades.
                locked = self._settle()
                journal_ids = journals_post_many(self.batch.journals, assets=self.assets, locked=locked)
                clock("ledger")
                trade_fields = [
                    "id",
                    "market",
                    "price",
                    "quantity",
                    "quote_quantity",
                    "buy_order",
                    "sell_order",
                    "taker_side",
                    "buyer_fee",
                    "buyer_fee_asset",
                    "seller_fee",
                    "seller_fee_asset",
                    "journal",
                    "created_at",
                ]
                rows = [
                    [
                        self.market.pk,
                        f.price,
                        f.qty,
                        f.notional,
                        f.buyer.pk,
                        f.seller.pk,
                        f.taker_side,
                        f.fees[0][1],
                        f.fees[0][0].pk,
                        f.fees[1][1],
                        f.fees[1][0].pk,
                        journal_ids[f.journal.idempotency_key],
                        self.batch.now,
                    ]
                    for f in self.batch.fills
                ]
                trade_ids = ids_allocate(Trade, len(rows)) if connection.vendor == "postgresql" and rows else None
                if trade_ids is None:
                    trade_ids = rows_insert(Trade, trade_fields[1:], rows, returning=True)
                else:
                    rows_copy(Trade, trade_fields, ([tid, *row] for tid, row in zip(trade_ids, rows)))
                clock("trades")
                klines = klines_apply(
                    self.market, [(f.price, f.qty, f.notional, tid) for f, tid in zip(self.batch.fills, trade_ids)], self.batch.now
                )
                self.market.update_id += len(commands)
                Market.objects.filter(pk=self.market.pk).update(update_id=self.market.update_id)
                bids, asks = self.book.depth(DEPTH_LEVELS)
                snapshot = {
                    "last_update_id": self.market.update_id,
                    "bids": [level_plain(self.market, p, q) for p, q in bids],
                    "asks": [level_plain(self.market, p, q) for p, q in asks],
                    "updated_at": self.batch.now,
                }
                if not MarketDepth.objects.filter(market=self.market).update(**snapshot):
                    MarketDepth.objects.create(market=self.market, **snapshot)
                clock("market data")
                applied = commands_mark_applied([c.pk for c in commands])
                if applied != len(commands):
                    raise OwnershipLost(f"{self.market}: {len(commands) - applied} command(s) were applied by someone else")
                clock("commands")
            clock("commit")
            self.applied_ids = [c.pk for c in commands]
            self.publisher.batch_publish(market=self.market, book=self.book, batch=self.batch, trade_ids=trade_ids, klines=klines)
            clock("publish")
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

        current, status, tick, step = (
            Market.objects.select_for_update(no_key=True)
            .filter(pk=self.market.pk)
            .values_list("update_id", "status", "tick_size", "step_size")
            .first()
        )
        if current != self.market.update_id:
            raise OwnershipLost(f"{self.market}: update id {current} in the database, {self.market.update_id} here")
        self.market.status = status  # read under the lock: a halt commits between batches
        if (tick, step) != (self.market.tick_size, self.market.step_size):
            # An operator changed the steps (market_save allows it only with nothing resting): the book
            # counts in ticks and lots, so it is rebuilt in the new ones before anything is converted.
            self.rebuild()
        if self.holds_lock and ownership.shared_locks() and self.market.pk not in ownership.markets_held():
            raise OwnershipLost(f"{self.market}: this session no longer holds the market's lock")

    def _rest_seq(self) -> int:
        """Time priority in the order the engine applied things (not command ids, which are taken
        at insert and may commit out of order): the command's update id, then its rests in order."""
        self.batch.rest_count += 1
        if self.batch.rest_count >= SEQ_SLOTS:
            raise RuntimeError(f"{self.market}: one command rested {self.batch.rest_count} orders; sequence numbers would collide")
        return self.batch.command_update_id * SEQ_SLOTS + self.batch.rest_count

    # --- publishing (exchange/runner/publishing.py) ---------------------------------------------

    def periodic_publish(self) -> bool:
        """The once-a-second ticker and changed candles, if due (the loop calls this when idle)."""
        return self.publisher.periodic_publish(self.market)

    def apply_all(self) -> int:
        total = 0
        while applied := self.apply_batch():
            total += applied
        return total

    def _touch(self, order: Order) -> Order:
        order.updated_at = timezone.now()
        self.batch.changed[order.pk] = order
        return order

    def _cancel_frozen(self) -> None:
        """Take every resting order and waiting stop of a frozen account out of the book first."""
        if self.batch.frozen:
            for order in [o for o in self.open.values() if o.user_id in self.batch.frozen]:
                self._cancel(order, Order.Reason.ACCOUNT_FROZEN)

    def _on_steps(self, order: Order) -> bool:
        """Prices on the market's tick and quantities on its step, as they are now (an order checked
        by order_place against the old ones must not be truncated into the new ones)."""
        tick, step = self.market.tick_size, self.market.step_size
        prices = [p for p in (order.price, order.stop_price) if p is not None]
        return all(p % tick == 0 for p in prices) and (order.quantity is None or order.quantity % step == 0)

    def _place(self, order: Order) -> None:
        if order.status != Order.Status.PENDING_NEW:
            return
        self._touch(order)
        if order.user_id in self.batch.frozen:  # frozen between acceptance and now: never matched
            order.reason = Order.Reason.ACCOUNT_FROZEN
            self._end(order, Order.Status.CANCELED)
            return
        if self.market.status != Market.Status.TRADING:  # halted after acceptance: expired, funds released
            order.reason = Order.Reason.MARKET_HALTED
            self._end(order, Order.Status.EXPIRED)
            return
        if not self._on_steps(order):  # accepted under a tick or step the operator has since changed
            order.reason = Order.Reason.MARKET_CHANGED
            self._end(order, Order.Status.EXPIRED)
            return
        side, owner, stp = SIDES[order.side], order.user_id, STPS[order.stp_mode]
        book = self.book
        if order.type in STOPS:
            result = book.place_stop(
                order.pk,
                side,
                STOPS[order.type],
                self.ticks(order.stop_price),
                self.ticks(order.price),
                self.lots(order.quantity),
                TIFS[order.time_in_force],
                owner,
                stp,
            )
            if result.status == Status.REJECTED:
                self._end(order, Order.Status.REJECTED)
            else:
                order.status = Order.Status.NEW
                order.stop_seq = self._rest_seq()
                self.open[order.pk] = order
            return
        if order.type == Order.Type.MARKET:
            if order.quote_quantity is not None:
                quote_units = int(order.quote_quantity / (self.market.tick_size * self.market.step_size))
                result = book.place_market(order.pk, side, quote_qty=quote_units, limit=self.ticks(order.price), owner=owner, stp=stp)
            else:
                result = book.place_market(
                    order.pk, side, qty=self.lots(order.quantity), limit=self.ticks(order.price), owner=owner, stp=stp
                )
        else:
            result = book.place_limit(
                order.pk,
                side,
                self.ticks(order.price),
                self.lots(order.quantity),
                TIFS[order.time_in_force],
                order.type == Order.Type.LIMIT_MAKER,
                owner,
                stp,
            )
        self._result(order, result)

    def _result(self, order: Order, result) -> None:
        opposite = Order.Side.SELL if order.side == Order.Side.BUY else Order.Side.BUY
        for maker_id, price_ticks, lots in result.fills:
            self.batch.touched.add((opposite, price_ticks))
            self._fill(order, self.open[maker_id], self.price(price_ticks), self.qty(lots))
        for maker_id in result.expired_makers:
            maker = self.open[maker_id]
            self.batch.touched.add((maker.side, self.ticks(maker.price)))
            self._end(self._touch(maker), Order.Status.EXPIRED_IN_MATCH)
        if result.status in ENDED:
            self._end(order, ENDED[result.status])
        else:  # resting
            self.batch.touched.add((order.side, self.ticks(order.price)))
            order.status = Order.Status.PARTIALLY_FILLED if result.filled else Order.Status.NEW
            if order.book_seq is None:
                order.book_seq = self._rest_seq()
            self.open[order.pk] = order
            if order.side == Order.Side.BUY:  # a price improvement frees quote now, not when the order ends
                excess = order.reserved - (order.quantity - order.executed_qty) * order.price
                if excess > 0:
                    self._release(
                        order, excess, f"order-{order.pk}-improved-{self.batch.command.pk}", f"order #{order.pk} price improvement"
                    )
        for triggered in result.triggered:
            stop_order = self._touch(self.open[triggered.order_id])
            self._result(stop_order, triggered)

    def _cancel(self, order: Order, reason: str = "") -> None:
        live = self.open.get(order.pk)
        if live is None or self.book.cancel(order.pk) is None:
            return  # already ended: nothing to cancel
        self.batch.touched.add(
            (live.side, self.ticks(live.price))
        )  # a waiting stop is in no level: a harmless repeat of its quantity there
        live.reason = reason
        self._end(self._touch(live), Order.Status.CANCELED)

    def _end(self, order: Order, status: str) -> None:
        order.status = status
        self.open.pop(order.pk, None)
        if order.reserved > 0:
            self._release(order, order.reserved, f"order-{order.pk}-release", f"order #{order.pk} {status.lower()}")

    def _fill(self, taker: Order, maker: Order, price: Decimal, qty: Decimal) -> None:
        """Record one fill: its journal moves base and quote out of the two reservations; the fees
        are decided at commit (`_settle`)."""
        market = self.market
        buyer, seller = (taker, maker) if taker.side == Order.Side.BUY else (maker, taker)
        notional = price * qty
        self.batch.trade_count += 1
        key = f"trade-{self.batch.command.pk}-{self.batch.trade_count}"
        fill = Fill(
            PendingJournal(Journal.Kind.TRADE, key, f"{market.symbol} {amount_plain(qty)} @ {amount_plain(price)}", []),
            price,
            qty,
            notional,
            buyer,
            seller,
            taker.side,
            [],
        )
        self.batch.fills.append(fill)
        self.batch.journals.append(fill.journal)
        for order, consumed in ((buyer, notional), (seller, qty)):
            self._touch(order)
            order.executed_qty += qty
            order.cumulative_quote_qty += notional
            order.reserved -= consumed
        if maker.executed_qty == maker.quantity:
            self._end(maker, Order.Status.FILLED)
        else:
            maker.status = Order.Status.PARTIALLY_FILLED

    def _settle(self) -> dict[int, LedgerAccount]:
        """At commit: work out each fill's fees, lock every account the batch touches in
        primary-key order (one statement), decide which fees are paid in the platform token, and
        write each fill's journal lines. Returns the locked accounts.

        A fee is the payer's tier rate on what it receives, rounded down (never above the
        published rate), taken from what it receives: the buyer's in base, the seller's in quote.
        A payer who chose the platform token pays the fee's worth at the fill's price in the quote
        asset, converted at the USDT prices of wallets.selectors.usdt_prices unless the token is
        this market's own base or quote, less the discount, rounded down to the token's precision:
        if that is above zero and the payer's available token at the lock, less what this batch
        already charged, covers it; otherwise the fee stays in the received asset at the full rate.
        Tokens this batch credits are not counted, so the batch never overdraws."""
        base, quote, token = self.market.base, self.market.quote, self.fee_token
        unread = {o.user_id for f in self.batch.fills for o in (f.buyer, f.seller)} - self.batch.payers.keys()
        if unread:  # makers the batch's commands did not bring in: one query for all of them
            self.batch.payers.update(
                (pk, (tier, pays))
                for pk, tier, pays in User.objects.filter(pk__in=unread).values_list("pk", "vip_tier", "pay_fees_in_platform_token")
            )
        candidates: list[tuple[Fill, int, int, Decimal]] = []  # (fill, side 0 buyer / 1 seller, user, fee before rounding)
        credited: set[int] = set()  # assets whose fee account this batch may credit
        for fill in self.batch.fills:
            buyer_is_maker = fill.taker_side == Order.Side.SELL
            raw = [
                fill.qty * self._rate(fill.buyer, maker=buyer_is_maker),
                fill.notional * self._rate(fill.seller, maker=not buyer_is_maker),
            ]
            fill.fees = [[base, fee_round(raw[0], base.quantum)], [quote, fee_round(raw[1], quote.quantum)]]
            for side, order in enumerate((fill.buyer, fill.seller)):
                if raw[side] and token is not None and self._payer(order.user_id)[1]:
                    if fill.fees[side][0] == token:  # the fee is in the token anyway: the discount, nothing to check
                        fill.fees[side][1] = fee_round(raw[side] * self.token_discount, token.quantum)
                    else:
                        candidates.append((fill, side, order.user_id, raw[side]))
                        credited.add(token.pk)
                if fill.fees[side][1]:
                    credited.add(fill.fees[side][0].pk)
        token_accounts: dict[int, int] = {}
        if candidates:
            token_accounts = dict(
                LedgerAccount.objects.filter(kind=AccountKind.USER, asset=token, user_id__in={c[2] for c in candidates}).values_list(
                    "user_id", "pk"
                )
            )
        ids = {pk for journal in self.batch.journals for pk, _b, _a in journal.lines} | {self.fee_accounts[a] for a in credited}
        ids |= set(token_accounts.values())
        self._accounts_ensure({o.user_id for f in self.batch.fills for o in (f.buyer, f.seller)})
        ids |= {
            self._account(order.user_id, asset)
            for fill in self.batch.fills
            for order in (fill.buyer, fill.seller)
            for asset in (base, quote)
        }
        locked = accounts_lock(ids)
        if token_accounts:
            budget = {pk: locked[pk].available for pk in token_accounts.values()}
            token_is = QUOTE if token == quote else BASE if token == base else OTHER
            prices = usdt_prices(self.assets.values()) if token_is == OTHER else {}
            for fill, side, user_id, raw in candidates:
                account = token_accounts.get(user_id)
                amount = fee_in_token(
                    raw=raw,
                    paid_by_buyer=side == 0,
                    price=fill.price,
                    discount_factor=self.token_discount,
                    token_is=token_is,
                    quantum=token.quantum,
                    quote_usdt=prices.get(quote.pk),
                    token_usdt=prices.get(token.pk),
                )
                # no price for the token: the fee stays in the received asset
                if amount is not None and account is not None and 0 < amount <= budget[account]:
                    budget[account] -= amount
                    fill.fees[side] = [token, amount]
        for fill in self.batch.fills:
            fill.journal.lines = self._trade_lines(fill, token_accounts)
        return locked

    def _trade_lines(self, fill: Fill, token_accounts: dict[int, int]) -> list[tuple[int, str, Decimal]]:
        base, quote = self.market.base, self.market.quote
        buyer, seller = fill.buyer.user_id, fill.seller.user_id
        (buyer_fee_asset, buyer_fee), (seller_fee_asset, seller_fee) = fill.fees
        lines = [
            (self._account(buyer, quote), Entry.Bucket.LOCKED, -fill.notional),
            (self._account(buyer, base), Entry.Bucket.AVAILABLE, fill.qty - (buyer_fee if buyer_fee_asset == base else 0)),
            (self._account(seller, base), Entry.Bucket.LOCKED, -fill.qty),
            (self._account(seller, quote), Entry.Bucket.AVAILABLE, fill.notional - (seller_fee if seller_fee_asset == quote else 0)),
        ]
        for user_id, asset, fee, native in ((buyer, buyer_fee_asset, buyer_fee, base), (seller, seller_fee_asset, seller_fee, quote)):
            if fee:
                lines.append((self.fee_accounts[asset.pk], Entry.Bucket.AVAILABLE, fee))
                if asset != native:  # paid in the platform token
                    lines.append((token_accounts[user_id], Entry.Bucket.AVAILABLE, -fee))
        return [line for line in lines if line[2]]

    def _release(self, order: Order, amount: Decimal, key: str, memo: str) -> None:
        account = self._account(order.user_id, self.assets[order.reserved_asset_id])
        self.batch.journals.append(
            PendingJournal(
                Journal.Kind.RELEASE, key, memo, [(account, Entry.Bucket.LOCKED, -amount), (account, Entry.Bucket.AVAILABLE, amount)]
            )
        )
        order.reserved -= amount

    def _accounts_ensure(self, user_ids: set[int]) -> None:
        """The base and quote accounts of these users known (created if missing) in two statements
        for any number of users, so a batch's statements do not grow with its new traders."""
        base, quote = self.market.base_id, self.market.quote_id
        missing = {user_id for user_id in user_ids if (user_id, base) not in self.account_ids or (user_id, quote) not in self.account_ids}
        if not missing:
            return
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(kind=AccountKind.USER, user_id=user_id, asset_id=asset)
                for user_id in sorted(missing)
                for asset in (base, quote)
            ],
            ignore_conflicts=True,  # the one-account-per-user-and-asset constraint keeps the existing ones
        )
        self.account_ids.update(
            ((user_id, asset_id), pk)
            for pk, user_id, asset_id in LedgerAccount.objects.filter(
                kind=AccountKind.USER, user_id__in=missing, asset_id__in=[base, quote]
            ).values_list("pk", "user_id", "asset_id")
        )

    def _account(self, user_id: int, asset) -> int:
        key = (user_id, asset.pk)
        pk = self.account_ids.get(key)
        if pk is None:
            pk = self.account_ids[key] = user_account(user=User(pk=user_id), asset=asset).pk
        return pk

    def _payer(self, user_id: int) -> tuple[int, bool]:
        """The user's VIP tier and whether they pay fees in the platform token (read once a batch;
        `apply_batch` and `_settle` read them in bulk, this is the fallback)."""
        payer = self.batch.payers.get(user_id)
        if payer is None:
            payer = self.batch.payers[user_id] = User.objects.filter(pk=user_id).values_list(
                "vip_tier", "pay_fees_in_platform_token"
            ).first() or (0, False)
        return payer

    def _rate(self, order: Order, maker: bool) -> Decimal:
        return fee_rate(self.batch.fees, self._payer(order.user_id)[0], maker=maker)


def gc_settle() -> None:
    """For engine processes, after (re)building books: move everything alive now out of the
    collector's way (gc.freeze) and collect the young generation less often, so a full
    collection over tens of thousands of resting orders does not stall a batch."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


# --- in-process (embedded and test) engines --------------------------------------------------------

_ENGINES: dict[int, MarketEngine] = {}


def engine_for(market_id: int) -> MarketEngine:
    engine = _ENGINES.get(market_id)
    if engine is None:
        engine = _ENGINES[market_id] = MarketEngine(Market.objects.get(pk=market_id))
    return engine


def engines_reset() -> None:
    _ENGINES.clear()


def engine_apply_inline(market_id: int) -> None:
    """With ENGINE_INLINE (tests, and embedded single-process use) exchange.wake calls this after
    an order or cancel commits: the command is applied here and now; otherwise the engine process
    picks it up."""
    engine_for(market_id).apply_all()
