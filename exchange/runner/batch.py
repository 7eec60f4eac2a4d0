"""One batch's state, explicit: what `MarketEngine.apply_batch` reads once at the start (the clock,
fee rates, the payers' tiers and fee-token choices, the frozen accounts) and what it gathers while
matching (changed orders, touched book levels, journals, fills) until the commit writes it and the
publisher fans it out. A new `Batch` per batch: nothing of one batch leaks into the next."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from exchange.models import Order
from exchange.runner.intake import Command
from wallets.ledger import PendingJournal


@dataclass
class Fill:
    """One fill's settlement, finished at commit: each side's fee is [asset, amount], in the asset
    it receives unless it is paid in the platform token (decided under the accounts' locks)."""

    journal: PendingJournal
    price: Decimal
    qty: Decimal
    notional: Decimal
    buyer: Order
    seller: Order
    taker_side: str
    fees: list  # [[buyer's fee asset, amount], [seller's fee asset, amount]], set by MarketEngine._settle


@dataclass
class Batch:
    now: datetime
    fees: dict[int, tuple[Decimal, Decimal]]  # tier -> (maker rate, taker rate), read once a batch
    update_id: int  # the market's update id before the batch
    payers: dict[int, tuple[int, bool]] = field(default_factory=dict)  # user -> (VIP tier, pays fees in the token)
    frozen: set[int] = field(default_factory=set)  # users whose orders leave the book and are never matched
    touched: set[tuple[str, int]] = field(default_factory=set)  # (side, ticks) of every book level this batch changed
    changed: dict[int, Order] = field(default_factory=dict)  # orders to write, by id
    journals: list[PendingJournal] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    # the command being applied: its journal keys count its trades, its rests count its sequence numbers
    command: Command | None = None
    trade_count: int = 0
    rest_count: int = 0
    command_update_id: int = 0

    def command_begin(self, position: int, command: Command) -> None:
        """Applying the batch's `position`-th command (from 1): its update id is the market's + position."""
        self.command, self.trade_count, self.rest_count = command, 0, 0
        self.command_update_id = self.update_id + position
