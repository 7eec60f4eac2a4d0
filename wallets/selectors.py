from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum

from config.formatting import amount_plain, csv_cell
from wallets.chains import chain_adapter
from wallets.models import (
    AccountKind,
    Asset,
    ChainCursor,
    Deposit,
    Entry,
    LedgerAccount,
    Network,
    Payout,
    RecoveryRequest,
    Withdrawal,
    WithdrawalAddress,
)


@contextmanager
def read_snapshot():
    """Run the reads inside in one consistent snapshot of the database, so a check that reads
    entries, then balances, then custody never sees a journal half-way (it reported false failures
    while the engine traded). PostgreSQL: one REPEATABLE READ, READ ONLY transaction. SQLite: one
    deferred read transaction (WAL gives it a snapshot at its first read; `atomic()` would BEGIN
    IMMEDIATE and hold every writer off for the whole check). Inside an existing transaction the
    reads already share it."""
    if connection.in_atomic_block or getattr(connection, "agora_read_snapshot", False):
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    connection.agora_read_snapshot = True
    try:
        yield
    finally:
        connection.agora_read_snapshot = False
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


def _entry_totals() -> tuple[dict[tuple[int, str], Decimal], dict[tuple[int, str], Decimal]]:
    """Entry sums per (journal, asset) and per (account, bucket), exactly.

    PostgreSQL sums NUMERIC exactly, so it sums; SQLite's SUM() goes through floating point, so
    there the entries are summed here as Decimals.
    """
    journals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    accounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    if connection.vendor == "postgresql":
        for row in Entry.objects.values("journal_id", "asset__symbol").annotate(total=Sum("amount")).order_by():
            journals[(row["journal_id"], row["asset__symbol"])] = row["total"]
        for row in Entry.objects.values("account_id", "bucket").annotate(total=Sum("amount")).order_by():
            accounts[(row["account_id"], row["bucket"])] = row["total"]
        return journals, accounts
    rows = Entry.objects.values_list("journal_id", "asset__symbol", "account_id", "bucket", "amount").order_by()
    for journal_id, symbol, account_id, bucket, amount in rows.iterator(chunk_size=5000):
        journals[(journal_id, symbol)] += amount
        accounts[(account_id, bucket)] += amount
    return journals, accounts


def ledger_violations() -> list[str]:
    """Every broken ledger invariant, as readable lines (empty when the ledger is sound):
    journals balance per asset; cached balances equal their entries; no user balance and no
    locked bucket below zero; every entry's asset is its account's asset. Reads one snapshot."""
    with read_snapshot():
        return _ledger_violations()


def _ledger_violations() -> list[str]:
    problems: list[str] = []
    journal_totals, sums = _entry_totals()
    for (journal_id, symbol), total in sorted(journal_totals.items()):
        if total != 0 and len(problems) < 100:
            problems.append(f"journal #{journal_id} does not balance in {symbol}: off by {amount_plain(total)}")
    for account in LedgerAccount.objects.select_related("asset", "user", "network").order_by("pk").iterator():
        for bucket in (Entry.Bucket.AVAILABLE, Entry.Bucket.LOCKED):
            cached, counted = getattr(account, bucket), sums.get((account.pk, bucket), Decimal(0))
            if cached != counted:
                problems.append(
                    f"account {account} ({account.pk}) {bucket}: balance {amount_plain(cached)} but entries sum to {amount_plain(counted)}"
                )
    negatives = LedgerAccount.objects.filter(
        Q(kind=AccountKind.USER, available__lt=0) | Q(kind=AccountKind.USER, locked__lt=0) | Q(locked__lt=0)
    )
    for account in negatives.select_related("asset", "user")[:100]:
        problems.append(
            f"account {account} ({account.pk}) is negative: available {amount_plain(account.available)}, locked {amount_plain(account.locked)}"
        )
    mismatched = Entry.objects.exclude(asset_id=F("account__asset_id")).values_list("pk", flat=True)[:100]
    for pk in mismatched:
        problems.append(f"entry #{pk} is in a different asset from its account")
    return problems


# --- Reconciliation's reads ----------------------------------------------------------------------------

