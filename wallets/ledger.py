"""The ledger's one write path. Every balance change in Agora goes through `journal_post`.

Guarantees:
- a journal is balanced: its lines sum to zero per asset (checked before anything is written);
- amounts are exact: a line with more decimals than its asset's precision is refused, never rounded;
- a user account never goes below zero in either bucket: refused with InsufficientFunds and
  nothing written (backed by CHECK constraints in the database);
- idempotent: posting again with a used idempotency key returns the first journal, writes nothing;
- deadlock-free: the touched accounts are locked in primary-key order before they are read.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.db import ids_allocate, rows_copy, rows_insert, rows_update
from config.errors import AppError
from wallets.models import AccountKind, Asset, Entry, Journal, LedgerAccount, Network


class LedgerError(AppError):
    """A journal that must not be posted; nothing was written. The subclass sets the stable code."""

    code = "ledger_error"

    def __init__(self, message: str = ""):
        super().__init__(None, message)


class UnbalancedJournal(LedgerError):
    code = "unbalanced"


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"

    def __init__(self, account: LedgerAccount, bucket: str, short_by: Decimal):
        self.account, self.bucket, self.short_by = account, bucket, short_by
        super().__init__(f"{account} {bucket} would be short by {short_by}")


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount: Decimal
    bucket: str = Entry.Bucket.AVAILABLE


def amount_parse(value, asset: Asset) -> Decimal:
    """An exact amount of `asset` from str/int/Decimal; refuses floats, NaN, infinities and extra
    decimals (a trader's 0.123456789 BTC is an error, not 0.12345679)."""
    if isinstance(value, float):
        raise InvalidAmount("amounts must not be floats")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidAmount(f"not a number: {value!r}")
    if not amount.is_finite():
        raise InvalidAmount(f"not a finite number: {value!r}")
    if amount.adjusted() >= 18 or amount != amount.quantize(asset.quantum):
        raise InvalidAmount(f"{asset.symbol} takes at most {asset.precision} decimals: {value}")
    return amount.quantize(asset.quantum)


def user_account(*, user, asset: Asset) -> LedgerAccount:
    account, _created = LedgerAccount.objects.get_or_create(kind=AccountKind.USER, user=user, asset=asset)
    return account


def system_account(*, kind: str, asset: Asset, network: Network | None = None) -> LedgerAccount:
    if kind == AccountKind.USER:
        raise ValueError("user accounts belong to users: use user_account")
    if kind == AccountKind.CUSTODY and network is None:
        raise ValueError("custody accounts are per network")
    try:
        with transaction.atomic():
            account, _created = LedgerAccount.objects.get_or_create(
                kind=kind, asset=asset, network=network if kind == AccountKind.CUSTODY else None
            )
    except IntegrityError:  # created concurrently
        account = LedgerAccount.objects.get(kind=kind, asset=asset, network=network if kind == AccountKind.CUSTODY else None)
    return account


def journal_post(*, kind: str, lines: list[Line], idempotency_key: str, memo: str = "", created_by=None) -> Journal:
    """Post a balanced journal atomically (see the module docstring for the guarantees)."""
    if not lines:
        raise UnbalancedJournal("a journal needs lines")
    if not idempotency_key:
        raise LedgerError("an idempotency key is required")
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        asset = line.account.asset
        if not isinstance(line.amount, Decimal) or not line.amount.is_finite() or line.amount == 0:
            raise InvalidAmount(f"bad amount {line.amount!r}")
        if line.amount != line.amount.quantize(asset.quantum):
            raise InvalidAmount(f"{asset.symbol} takes at most {asset.precision} decimals: {line.amount}")
        if line.bucket not in Entry.Bucket.values:
            raise LedgerError(f"unknown bucket {line.bucket}")
        totals[asset.pk] += line.amount
    unbalanced = {pk: total for pk, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedJournal(f"journal does not balance per asset: {unbalanced}")

    with transaction.atomic():
        existing = Journal.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        locked = accounts_lock(line.account.pk for line in lines)
        # A concurrent post of the same key waited on our locks; look again now that we hold them.
        existing = Journal.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        deltas: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for line in lines:
            deltas[(line.account.pk, line.bucket)] += line.amount
        for (pk, bucket), delta in deltas.items():
            account = locked[pk]
            after = getattr(account, bucket) + delta
            if after < 0 and (account.kind == AccountKind.USER or bucket == Entry.Bucket.LOCKED):
                raise InsufficientFunds(account, bucket, -after)
        journal = Journal.objects.create(kind=kind, idempotency_key=idempotency_key, memo=memo[:500], created_by=created_by)
        Entry.objects.bulk_create(
            Entry(journal=journal, account_id=line.account.pk, asset_id=line.account.asset_id, bucket=line.bucket, amount=line.amount)
            for line in lines
        )
        # New balances are computed here, exactly, and written as values: SQLite would do
        # `balance + delta` in floating point. The old value in the filter guards the write.
        for (pk, bucket), delta in deltas.items():
            if delta:
                account = locked[pk]
                before = getattr(account, bucket)
                updated = LedgerAccount.objects.filter(pk=pk, **{bucket: before}).update(**{bucket: before + delta})
                if updated != 1:
                    raise LedgerError(f"{account} changed under its lock; nothing was posted")
                setattr(account, bucket, before + delta)
    return journal


def hold_place(*, account: LedgerAccount, amount: Decimal, idempotency_key: str, memo: str = "") -> Journal:
    """Reserve funds (available -> locked) for an order or a withdrawal."""
    return journal_post(
        kind=Journal.Kind.HOLD,
        idempotency_key=idempotency_key,
        memo=memo,
        lines=[Line(account, -amount, Entry.Bucket.AVAILABLE), Line(account, amount, Entry.Bucket.LOCKED)],
    )


def hold_release(*, account: LedgerAccount, amount: Decimal, idempotency_key: str, memo: str = "") -> Journal:
    """Give reserved funds back (locked -> available)."""
    return journal_post(
        kind=Journal.Kind.RELEASE,
        idempotency_key=idempotency_key,
        memo=memo,
        lines=[Line(account, -amount, Entry.Bucket.LOCKED), Line(account, amount, Entry.Bucket.AVAILABLE)],
    )


def transfer(
    *,
    source: LedgerAccount,
    target: LedgerAccount,
    amount: Decimal,
    idempotency_key: str,
    kind: str = Journal.Kind.TRANSFER,
    memo: str = "",
    created_by=None,
) -> Journal:
    return journal_post(
        kind=kind,
        idempotency_key=idempotency_key,
        memo=memo,
        created_by=created_by,
        lines=[Line(source, -amount), Line(target, amount)],
    )


@dataclass
class PendingJournal:
    """A journal to post with `journals_post_many`; `lines` name accounts by primary key."""

    kind: str
    idempotency_key: str
    memo: str
    lines: list[tuple[int, str, Decimal]]  # (account pk, bucket, signed amount)


def accounts_lock(account_ids) -> dict[int, LedgerAccount]:
    """Lock accounts in primary-key order (one statement), inside the caller's transaction: the
    one lock order every ledger write uses, so writers never deadlock on each other. FOR NO KEY
    UPDATE: a foreign-key check on an account (an entry pointing at it) does not wait for it."""
    return {a.pk: a for a in LedgerAccount.objects.select_for_update(no_key=True).filter(pk__in=sorted(set(account_ids))).order_by("pk")}


def journals_post_many(
    journals: list[PendingJournal], *, assets: dict[int, Asset], locked: dict[int, LedgerAccount] | None = None
) -> dict[str, int]:
    """Post many journals in a few statements, with journal_post's guarantees: each journal
    balances per asset and is exact to its asset's precision; all touched accounts are locked in
    primary-key order first (one statement); no user account and no locked bucket ends below
    zero (checked on the totals, before writing); new balances are written as exact values.
    Must run inside a transaction (the engine's batch). Returns {idempotency key: journal id}.
    A key used before is an error here: callers post each key once (the engine only re-posts after
    a rollback). `locked`: the caller already locked these accounts with `accounts_lock` in this
    transaction (to decide something from their balances first); they must cover every line."""
    if not journals:
        return {}
    if not transaction.get_connection().in_atomic_block:
        raise LedgerError("journals_post_many must run inside a transaction")
    account_ids = {pk for journal in journals for pk, _b, _a in journal.lines}
    if locked is None:
        accounts = accounts_lock(account_ids)
    elif account_ids <= locked.keys():
        accounts = locked
    else:
        raise LedgerError(f"accounts {sorted(account_ids - locked.keys())} were not locked first")
    deltas: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for journal in journals:
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for pk, bucket, amount in journal.lines:
            asset = assets[accounts[pk].asset_id]
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0 or amount != amount.quantize(asset.quantum):
                raise InvalidAmount(f"bad amount {amount!r} for {asset.symbol} in {journal.idempotency_key}")
            totals[asset.pk] += amount
            deltas[(pk, bucket)] += amount
        if any(totals.values()):
            raise UnbalancedJournal(f"{journal.idempotency_key} does not balance per asset: {dict(totals)}")
    for (pk, bucket), delta in deltas.items():
        account = accounts[pk]
        after = getattr(account, bucket) + delta
        if after < 0 and (account.kind == AccountKind.USER or bucket == Entry.Bucket.LOCKED):
            raise InsufficientFunds(account, bucket, -after)
    now = timezone.now()
    entries = [(pk, accounts[pk].asset_id, bucket, amount) for j in journals for pk, bucket, amount in j.lines]
    if connection.vendor == "postgresql":  # ids from the sequence, then COPY: a few round trips for any batch
        journal_ids = ids_allocate(Journal, len(journals))
        rows_copy(
            Journal,
            ["id", "kind", "idempotency_key", "memo", "created_at"],
            ([pk, j.kind, j.idempotency_key, j.memo[:500], now] for pk, j in zip(journal_ids, journals)),
        )
    else:
        journal_ids = rows_insert(
            Journal,
            ["kind", "idempotency_key", "memo", "created_at"],
            [[j.kind, j.idempotency_key, j.memo[:500], now] for j in journals],
            returning=True,
        )
    ids = {journal.idempotency_key: pk for journal, pk in zip(journals, journal_ids)}
    owner = [ids[j.idempotency_key] for j in journals for _line in j.lines]
    if connection.vendor == "postgresql":
        rows_copy(Entry, ["journal", "account", "asset", "bucket", "amount"], ([jid, *entry] for jid, entry in zip(owner, entries)))
    else:
        rows_insert(Entry, ["journal", "account", "asset", "bucket", "amount"], [[jid, *entry] for jid, entry in zip(owner, entries)])
    touched = {}
    for (pk, bucket), delta in deltas.items():
        if delta:
            account = touched.setdefault(pk, accounts[pk])
            setattr(account, bucket, getattr(account, bucket) + delta)
    for account in touched.values():
        account.updated_at = now
    rows_update(LedgerAccount, touched.values(), ["available", "locked", "updated_at"])
    return ids
