"""Withdrawals: every rule before money moves, then a hold, then broadcast through the adapter.

Guarantees: a request with a used idempotency key returns the first withdrawal; the user's
ledger row is locked before the daily limit is summed and the hold is placed, so concurrent
requests cannot together pass the limit or overdraw; broadcast is idempotent (adapter keyed by
the withdrawal), and the withdrawal row lock makes cancel, review and broadcast exclusive.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import SecurityEvent, User
from accounts.selectors import user_has_totp
from accounts.services import NO_CLIENT, ClientInfo, TotpRefused, security_event_record, totp_verify, withdrawal_lock_apply
from config.errors import AppError
from config.formatting import amount_text, datetime_in_zone, time_zone_city
from wallets.chains import chain_adapter
from wallets.chains.addresses import AddressInvalid
from wallets.ledger import (
    InsufficientFunds,
    InvalidAmount,
    Line,
    accounts_lock,
    amount_parse,
    hold_release,
    journal_post,
    system_account,
    user_account,
)
from wallets.models import AccountKind, DepositAddress, Entry, Journal, Network, Notice, Withdrawal, WithdrawalAddress, WithdrawalRejection
from wallets.services.notices import notice_create


class WithdrawalRefused(AppError):
    """A withdrawal the rules refuse; `message` is translated and says what to do."""


def _amount_checked(network: Network, amount) -> Decimal:
    """Exact, positive and within the network's maximum, or WithdrawalRefused with the reason."""
    asset = network.asset
    try:
        amount = amount_parse(amount, asset)
    except InvalidAmount:
        amount = None
    if amount is None or amount <= 0:
        raise WithdrawalRefused(
            "invalid_amount",
            ngettext(
                "Enter an amount with at most %(places)s decimal.", "Enter an amount with at most %(places)s decimals.", asset.precision
            )
            % {"places": asset.precision},
        )
    if amount > network.withdrawal_max:
        raise WithdrawalRefused(
            "above_maximum",
            _("The maximum withdrawal on this network is %(amount)s %(asset)s.")
            % {"amount": amount_text(network.withdrawal_max), "asset": asset.symbol},
        )
    return amount


def withdrawal_quote(*, network: Network, amount) -> tuple[Decimal, Decimal, Decimal]:
    """(amount, fee, net) for an external withdrawal, or WithdrawalRefused with the reason."""
    asset = network.asset
    amount = _amount_checked(network, amount)
    if amount < network.withdrawal_min:
        raise WithdrawalRefused(
            "below_minimum",
            _("The minimum withdrawal on this network is %(amount)s %(asset)s.")
            % {"amount": amount_text(network.withdrawal_min), "asset": asset.symbol},
        )
    if amount <= network.withdrawal_fee:
        raise WithdrawalRefused(
            "below_fee",
            _("The amount must be more than the network fee of %(amount)s %(asset)s.")
            % {"amount": amount_text(network.withdrawal_fee), "asset": asset.symbol},
        )
    return amount, network.withdrawal_fee, amount - network.withdrawal_fee


def internal_recipient(*, network: Network, address: str, memo: str) -> User | None:
    """The Agora user whose deposit address this is, if any."""
    adapter = chain_adapter(network.code)
    owners = DepositAddress.objects.select_related("user").filter(chain__in=adapter.family, address=adapter.normalize(address))
    if adapter.uses_memo:
        owners = owners.filter(memo=memo.strip())
    found = owners.first()
    return found.user if found else None


def _account_checks(user: User) -> None:
    if user.is_frozen:
        raise WithdrawalRefused("account_frozen", _("Your account is frozen. Contact support to unfreeze it."))
    if user.withdrawals_locked:
        raise WithdrawalRefused(
            "security_lock",
            _("Withdrawals are locked for 24 hours after a security change, until %(until)s (%(zone)s).")
            % {"until": datetime_in_zone(user.withdrawals_locked_until, user.time_zone), "zone": time_zone_city(user.time_zone)},
        )