LIABILITY_KINDS = [AccountKind.USER, AccountKind.FEES, AccountKind.DISTRIBUTION_POOL, AccountKind.COMPENSATION_POOL, AccountKind.DUST]


def _sum(values) -> Decimal:
    return sum(values, Decimal(0))  # exact (SQLite's SUM() is a float)


def custody_positions(*, networks=None) -> list[dict]:
    """Per network, as of the deposit scanner's height on its chain: chain holdings, less our sent
    withdrawals the scanner has not seen in a block yet, against ledger custody + deposits in
    flight + unattributed transfers; the rest is the difference (surplus > 0, shortfall < 0)."""
    holdings_by_chain: dict[str, dict[str, Decimal]] = {}
    cursors = dict(ChainCursor.objects.values_list("chain", "scanned_height"))
    positions = []
    networks = networks if networks is not None else Network.objects.select_related("asset").order_by("asset__symbol", "code")
    for network in networks:
        if network.code not in holdings_by_chain:
            holdings_by_chain[network.code] = chain_adapter(network.code).holdings(up_to_height=cursors.get(network.code, 0))
        symbol = network.asset.symbol
        chain_holdings = holdings_by_chain[network.code].get(symbol, Decimal(0))
        custody_account = LedgerAccount.objects.filter(kind=AccountKind.CUSTODY, network=network).first()
        custody = -custody_account.available if custody_account else Decimal(0)
        in_flight = _sum(
            Deposit.objects.filter(network=network, status__in=[Deposit.Status.SEEN, Deposit.Status.CONFIRMING]).values_list(
                "amount", flat=True
            )
        )
        unattributed = _sum(
            Deposit.objects.filter(chain=network.code, token=symbol, status=Deposit.Status.UNMATCHED).values_list("amount", flat=True)
        )
        sending = _sum(
            Withdrawal.objects.filter(network=network, status=Withdrawal.Status.BROADCAST, block_height__isnull=True).values_list(
                "net_amount", flat=True
            )
        )
        positions.append(
            {
                "network": network,
                "chain_holdings": chain_holdings - sending,
                "ledger_custody": custody,
                "in_flight": in_flight,
                "unattributed": unattributed,
                "difference": chain_holdings - sending - custody - in_flight - unattributed,
            }
        )
    return positions


def liabilities_by_asset() -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for asset_id, available, locked in (
        LedgerAccount.objects.filter(kind__in=LIABILITY_KINDS).values_list("asset_id", "available", "locked").iterator()
    ):
        totals[asset_id] += available + locked
    return totals


def custody_violations() -> list[str]:
    """Networks where what the chain adapter reports differs from the ledger's custody plus deposits
    in flight plus transfers awaiting recovery. Reads one snapshot."""
    problems = []
    with read_snapshot():
        positions = custody_positions()
    for p in positions:
        if p["difference"]:
            kind = "surplus" if p["difference"] > 0 else "shortfall"
            problems.append(
                f"custody {p['network']}: chain reports {amount_plain(p['chain_holdings'])}, ledger custody {amount_plain(p['ledger_custody'])} "
                f"+ in flight {amount_plain(p['in_flight'])} + awaiting recovery {amount_plain(p['unattributed'])}: {kind} of {amount_plain(abs(p['difference']))}"
            )
    return problems


# --- Pages ----------------------------------------------------------------------------------------------


@dataclass
class BalanceRow:
    asset: "object"
    available: Decimal
    locked: Decimal
    estimate: Decimal | None  # in USDT, None when no price is known

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


