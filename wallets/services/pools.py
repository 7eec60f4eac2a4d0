"""Funding the payout pools: an audited, two-person transfer from a named system account.

A pool gets money only through here (or a booked reconciliation surplus). One operator requests
an exact amount with a reason; a second operator approves, which posts one journal (key
`pool-funding-<id>`) from the source account's available balance to the pool's. The source must
hold the amount: system accounts may go negative where they mirror what users are owed, but a
pool funded from money that is not there would create it.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import AppError
from config.formatting import amount_text
from wallets.ledger import InvalidAmount, Line, accounts_lock, amount_parse, journal_post, system_account
from wallets.models import Asset, Entry, Journal, PoolFunding


class PoolFundingRefused(AppError):
    code = "pool_funding_refused"


def pool_funding_request(
    *, asset: Asset, source_kind: str, amount, reason: str, by: User, pool_kind: str = "distribution_pool"
) -> PoolFunding:
    """Record a request; nothing moves until another operator approves it."""
    reason = (reason or "").strip()
    if not reason:
        raise PoolFundingRefused("reason_required", _("Give the reason for funding the pool."))
    if pool_kind not in PoolFunding.POOLS:
        raise PoolFundingRefused("not_a_pool", _("Only the distribution and compensation pools can be funded."))
    if source_kind not in PoolFunding.SOURCES or source_kind == pool_kind:
        raise PoolFundingRefused("bad_source", _("Choose a system account other than the pool itself."))
    try:
        amount = amount_parse(amount, asset)
    except InvalidAmount as error:
        raise PoolFundingRefused("invalid_amount", error.message)
    if amount <= 0:
        raise PoolFundingRefused("invalid_amount", _("Enter an amount greater than zero."))
    return PoolFunding.objects.create(
        asset=asset, source_kind=source_kind, pool_kind=pool_kind, amount=amount, reason=reason, requested_by=by
    )


@transaction.atomic
def pool_funding_approve(*, funding: PoolFunding, by: User) -> PoolFunding:
    """A second operator approves: under the request's row lock and the two accounts' locks, the
    source must hold the amount; then the journal is posted. Approving twice posts once."""
    funding = PoolFunding.objects.select_for_update(of=("self",), no_key=True).select_related("asset").get(pk=funding.pk)
    if funding.status != PoolFunding.Status.REQUESTED:
        raise PoolFundingRefused("not_requested", _("This pool funding was already approved or cancelled."))
    if by.pk == funding.requested_by_id:
        raise PoolFundingRefused("four_eyes", _("Another operator must approve a pool funding you requested."))
    source = system_account(kind=funding.source_kind, asset=funding.asset)
    pool = system_account(kind=funding.pool_kind, asset=funding.asset)
    source = accounts_lock([source.pk, pool.pk])[source.pk]
    if source.available < funding.amount:
        raise PoolFundingRefused(
            "insufficient_funds",
            _("The %(account)s account holds %(held)s %(asset)s, less than %(amount)s %(asset)s.")
            % {
                "account": funding.get_source_kind_display(),
                "held": amount_text(source.available, funding.asset.precision),
                "amount": amount_text(funding.amount, funding.asset.precision),
                "asset": funding.asset.symbol,
            },
        )
    funding.journal = journal_post(
        kind=Journal.Kind.TRANSFER,
        idempotency_key=f"pool-funding-{funding.pk}",
        memo=f"{funding.get_pool_kind_display()} funded from {funding.get_source_kind_display()}: {funding.reason}",
        lines=[Line(source, -funding.amount, Entry.Bucket.AVAILABLE), Line(pool, funding.amount, Entry.Bucket.AVAILABLE)],
        created_by=by,
    )
    funding.status, funding.approved_by, funding.approved_at = PoolFunding.Status.POSTED, by, timezone.now()
    funding.save(update_fields=["journal", "status", "approved_by", "approved_at"])
    return funding


@transaction.atomic
def pool_funding_cancel(*, funding: PoolFunding) -> PoolFunding:
    funding = PoolFunding.objects.select_for_update(of=("self",), no_key=True).get(pk=funding.pk)
    if funding.status != PoolFunding.Status.REQUESTED:
        raise PoolFundingRefused("not_requested", _("This pool funding was already approved or cancelled."))
    funding.status = PoolFunding.Status.CANCELLED
    funding.save(update_fields=["status"])
    return funding