def withdrawal_destination(*, user: User, network: Network, address: str, memo: str = "") -> tuple[str, str, User | None]:
    """(address, memo, recipient): the destination in the chain's canonical form and the Agora
    user it belongs to (an internal transfer), or WithdrawalRefused. The chain adapter decides
    whether the chain can send there; one of our own addresses that is nobody's deposit address
    (the hot wallet, or the shared memo-chain address with a tag nobody owns) is refused, as an
    external send to it would debit the user while the coins stay in our custody."""
    adapter = chain_adapter(network.code)
    try:
        address, memo = adapter.destination_check(address=address or "", memo=memo or "")
    except AddressInvalid as invalid:
        raise WithdrawalRefused(invalid.code, invalid.message)
    address = adapter.normalize(address)
    if network.memo_required and not memo:
        raise WithdrawalRefused("memo_required", _("This network needs a memo (tag). Without it the funds can be lost."))
    recipient = internal_recipient(network=network, address=address, memo=memo)
    if recipient is not None and recipient.pk == user.pk:
        raise WithdrawalRefused("own_address", _("This is your own deposit address."))
    if recipient is None and _platform_address(network=network, address=address):
        if adapter.uses_memo:
            message = _("This is an Agora deposit address, and no account uses this tag. Check the recipient's tag.")
        else:
            message = _("This is an address of Agora's own wallet, not an account's deposit address. Check the address.")
        raise WithdrawalRefused("platform_address", message)
    return address, memo, recipient


def _platform_address(*, network: Network, address: str) -> bool:
    adapter = chain_adapter(network.code)
    if address == adapter.normalize(adapter.hot_wallet()):
        return True
    return DepositAddress.objects.filter(chain__in=adapter.family, address=address).exists()


def _address_book_checks(*, user: User, network: Network, address: str, memo: str) -> None:
    if user.withdrawal_whitelist_only:
        entry = WithdrawalAddress.objects.filter(user=user, network=network, address=address, memo=memo).first()
        if entry is None:
            raise WithdrawalRefused(
                "address_not_whitelisted", _("You only allow withdrawals to your address book. Add this address first.")
            )
        if entry.is_cooling:
            raise WithdrawalRefused(
                "address_cooling",
                _("This address was added recently and can be used from %(when)s (%(zone)s).")
                % {"when": datetime_in_zone(entry.usable_from, user.time_zone), "zone": time_zone_city(user.time_zone)},
            )


def _daily_limit_check(*, user: User, network: Network, amount: Decimal) -> None:
    limit = network.asset.withdrawal_daily_limit
    if not limit:
        return
    since = timezone.now() - timedelta(hours=24)
    used = (
        Withdrawal.objects.filter(user=user, network__asset=network.asset, created_at__gte=since)
        .exclude(status__in=[Withdrawal.Status.REJECTED, Withdrawal.Status.CANCELLED])
        .aggregate(total=Sum("amount"))["total"]
    ) or Decimal(0)
    if used + amount > limit:
        raise WithdrawalRefused(
            "daily_limit",
            _("This exceeds your 24-hour withdrawal limit: %(left)s %(asset)s left of %(limit)s.")
            % {"left": amount_text(max(limit - used, Decimal(0))), "asset": network.asset.symbol, "limit": amount_text(limit)},
        )


def internal_quote(*, network: Network, amount) -> tuple[Decimal, Decimal, Decimal]:
    """(amount, 0, amount) for a transfer to another Agora user: no fee and no on-chain minimum,
    but the network's maximum still applies."""
    amount = _amount_checked(network, amount)
    return amount, Decimal(0), amount


