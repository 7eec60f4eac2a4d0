"""Fund recovery for transfers that reached us the wrong way (wrong network, missing memo,
unlisted token): automatic checks, a fee quote the user accepts, two operators approve, and the
credit goes through the ledger once."""

from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import AppError
from support.services.recovery import recovery_event_post, recovery_ticket_open
from wallets.ledger import InvalidAmount, Line, journal_post, system_account, user_account
from wallets.models import AccountKind, Asset, Deposit, Journal, Network, Notice, RecoveryRejection, RecoveryRequest
from wallets.services.notices import notice_create


def _ticket_hear(request: RecoveryRequest) -> None:
    # The request's ticket shows every state it reaches, in this same transaction (support desk).
    recovery_event_post(request=request)


class RecoveryRefused(AppError):
    """A recovery request the rules refuse (`code` stable, `message` what the person reads)."""


def recovery_fee(*, amount: Decimal, asset: Asset) -> Decimal:
    fee = (amount * Decimal(settings.FUND_RECOVERY_FEE_PERCENT) / 100).quantize(asset.quantum, rounding=ROUND_CEILING)
    return min(fee, amount)


@transaction.atomic
def recovery_submit(
    *, user: User, tx_hash: str, chain: str, token: str, amount: Decimal, address: str, ticket_reference: str = ""
) -> RecoveryRequest:
    """Record the request and run the automatic checks: is there such a transfer to an address of
    ours, was it already credited, is it the user's, do we list the asset. A request that passes
    gets a fee quote at once. A support ticket follows it: the customer's open ticket
    `ticket_reference` if they chose one, else a new fund_recovery ticket."""
    tx_hash, chain, token, address = tx_hash.strip(), chain.strip().upper(), token.strip().upper(), address.strip()
    if amount is None or amount <= 0:
        raise RecoveryRefused("invalid_amount", _("Enter an amount greater than zero."))
    if (
        RecoveryRequest.objects.filter(user=user, chain=chain, tx_hash=tx_hash)
        .exclude(status__in=[RecoveryRequest.Status.REJECTED, RecoveryRequest.Status.DECLINED])
        .exists()
    ):
        raise RecoveryRefused("duplicate", _("A recovery request for this transaction is already open."))
    request = RecoveryRequest.objects.create(user=user, tx_hash=tx_hash, chain=chain, token=token, amount=amount, address=address)
    deposit = Deposit.objects.select_for_update(no_key=True).filter(chain=chain, tx_hash=tx_hash).first()
    asset = Asset.objects.filter(symbol=token, is_active=True).first()
    reject = None
    if deposit is None:
        reject = RecoveryRejection.NOT_FOUND
    elif deposit.status in (Deposit.Status.CREDITED, Deposit.Status.RECOVERED):
        reject = RecoveryRejection.ALREADY_CREDITED
    elif deposit.status != Deposit.Status.UNMATCHED:
        reject = RecoveryRejection.STILL_CONFIRMING
    elif deposit.user_id not in (None, user.pk):
        reject = RecoveryRejection.NOT_YOURS
    elif deposit.token != token or deposit.amount != amount or deposit.address != address:
        reject = RecoveryRejection.DETAILS_DIFFER
    elif asset is None:
        reject = RecoveryRejection.ASSET_UNLISTED
    if reject:
        request.check_result, request.rejection, request.status = reject.value, reject.value, RecoveryRequest.Status.REJECTED
    elif deposit.user_id is None:
        # Nothing on chain says whose it is (hash, amount and address are public): an operator
        # checks the sender's proof before anything is quoted.
        request.deposit, request.asset, request.check_result = deposit, asset, "ownership_unverified"
        request.fee = recovery_fee(amount=amount, asset=asset)
    else:
        request.deposit, request.asset, request.check_result = deposit, asset, "ok"
        _quote(request)
    request.save()
    recovery_ticket_open(request=request, ticket_reference=ticket_reference)
    return request


def _quote(request: RecoveryRequest) -> None:
    request.fee, request.status = recovery_fee(amount=request.amount, asset=request.asset), RecoveryRequest.Status.QUOTED
    notice_create(user=request.user, kind=Notice.Kind.RECOVERY_QUOTED, object_id=request.pk)


@transaction.atomic
def recovery_ownership_verify(*, request: RecoveryRequest, by: User) -> RecoveryRequest:
    """An operator has checked the sender's proof (a signed message from the sending address, an
    exchange statement): the request is quoted to the user."""
    request = RecoveryRequest.objects.select_for_update(no_key=True, of=("self",)).select_related("asset").get(pk=request.pk)
    if request.status != RecoveryRequest.Status.SUBMITTED or request.check_result != "ownership_unverified":
        raise RecoveryRefused("not_unverified", "only a request waiting for ownership proof can be verified")
    if by.pk == request.user_id:
        raise RecoveryRefused("own_request", "nobody verifies their own request")
    request.verified_by, request.check_result = by, "ok"
    _quote(request)
    request.save()
    _ticket_hear(request)
    return request