def usdt_prices(assets, *, now=None) -> dict[int, Decimal | None]:
    """USDT per unit of each asset (by primary key), for estimates, fee tiers and fees paid in the
    platform token: 1 for USDT itself; where an <asset>USDT market traded in the last hour, its
    volume-weighted price over that hour (from the 1m klines) kept within
    PRICE_REFERENCE_BAND_PERCENT of the asset's reference price when one is set; else the
    reference price; None when nothing is known. One self-trade at an absurd price moves
    neither the hour's average much nor the result past the band."""
    from datetime import timedelta

    from django.apps import apps
    from django.conf import settings
    from django.db.models import Sum
    from django.utils import timezone

    assets = list(assets)
    now = now or timezone.now()
    Kline = apps.get_model("exchange", "Kline")
    hour = (
        Kline.objects.filter(
            interval="1m",
            open_time__gte=now - timedelta(hours=1),
            open_time__lte=now,
            market__quote__symbol="USDT",
            market__base__in=[a.pk for a in assets],
        )
        .values("market__base")
        .annotate(volume=Sum("volume"), quote_volume=Sum("quote_volume"))
        .order_by()
    )
    traded = {row["market__base"]: Decimal(str(row["quote_volume"])) / Decimal(str(row["volume"])) for row in hour if row["volume"]}
    band = Decimal(settings.PRICE_REFERENCE_BAND_PERCENT) / 100
    prices = {}
    for asset in assets:
        reference = asset.reference_price or None
        price = traded.get(asset.pk)
        if asset.symbol == "USDT":
            price = Decimal(1)
        elif price is None:
            price = reference
        elif reference is not None:
            price = min(max(price, reference * (1 - band)), reference * (1 + band))
        prices[asset.pk] = price
    return prices


def balances_for(*, user) -> tuple[list[BalanceRow], Decimal]:
    """Every active asset with the user's balance (zero rows included), and the USDT estimate."""
    from wallets.models import Asset

    accounts = {a.asset_id: a for a in LedgerAccount.objects.filter(kind=AccountKind.USER, user=user)}
    rows, total = [], Decimal(0)
    assets = list(Asset.objects.filter(is_active=True).prefetch_related("networks").order_by("symbol"))
    prices = usdt_prices(assets)
    for asset in assets:
        account = accounts.get(asset.pk)
        available = account.available if account else Decimal(0)
        locked = account.locked if account else Decimal(0)
        price = prices[asset.pk]
        estimate = ((available + locked) * price).quantize(Decimal("0.01")) if price is not None else None
        total += estimate or 0
        rows.append(BalanceRow(asset, available, locked, estimate))
    return rows, total


def deposits_pending_for(*, user, asset=None):
    from wallets.models import Deposit

    rows = Deposit.objects.filter(user=user, status__in=[Deposit.Status.SEEN, Deposit.Status.CONFIRMING]).select_related("network__asset")
    return rows.filter(network__asset=asset) if asset is not None else rows


@dataclass
class HistoryRow:
    when: datetime
    kind: str
    asset: str
    precision: int
    amount: Decimal
    journal: "object"

    @property
    def amount_text(self) -> str:
        """The signed amount at the asset's precision, as a plain number (CSV)."""
        return format(self.amount.quantize(Decimal(1).scaleb(-self.precision)), "f")


def history_for(*, user, kind: str = "", asset: str = "", start=None, end=None):
    """The user's money movements, newest first: one row per journal and asset, holds and releases
    left out (they move money between the user's own buckets)."""
    from wallets.models import Journal

    entries = (
        Entry.objects.filter(account__user=user, account__kind=AccountKind.USER)
        .exclude(journal__kind__in=[Journal.Kind.HOLD, Journal.Kind.RELEASE])
        .select_related("journal", "asset")
        .order_by("-journal__created_at", "-journal_id")
    )
    if kind:
        entries = entries.filter(journal__kind=kind)
    if asset:
        entries = entries.filter(asset__symbol=asset)
    if start:
        entries = entries.filter(journal__created_at__date__gte=start)
    if end:
        entries = entries.filter(journal__created_at__date__lte=end)
    return entries


def history_rows(entries) -> list[HistoryRow]:
    """Entries folded into one row per (journal, asset) with the journal's explanation objects loaded."""
    from wallets.models import Journal

    rows: dict[tuple[int, int], HistoryRow] = {}
    for entry in entries:
        key = (entry.journal_id, entry.asset_id)
        if key in rows:
            rows[key].amount += entry.amount
        else:
            rows[key] = HistoryRow(
                entry.journal.created_at, entry.journal.kind, entry.asset.symbol, entry.asset.precision, entry.amount, entry.journal
            )
    journals = [row.journal for row in rows.values()]
    ids = [j.pk for j in journals]
    details = {}
    for journal in Journal.objects.filter(pk__in=ids).select_related(
        "deposit__network", "withdrawal__network", "payout_line__payout__source_asset", "payout_line__payout__reward_asset"
    ):
        details[journal.pk] = journal
    for row in rows.values():
        row.journal = details.get(row.journal.pk, row.journal)
    return list(rows.values())