def withdrawal_request(
    *,
    user: User,
    network: Network,
    address: str,
    amount,
    memo: str = "",
    mfa_code: str,
    idempotency_key: str,
    client: ClientInfo = NO_CLIENT,
) -> Withdrawal:
    """Validate and reserve a withdrawal (see the module docstring). Raises WithdrawalRefused.
    The TOTP code goes through accounts.services.totp_verify (attempt-limited per user and per
    client.ip; a lock-out is refused as `mfa_locked`)."""
    existing = Withdrawal.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    user = User.objects.get(pk=user.pk)  # freeze and lock state as of now
    _account_checks(user)
    if not user_has_totp(user=user):
        raise WithdrawalRefused("mfa_required", _("Turn on two-factor authentication before you withdraw."))
    if not network.withdrawal_enabled:
        raise WithdrawalRefused("network_suspended", _("Withdrawals on this network are suspended. Try another network or later."))
    address, memo, recipient = withdrawal_destination(user=user, network=network, address=address, memo=memo)
    _address_book_checks(user=user, network=network, address=address, memo=memo)
    quote = internal_quote if recipient is not None else withdrawal_quote
    amount, fee, net = quote(network=network, amount=amount)
    try:
        totp_verify(user=user, code=mfa_code, ip=client.ip, purpose="withdrawal")
    except TotpRefused as refused:
        raise WithdrawalRefused(refused.code, refused.message)
    with transaction.atomic():
        account = user_account(user=user, asset=network.asset)
        target = user_account(user=recipient, asset=network.asset) if recipient is not None else None
        # Both sides locked up front in id order: A->B and B->A at once cannot deadlock. This also
        # serialises the user's requests in this asset, so the daily limit is summed under the lock.
        accounts_lock(a.pk for a in (account, target) if a)
        existing = Withdrawal.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        _daily_limit_check(user=user, network=network, amount=amount)
        threshold = network.asset.withdrawal_review_threshold
        status = Withdrawal.Status.REVIEW if threshold and amount > threshold else Withdrawal.Status.QUEUED
        withdrawal = Withdrawal.objects.create(
            user=user,
            network=network,
            address=address,
            memo=memo,
            amount=amount,
            fee=fee,
            net_amount=net,
            status=status,
            idempotency_key=idempotency_key,
            internal_recipient=recipient,
        )
        try:
            if recipient is not None and status == Withdrawal.Status.QUEUED:
                _internal_settle(withdrawal, Entry.Bucket.AVAILABLE)  # instant: no hold needed
                return withdrawal
            journal_post(
                kind=Journal.Kind.HOLD,
                idempotency_key=f"withdrawal-hold-{withdrawal.pk}",
                memo=f"withdrawal #{withdrawal.pk}",
                lines=[Line(account, -amount, Entry.Bucket.AVAILABLE), Line(account, amount, Entry.Bucket.LOCKED)],
            )
        except InsufficientFunds:
            raise WithdrawalRefused("insufficient_balance", _("Your available balance is too low for this amount."))
        if withdrawal.status == Withdrawal.Status.QUEUED:
            _broadcast_after_commit(withdrawal.pk)
    return withdrawal


def _internal_settle(withdrawal: Withdrawal, bucket: str) -> None:
    """Move the amount to the recipient (from available when instant, from the hold after review)."""
    asset = withdrawal.network.asset
    source, target = user_account(user=withdrawal.user, asset=asset), user_account(user=withdrawal.internal_recipient, asset=asset)
    withdrawal.journal = journal_post(
        kind=Journal.Kind.TRANSFER,
        idempotency_key=f"withdrawal-{withdrawal.pk}",
        memo=f"internal transfer #{withdrawal.pk}",
        lines=[Line(source, -withdrawal.amount, bucket), Line(target, withdrawal.amount)],
    )
    withdrawal.status, withdrawal.finished_at = Withdrawal.Status.COMPLETED, timezone.now()
    withdrawal.save(update_fields=["status", "finished_at", "journal"])
    notice_create(user=withdrawal.internal_recipient, kind=Notice.Kind.TRANSFER_RECEIVED, object_id=withdrawal.pk)


def _broadcast_after_commit(withdrawal_id: int) -> None:
    from wallets.tasks import withdrawal_broadcast_task

    transaction.on_commit(lambda: withdrawal_broadcast_task.delay(withdrawal_id))


def _locked(withdrawal_id: int) -> Withdrawal:
    return Withdrawal.objects.select_for_update(no_key=True, of=("self",)).select_related("network__asset", "user").get(pk=withdrawal_id)


def _release(withdrawal: Withdrawal) -> None:
    hold_release(
        account=user_account(user=withdrawal.user, asset=withdrawal.network.asset),
        amount=withdrawal.amount,
        idempotency_key=f"withdrawal-release-{withdrawal.pk}",
        memo=f"withdrawal #{withdrawal.pk} {withdrawal.status}",
    )