@transaction.atomic
def recovery_answer(*, request: RecoveryRequest, user: User, accept: bool) -> RecoveryRequest:
    request = RecoveryRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
    if request.user_id != user.pk or request.status != RecoveryRequest.Status.QUOTED:
        raise RecoveryRefused("not_quoted", _("This request is not waiting for your answer."))
    request.status = RecoveryRequest.Status.ACCEPTED if accept else RecoveryRequest.Status.DECLINED
    request.save(update_fields=["status", "updated_at"])
    _ticket_hear(request)
    return request


@transaction.atomic
def recovery_approve(*, request: RecoveryRequest, by: User) -> RecoveryRequest:
    """First approval records the operator; a second, different operator's approval credits the
    user (amount minus the fee) from custody on that network, or from the adjustments account
    when we do not list the asset on the network it arrived on."""
    request = RecoveryRequest.objects.select_for_update(no_key=True, of=("self",)).select_related("asset", "user").get(pk=request.pk)
    if by.pk == request.user_id:
        raise RecoveryRefused("own_request", "nobody approves their own request")
    if request.status == RecoveryRequest.Status.ACCEPTED:
        request.first_approver, request.status = by, RecoveryRequest.Status.APPROVED_ONCE
        request.save(update_fields=["first_approver", "status", "updated_at"])
        _ticket_hear(request)
        return request
    if request.status != RecoveryRequest.Status.APPROVED_ONCE:
        raise RecoveryRefused("not_approvable", "only an accepted request can be approved")
    if request.first_approver_id == by.pk:
        raise RecoveryRefused("four_eyes", "a second, different operator must approve")
    deposit = Deposit.objects.select_for_update(no_key=True).get(pk=request.deposit_id)
    if deposit.status != Deposit.Status.UNMATCHED:  # another claim on the same transfer was credited first
        raise RecoveryRefused("already_recovered", "this transfer was already recovered")
    asset, amount, fee = request.asset, request.amount, request.fee
    network = Network.objects.filter(asset=asset, code=request.chain).first()
    source = (
        system_account(kind=AccountKind.CUSTODY, asset=asset, network=network)
        if network
        else system_account(kind=AccountKind.ADJUSTMENTS, asset=asset)
    )
    lines = [Line(source, -amount)]
    if amount - fee > 0:
        lines.append(Line(user_account(user=request.user, asset=asset), amount - fee))
    if fee > 0:
        lines.append(Line(system_account(kind=AccountKind.FEES, asset=asset), fee))
    try:
        request.journal = journal_post(
            kind=Journal.Kind.RECOVERY,
            idempotency_key=f"recovery-{request.pk}",
            created_by=by,
            memo=f"fund recovery #{request.pk} {request.chain}:{request.tx_hash}",
            lines=lines,
        )
    except InvalidAmount as error:
        raise RecoveryRefused("invalid_amount", error.message)
    request.second_approver, request.status = by, RecoveryRequest.Status.CREDITED
    request.save(update_fields=["journal", "second_approver", "status", "updated_at"])
    deposit.status = Deposit.Status.RECOVERED
    deposit.save(update_fields=["status"])
    notice_create(user=request.user, kind=Notice.Kind.RECOVERY_DONE, object_id=request.pk)
    _ticket_hear(request)
    return request


@transaction.atomic
def recovery_reject(*, request: RecoveryRequest, by: User, rejection: str, note: str = "") -> RecoveryRequest:
    """An operator rejects with a reason from RecoveryRejection (the customer is emailed its text in
    their own language) and an optional note that stays with the staff."""
    request = RecoveryRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
    if request.status in (RecoveryRequest.Status.CREDITED, RecoveryRequest.Status.REJECTED, RecoveryRequest.Status.DECLINED):
        raise RecoveryRefused("finished", "this request is already finished")
    if rejection not in RecoveryRejection.values:
        raise RecoveryRefused("reason_required", "pick a reason from the list")
    request.status, request.rejection, request.reject_note, request.check_result = (
        RecoveryRequest.Status.REJECTED,
        rejection,
        note.strip()[:500],
        "rejected_by_operator",
    )
    request.save(update_fields=["status", "rejection", "reject_note", "check_result", "updated_at"])
    notice_create(user=request.user, kind=Notice.Kind.RECOVERY_DONE, object_id=request.pk)
    _ticket_hear(request)
    return request
