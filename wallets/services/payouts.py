"""Holdings snapshots and payouts: distributions (airdrops, forks, holder rewards) and
compensation / refund campaigns share one machinery.

- Snapshots: one per UTC day, idempotent (unique day); each user's available + locked per asset.
- Shares are computed in integers of the reward asset's smallest unit and rounded down; the
  budget minus the shares is booked to the dust account, so the funding account loses exactly the
  budget and nothing is created or lost.
- A second operator approves; execution pays each line with its own idempotency key and records
  the journal on the line, so a rerun (or a retried task) pays nobody twice.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal, localcontext

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from config.errors import AppError
from wallets.ledger import InvalidAmount, Line, accounts_lock, amount_parse, journal_post, system_account, user_account
from wallets.models import AccountKind, Entry, HoldingSnapshot, Journal, LedgerAccount, Notice, Payout, PayoutLine, SnapshotDay
from wallets.services.notices import notice_create

SCALE = 10**18  # amounts are NUMERIC(36,18): integers of 1e-18 are exact


class PayoutError(AppError):
    """A payout that cannot be previewed, approved or run; `errors` lists every problem found."""

    code = "payout_refused"

    def __init__(self, message: str, errors: list[str] | None = None, code: str | None = None):
        self.errors = errors or [message]
        super().__init__(code, message)


# --- Snapshots -----------------------------------------------------------------------------------------


def holdings_snapshot_take(*, day: date | None = None) -> SnapshotDay:
    """Snapshot every user's total holdings (funds locked in orders and withdrawals included) for
    `day` (default: today, UTC). Taking a day twice returns the first snapshot."""
    day = day or timezone.now().date()
    existing = SnapshotDay.objects.filter(day=day).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            snapshot = SnapshotDay.objects.create(day=day)
            rows = LedgerAccount.objects.filter(kind=AccountKind.USER).filter(Q(available__gt=0) | Q(locked__gt=0))
            batch, count = [], 0
            for user_id, asset_id, available, locked in rows.values_list("user_id", "asset_id", "available", "locked").iterator(
                chunk_size=2000
            ):
                batch.append(HoldingSnapshot(day=day, user_id=user_id, asset_id=asset_id, total=available + locked))
                if len(batch) >= 2000:
                    HoldingSnapshot.objects.bulk_create(batch)
                    count, batch = count + len(batch), []
            HoldingSnapshot.objects.bulk_create(batch)
            snapshot.rows = count + len(batch)
            snapshot.save(update_fields=["rows"])
    except IntegrityError:  # another worker took this day first
        return SnapshotDay.objects.get(day=day)
    return snapshot


# --- Computing lines -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    lines: dict[int, tuple[Decimal, Decimal]]  # user id -> (basis, amount)
    budget: Decimal
    dust: Decimal


def _units(amount: Decimal, quantum: Decimal) -> int:
    with localcontext() as context:
        context.prec = 120
        return int((amount / quantum).to_integral_value(rounding=ROUND_DOWN))


def _snapshot_basis(payout: Payout) -> dict[int, Decimal]:
    """Unit-days per user: the sum of their daily snapshots of the source asset over the period."""
    if payout.source_asset_id is None or payout.period_start is None or payout.period_end is None:
        raise PayoutError("choose the source asset and the period's first and last snapshot day")
    if payout.period_end < payout.period_start:
        raise PayoutError("the period ends before it starts")
    days = {payout.period_start + timedelta(days=n) for n in range((payout.period_end - payout.period_start).days + 1)}
    missing = sorted(days - set(SnapshotDay.objects.filter(day__in=days).values_list("day", flat=True)))
    if missing:
        raise PayoutError("no holdings snapshot for " + ", ".join(str(day) for day in missing))
    basis: dict[int, Decimal] = {}
    rows = HoldingSnapshot.objects.filter(asset_id=payout.source_asset_id, day__gte=payout.period_start, day__lte=payout.period_end)
    for user_id, total in rows.values_list("user_id", "total").iterator(chunk_size=5000):
        basis[user_id] = basis.get(user_id, Decimal(0)) + total
    return basis


def _compute_pool(payout: Payout) -> Computed:
    quantum = payout.reward_asset.quantum
    if payout.pool_amount <= 0:
        raise PayoutError("the pool must be more than zero")
    try:
        amount_parse(payout.pool_amount, payout.reward_asset)
    except InvalidAmount as error:
        raise PayoutError(error.message, code=error.code)
    basis = _snapshot_basis(payout)
    pool_units = _units(payout.pool_amount, quantum)
    basis_units = {user_id: _units(value, Decimal(1) / SCALE) for user_id, value in basis.items()}
    total_units = sum(basis_units.values())
    if total_units == 0:
        raise PayoutError("nobody held the source asset in this period")
    lines = {}
    with localcontext() as context:
        context.prec = 120
        for user_id, units in basis_units.items():
            share = pool_units * units // total_units  # exact floor in integers
            if share:
                lines[user_id] = (basis[user_id], (quantum * share).quantize(quantum))
    paid = sum((amount for _basis, amount in lines.values()), Decimal(0))
    return Computed(lines, payout.pool_amount, payout.pool_amount - paid)


def _compute_rate(payout: Payout) -> Computed:
    quantum = payout.reward_asset.quantum
    if payout.rate <= 0:
        raise PayoutError("the rate must be more than zero")
    basis = _snapshot_basis(payout)
    lines, exact_total = {}, Decimal(0)
    with localcontext() as context:
        context.prec = 120  # products of two NUMERIC(36,18) values are exact
        for user_id, value in basis.items():
            exact = value * payout.rate
            exact_total += exact
            share = exact.quantize(quantum, rounding=ROUND_DOWN)
            if share:
                lines[user_id] = (value, share)
        budget = exact_total.quantize(quantum, rounding=ROUND_CEILING)
    paid = sum((amount for _basis, amount in lines.values()), Decimal(0))
    return Computed(lines, budget, budget - paid)


def csv_lines_parse(text: str, reward_asset) -> dict[int, tuple[Decimal, Decimal]]:
    """`email,amount` rows (a header row is allowed), validated row by row; PayoutError lists
    every bad row with its line number."""
    errors, lines, seen = [], {}, {}
    rows = list(csv.reader(io.StringIO(text.strip())))
    if rows and rows[0] and rows[0][0].strip().lower() in ("email", "e-mail"):
        rows = [None] + rows[1:]
    emails = {row[0].strip().lower() for row in rows if row and row[0].strip()}
    users = {email.lower(): pk for email, pk in User.objects.filter(email__in=emails).values_list("email", "pk")}
    if len(users) < len(emails):  # addresses stored with capitals
        for email in emails - set(users):
            found = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
            if found:
                users[email] = found
    for number, row in enumerate(rows, start=1):
        if row is None or not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            errors.append(f"line {number}: expected 2 columns (email,amount), found {len(row)}")
            continue
        email, raw = row[0].strip().lower(), row[1].strip()
        if email in seen:
            errors.append(f"line {number}: {email} already appears on line {seen[email]}")
            continue
        seen[email] = number
        if users.get(email) is None:
            errors.append(f"line {number}: no user with the email {email}")
            continue
        try:
            amount = amount_parse(raw, reward_asset)
        except InvalidAmount as error:
            errors.append(f"line {number}: {error.message}")
            continue
        if amount <= 0:
            errors.append(f"line {number}: the amount must be more than zero")
            continue
        lines[users[email]] = (amount, amount)
    if errors:
        raise PayoutError(f"{len(errors)} row(s) of the CSV are invalid", errors)
    if not lines:
        raise PayoutError("the CSV has no rows")
    return lines


def _compute(payout: Payout) -> Computed:
    if payout.basis == Payout.Basis.POOL:
        return _compute_pool(payout)
    if payout.basis == Payout.Basis.RATE:
        return _compute_rate(payout)
    lines = csv_lines_parse(payout.csv_text, payout.reward_asset)
    return Computed(lines, sum((amount for _b, amount in lines.values()), Decimal(0)), Decimal(0))


# --- Lifecycle ---------------------------------------------------------------------------------------


@transaction.atomic
def payout_save(*, payout: Payout, by: User) -> Payout:
    """Save a payout an operator created or edited (the admin's form). A new one is authored by
    `by`. An edit races approvals, so the stored row is locked and only a draft or a preview may
    change; the edit sends it back to draft (preview again before approval). Whoever saves it
    becomes its preparer, who may not approve it."""
    if payout.pk is None:
        payout.created_by = by
    else:
        current = Payout.objects.select_for_update(no_key=True).get(pk=payout.pk)
        if current.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED):
            raise PayoutError("this payout is approved or paying and can no longer be edited", code="payout_not_editable")
        payout.status = Payout.Status.DRAFT
    payout.prepared_by = by
    payout.save()
    return payout


@transaction.atomic
def payout_preview(*, payout: Payout, by: User | None = None) -> Payout:
    """(Re)compute the per-user table and totals. Only before approval; clears nothing paid.
    `by` becomes the preparer, who may not approve it."""
    payout = Payout.objects.select_for_update(no_key=True, of=("self",)).select_related("reward_asset").get(pk=payout.pk)
    if payout.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED):
        raise PayoutError(f"a {payout.get_status_display().lower()} payout cannot be recomputed")
    computed = _compute(payout)
    payout.lines.all().delete()
    PayoutLine.objects.bulk_create(
        (
            PayoutLine(payout=payout, user_id=user_id, basis=basis, amount=amount)
            for user_id, (basis, amount) in sorted(computed.lines.items())
        ),
        batch_size=2000,
    )
    payout.budget, payout.dust, payout.lines_total = computed.budget, computed.dust, len(computed.lines)
    payout.status = Payout.Status.PREVIEWED
    payout.prepared_by = by or payout.prepared_by or payout.created_by
    payout.save(update_fields=["budget", "dust", "lines_total", "status", "prepared_by"])
    return payout


@transaction.atomic
def payout_approve(*, payout: Payout, by: User) -> Payout:
    """A second operator (neither its author nor whoever last edited or previewed it) approves a
    previewed payout. The budget is reserved at once (the funding account's available -> locked,
    under its row lock), so two payouts can never spend the same pool. The job starts after commit."""
    payout = Payout.objects.select_for_update(no_key=True, of=("self",)).select_related("reward_asset").get(pk=payout.pk)
    if payout.status != Payout.Status.PREVIEWED:
        raise PayoutError("only a previewed payout can be approved")
    if by.pk in (payout.created_by_id, payout.prepared_by_id):
        raise PayoutError("a payout must be approved by someone other than whoever prepared it")
    funding = system_account(kind=payout.funding_kind, asset=payout.reward_asset)
    funding = accounts_lock([funding.pk])[funding.pk]
    if funding.available < payout.budget:
        raise PayoutError(f"the {funding} account holds {funding.available}, less than the budget {payout.budget}")
    if payout.budget > 0:
        journal_post(
            kind=_journal_kind(payout),
            idempotency_key=f"payout-{payout.pk}-reserve",
            memo=f"budget of {payout.name}",
            lines=[Line(funding, -payout.budget, Entry.Bucket.AVAILABLE), Line(funding, payout.budget, Entry.Bucket.LOCKED)],
        )
    payout.status, payout.approved_by, payout.approved_at = Payout.Status.APPROVED, by, timezone.now()
    payout.save(update_fields=["status", "approved_by", "approved_at"])
    from wallets.tasks import payout_execute_task

    transaction.on_commit(lambda: payout_execute_task.delay(payout.pk))
    return payout


@transaction.atomic
def payout_cancel(*, payout: Payout) -> Payout:
    """Cancel before paying starts; an approved payout's reserved budget goes back."""
    payout = Payout.objects.select_for_update(no_key=True, of=("self",)).select_related("reward_asset").get(pk=payout.pk)
    if payout.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED, Payout.Status.APPROVED):
        raise PayoutError("a payout that started paying cannot be cancelled")
    if payout.status == Payout.Status.APPROVED and payout.budget > 0:
        funding = system_account(kind=payout.funding_kind, asset=payout.reward_asset)
        journal_post(
            kind=_journal_kind(payout),
            idempotency_key=f"payout-{payout.pk}-unreserve",
            memo=f"{payout.name} cancelled",
            lines=[Line(funding, -payout.budget, Entry.Bucket.LOCKED), Line(funding, payout.budget, Entry.Bucket.AVAILABLE)],
        )
    payout.status = Payout.Status.CANCELLED
    payout.save(update_fields=["status"])
    return payout