@transaction.atomic
def withdrawal_cancel(*, withdrawal: Withdrawal, user: User) -> Withdrawal:
    """The user cancels before broadcast; the hold is released."""
    withdrawal = _locked(withdrawal.pk)
    if withdrawal.user_id != user.pk:
        raise WithdrawalRefused("not_found", _("Withdrawal not found."))
    if withdrawal.status not in Withdrawal.CANCELLABLE:
        raise WithdrawalRefused("not_cancellable", _("This withdrawal was already sent and cannot be cancelled."))
    withdrawal.status, withdrawal.finished_at = Withdrawal.Status.CANCELLED, timezone.now()
    withdrawal.save(update_fields=["status", "finished_at"])
    _release(withdrawal)
    return withdrawal


@transaction.atomic
def withdrawal_review(*, withdrawal: Withdrawal, by: User, approve: bool, note: str = "", rejection: str = "") -> Withdrawal:
    """An operator approves (-> sent, a note required) or rejects (-> hold released, user told) a
    withdrawal in review. A rejection takes a reason from WithdrawalRejection, which the customer is
    emailed in their own language; the note stays with the staff. A frozen or security-locked
    account's withdrawal can only be rejected."""
    withdrawal = _locked(withdrawal.pk)
    if withdrawal.status != Withdrawal.Status.REVIEW:
        raise WithdrawalRefused("not_in_review", "this withdrawal is not waiting for review")
    if approve and not note.strip():
        raise WithdrawalRefused("reason_required", "a reason is required")
    if not approve and rejection not in WithdrawalRejection.values:
        raise WithdrawalRefused("reason_required", "pick a reason from the list")
    if withdrawal.user_id == by.pk:
        raise WithdrawalRefused("own_withdrawal", "nobody reviews their own withdrawal")
    owner = User.objects.get(pk=withdrawal.user_id)
    if approve and (owner.is_frozen or owner.withdrawals_locked):
        raise WithdrawalRefused("account_frozen", "the account is frozen or security-locked: reject it, or wait for the lift")
    withdrawal.reviewed_by, withdrawal.reviewed_at, withdrawal.review_note = by, timezone.now(), note.strip()[:500]
    if approve:
        withdrawal.status = Withdrawal.Status.QUEUED
        _broadcast_after_commit(withdrawal.pk)
    else:
        withdrawal.status, withdrawal.finished_at, withdrawal.rejection = Withdrawal.Status.REJECTED, timezone.now(), rejection
        _release(withdrawal)
        notice_create(user=withdrawal.user, kind=Notice.Kind.WITHDRAWAL_REJECTED, object_id=withdrawal.pk)
    withdrawal.save()
    return withdrawal