def history_reference(row: HistoryRow) -> str:
    """A plain-text reference for a history row: a transaction hash, an address or a payout's name."""
    journal = row.journal
    deposit = getattr(journal, "deposit", None) if journal.kind == "deposit" else None
    if deposit is not None:
        return deposit.tx_hash
    withdrawal = getattr(journal, "withdrawal", None) if journal.kind in ("withdrawal", "transfer") else None
    if withdrawal is not None:
        return withdrawal.tx_hash or withdrawal.address
    line = getattr(journal, "payout_line", None) if journal.kind in ("distribution", "compensation") else None
    if line is not None:
        return line.payout.name
    return ""


@dataclass(frozen=True)
class PayoutFunding:
    """Whether a payout's funding account holds its budget now (what approval will check)."""

    account: LedgerAccount
    available: Decimal
    budget: Decimal

    @property
    def shortfall(self) -> Decimal:
        return max(self.budget - self.available, Decimal(0))

    @property
    def enough(self) -> bool:
        return self.shortfall == 0


def payout_funding(*, payout) -> PayoutFunding:
    from wallets.ledger import system_account

    account = system_account(kind=payout.funding_kind, asset=payout.reward_asset)
    return PayoutFunding(account=account, available=account.available, budget=payout.budget)


# The wallet pages' reads.


def assets_listed_with_networks() -> QuerySet[Asset]:
    """The listed assets with their networks prefetched (a page picks one by symbol)."""
    return Asset.objects.prefetch_related("networks").filter(is_active=True)


def asset_symbols_listed() -> list[str]:
    return list(Asset.objects.filter(is_active=True).values_list("symbol", flat=True))


def networks_listed() -> list[Network]:
    """The networks of the listed assets, each with its asset."""
    return list(Network.objects.select_related("asset").filter(asset__is_active=True))


def withdrawals_in_flight_for(*, user) -> QuerySet[Withdrawal]:
    """The user's withdrawals not yet settled: still cancellable, sending or broadcast."""
    return Withdrawal.objects.filter(
        user=user, status__in=[*Withdrawal.CANCELLABLE, Withdrawal.Status.SENDING, Withdrawal.Status.BROADCAST]
    ).select_related("network__asset")


def withdrawals_recent_for(*, user, asset: Asset, limit: int = 20) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(user=user, network__asset=asset).select_related("network")[:limit]


def address_book_for(*, user, asset: Asset | None = None) -> QuerySet[WithdrawalAddress]:
    """The user's address book; with an asset, only that asset's networks' entries."""
    if asset is not None:
        return WithdrawalAddress.objects.filter(user=user, network__asset=asset).select_related("network")
    return WithdrawalAddress.objects.filter(user=user).select_related("network__asset")


def recovery_requests_for(*, user) -> QuerySet[RecoveryRequest]:
    return RecoveryRequest.objects.filter(user=user).select_related("asset")


def chains_active() -> list[str]:
    """The chain codes of every network, each once, sorted (what the deposit scanner walks)."""
    return sorted(set(Network.objects.values_list("code", flat=True)))


def payout_report_rows(*, payout: Payout):
    """The downloadable report: one row per user (basis, amount at the asset's precision, journal,
    time paid) and the dust."""
    quantum = payout.reward_asset.quantum

    def fixed(value: Decimal) -> str:
        return format(value.quantize(quantum), "f")

    yield ["email", "basis", "amount", "asset", "journal", "paid_at"]
    for line in payout.lines.select_related("user").order_by("pk").iterator(chunk_size=2000):
        yield [
            csv_cell(line.user.email),
            amount_plain(line.basis),
            fixed(line.amount),
            payout.reward_asset.symbol,
            line.journal_id or "",
            line.paid_at.isoformat() if line.paid_at else "",
        ]
    yield ["(dust)", "", fixed(payout.dust), payout.reward_asset.symbol, "", ""]