def _journal_kind(payout: Payout) -> str:
    return Journal.Kind.DISTRIBUTION if payout.is_distribution else Journal.Kind.COMPENSATION


def payout_execute(*, payout_id: int, chunk: int = 200) -> Payout:
    """Pay every unpaid line, then the dust. Safe to run again at any point: each line's journal
    has its own key, and a paid line is skipped."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update(no_key=True, of=("self",)).select_related("reward_asset").get(pk=payout_id)
        if payout.status not in (Payout.Status.APPROVED, Payout.Status.RUNNING):
            return payout
        payout.status = Payout.Status.RUNNING
        payout.save(update_fields=["status"])
    funding = system_account(kind=payout.funding_kind, asset=payout.reward_asset)
    kind = _journal_kind(payout)
    while True:
        with transaction.atomic():
            batch = list(
                PayoutLine.objects.select_for_update(no_key=True, of=("self",))
                .select_related("user")
                .filter(payout_id=payout_id, journal__isnull=True)
                .order_by("pk")[:chunk]
            )
            if not batch:
                break
            for line in batch:
                account = user_account(user=line.user, asset=payout.reward_asset)
                line.journal = journal_post(
                    kind=kind,
                    idempotency_key=f"payout-{payout_id}-user-{line.user_id}",
                    memo=f"{payout.get_purpose_display()}: {payout.name}",
                    lines=[Line(funding, -line.amount, Entry.Bucket.LOCKED), Line(account, line.amount)],
                )
                line.paid_at = timezone.now()
                line.save(update_fields=["journal", "paid_at"])
                notice_create(user=line.user, kind=Notice.Kind.PAYOUT_CREDITED, object_id=line.pk)
            _progress(payout_id)
    with transaction.atomic():
        payout = Payout.objects.select_for_update(no_key=True, of=("self",)).select_related("reward_asset").get(pk=payout_id)
        if payout.dust > 0:
            dust = system_account(kind=AccountKind.DUST, asset=payout.reward_asset)
            journal_post(
                kind=kind,
                idempotency_key=f"payout-{payout_id}-dust",
                memo=f"rounding remainder of {payout.name}",
                lines=[Line(funding, -payout.dust, Entry.Bucket.LOCKED), Line(dust, payout.dust)],
            )
        _progress(payout_id)
        payout.refresh_from_db()
        payout.status, payout.finished_at = Payout.Status.COMPLETED, timezone.now()
        payout.save(update_fields=["status", "finished_at"])
    return payout


def _progress(payout_id: int) -> None:
    paid = PayoutLine.objects.filter(payout_id=payout_id, journal__isnull=False)
    amounts = list(paid.values_list("amount", flat=True))  # summed exactly here (SQLite SUM is a float)
    Payout.objects.filter(pk=payout_id).update(lines_paid=len(amounts), paid_total=sum(amounts, Decimal(0)))