def withdrawal_broadcast(*, withdrawal_id: int) -> Withdrawal:
    """Send a queued withdrawal and settle it. Safe to run again at any point:
    1. under the row lock: a frozen or locked account's withdrawal goes back to review; an internal
       one settles from the hold; otherwise it becomes SENDING (no longer cancellable) and commits;
    2. the chain call, outside any transaction (a node can be slow), idempotent by the key;
    3. under the row lock: the hold leaves the user, the net amount leaves custody, the fee goes to
       the fee account (journal keyed by the withdrawal), and it becomes BROADCAST.
    A crash between 2 and 3 leaves it SENDING; the retry gets the same transaction back."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status == Withdrawal.Status.QUEUED:
            owner = User.objects.get(pk=withdrawal.user_id)
            if owner.is_frozen or owner.withdrawals_locked:
                withdrawal.status = Withdrawal.Status.REVIEW
                withdrawal.review_note = "held: the account was frozen or security-locked before it was sent"
                withdrawal.save(update_fields=["status", "review_note"])
                return withdrawal
            if withdrawal.is_internal:
                _internal_settle(withdrawal, Entry.Bucket.LOCKED)
                return withdrawal
            withdrawal.status = Withdrawal.Status.SENDING
            withdrawal.save(update_fields=["status"])
        elif withdrawal.status != Withdrawal.Status.SENDING:
            return withdrawal
    network, asset = withdrawal.network, withdrawal.network.asset
    tx_hash = chain_adapter(network.code).broadcast(
        key=f"withdrawal-{withdrawal.pk}",
        token=asset.symbol,
        to_address=withdrawal.address,
        memo=withdrawal.memo,
        amount=withdrawal.net_amount,
    )
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status != Withdrawal.Status.SENDING:
            return withdrawal
        lines = [
            Line(user_account(user=withdrawal.user, asset=asset), -withdrawal.amount, Entry.Bucket.LOCKED),
            Line(system_account(kind=AccountKind.CUSTODY, asset=asset, network=network), withdrawal.net_amount),
        ]
        if withdrawal.fee:
            lines.append(Line(system_account(kind=AccountKind.FEES, asset=asset), withdrawal.fee))
        withdrawal.journal = journal_post(
            kind=Journal.Kind.WITHDRAWAL,
            idempotency_key=f"withdrawal-{withdrawal.pk}",
            memo=f"withdrawal #{withdrawal.pk} {tx_hash}",
            lines=lines,
        )
        withdrawal.tx_hash, withdrawal.status, withdrawal.broadcast_at = tx_hash, Withdrawal.Status.BROADCAST, timezone.now()
        withdrawal.save(update_fields=["tx_hash", "status", "broadcast_at", "journal"])
        notice_create(user=withdrawal.user, kind=Notice.Kind.WITHDRAWAL_SENT, object_id=withdrawal.pk)
    return withdrawal


def withdrawals_confirm(*, chain: str, tip: int) -> int:
    """Count confirmations of sent withdrawals; complete those with enough."""
    adapter = chain_adapter(chain)
    completed = 0
    for withdrawal in Withdrawal.objects.filter(network__code=chain, status=Withdrawal.Status.BROADCAST).select_related("network"):
        height = adapter.transaction_height(tx_hash=withdrawal.tx_hash)
        if height is None:
            continue
        withdrawal.block_height, withdrawal.confirmations = height, adapter.confirmations(height=height, tip=tip)
        if withdrawal.confirmations >= withdrawal.network.confirmations:
            withdrawal.status, withdrawal.finished_at = Withdrawal.Status.COMPLETED, timezone.now()
            completed += 1
        Withdrawal.objects.filter(pk=withdrawal.pk, status=Withdrawal.Status.BROADCAST).update(
            block_height=height, confirmations=withdrawal.confirmations, status=withdrawal.status, finished_at=withdrawal.finished_at
        )
    return completed


# --- Address book -------------------------------------------------------------------------------------


@transaction.atomic
def address_book_add(
    *, user: User, network: Network, label: str, address: str, memo: str = "", client: ClientInfo = NO_CLIENT
) -> WithdrawalAddress:
    """Add an entry, usable after the cooling period; the user is emailed (with the freeze link)."""
    label = label.strip()
    if not label:
        raise WithdrawalRefused("label_required", _("Enter a label for the address."))
    address, memo, _recipient = withdrawal_destination(user=user, network=network, address=address, memo=memo)
    if WithdrawalAddress.objects.filter(user=user, network=network, address=address, memo=memo).exists():
        raise WithdrawalRefused("address_exists", _("This address is already in your address book."))
    now = timezone.now()
    entry = WithdrawalAddress.objects.create(
        user=user,
        network=network,
        label=label[:64],
        address=address,
        memo=memo,
        created_at=now,
        usable_from=now + timedelta(hours=settings.WITHDRAWAL_ADDRESS_COOLING_HOURS),
    )
    security_event_record(
        user=user,
        kind=SecurityEvent.Kind.ADDRESS_ADDED,
        client=client,
        data={"network": str(network), "address": address, "label": entry.label},
    )
    return entry


def address_book_remove(*, user: User, entry_id: int) -> None:
    WithdrawalAddress.objects.filter(user=user, pk=entry_id).delete()


@transaction.atomic
def whitelist_mode_set(*, user: User, enabled: bool, client: ClientInfo = NO_CLIENT) -> User:
    """Turning address-book-only on is immediate; turning it off locks withdrawals for 24 h."""
    if user.withdrawal_whitelist_only == enabled:
        return user
    User.objects.filter(pk=user.pk).update(withdrawal_whitelist_only=enabled)
    user.withdrawal_whitelist_only = enabled
    security_event_record(user=user, kind=SecurityEvent.Kind.WHITELIST_CHANGED, client=client, data={"enabled": enabled})
    if not enabled:
        withdrawal_lock_apply(user=user, reason="whitelist_disabled", client=client)
    return user
