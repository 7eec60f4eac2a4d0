"""Deposits: chain transfers to our addresses become credits, exactly once.

seen -> confirming (count shown) -> credited after the network's confirmations. The scanner may
read a block any number of times (unique chain+tx+index); crediting locks the deposit row and
posts a journal keyed by the deposit, so a retried task or a second worker credits nothing twice.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from wallets.chains import ChainTransfer, chain_adapter
from wallets.ledger import LedgerError, Line, journal_post, system_account, user_account
from wallets.models import AccountKind, ChainCursor, Deposit, DepositAddress, Journal, Network, Notice
from wallets.services.notices import notice_create

log = logging.getLogger(__name__)


def deposit_address_for(*, user, network: Network) -> DepositAddress:
    """The user's address on the network's chain, created on first use (memo chains add a memo)."""
    found = DepositAddress.objects.filter(user=user, chain=network.code).first()
    if found is not None:
        return found
    adapter = chain_adapter(network.code)
    for attempt in range(5):
        address, memo = adapter.deposit_address(user_id=user.pk, attempt=attempt)
        try:
            with transaction.atomic():
                return DepositAddress.objects.create(user=user, chain=network.code, address=address, memo=memo)
        except IntegrityError:
            found = DepositAddress.objects.filter(user=user, chain=network.code).first()
            if found is not None:  # created concurrently for the same user
                return found
    raise RuntimeError(f"could not allocate a deposit address on {network.code}")


def _owner(adapter, transfer: ChainTransfer) -> DepositAddress | None:
    candidates = DepositAddress.objects.select_related("user").filter(
        chain__in=adapter.family, address=adapter.normalize(transfer.to_address)
    )
    if adapter.uses_memo:
        return candidates.filter(memo=transfer.memo.strip()).first() if transfer.memo.strip() else None
    return candidates.first()


def deposit_record(*, chain: str, transfer: ChainTransfer) -> Deposit | None:
    """Record an incoming transfer once. Transfers to our hot wallet on an address chain are
    custody top-ups, not deposits (reconciliation sees them). Returns the deposit or None."""
    adapter = chain_adapter(chain)
    if not transfer.amount > 0:  # zero-value transfers (address poisoning, spam) are not deposits
        return None
    owner = _owner(adapter, transfer)
    if owner is None and not (adapter.uses_memo and adapter.normalize(transfer.to_address) == adapter.hot_wallet()):
        return None
    if owner is None and adapter.is_internal_source(transfer.from_address):
        return None  # our own top-up of the shared memo-chain wallet, not a deposit
    network = Network.objects.filter(code=chain, asset__symbol=transfer.token, asset__is_active=True).select_related("asset").first()
    problem = ""
    if network is None:
        problem = Deposit.Problem.UNLISTED_ASSET
    elif owner is None:
        problem = Deposit.Problem.MEMO_MISSING
    elif transfer.amount != transfer.amount.quantize(network.asset.quantum):
        problem = Deposit.Problem.TOO_PRECISE  # the ledger is exact: never rounded away, kept for recovery
    defaults = {
        "token": transfer.token,
        "address": adapter.normalize(transfer.to_address),
        "memo": transfer.memo,
        "amount": transfer.amount,
        "from_address": transfer.from_address,
        "block_height": transfer.height,
        "user": owner.user if owner else None,
        "network": network,
        "status": Deposit.Status.UNMATCHED if problem else Deposit.Status.SEEN,
        "problem": problem,
    }
    try:
        with transaction.atomic():
            deposit, _created = Deposit.objects.get_or_create(
                chain=chain, tx_hash=transfer.tx_hash, tx_index=transfer.index, defaults=defaults
            )
    except IntegrityError:
        deposit = Deposit.objects.get(chain=chain, tx_hash=transfer.tx_hash, tx_index=transfer.index)
    return deposit


@transaction.atomic
def deposit_credit(*, deposit_id: int, confirmations: int) -> Deposit:
    """Update a deposit's confirmation count; credit it once it has enough. Safe to repeat."""
    deposit = Deposit.objects.select_for_update(no_key=True, of=("self",)).select_related("network__asset", "user").get(pk=deposit_id)
    if deposit.status not in (Deposit.Status.SEEN, Deposit.Status.CONFIRMING):
        return deposit
    network = deposit.network
    if confirmations < network.confirmations or not network.deposit_enabled:
        status = Deposit.Status.CONFIRMING if confirmations > 0 else Deposit.Status.SEEN
        if (deposit.confirmations, deposit.status) != (confirmations, status):  # most scans change nothing: no write
            deposit.confirmations, deposit.status = confirmations, status
            deposit.save(update_fields=["confirmations", "status"])
        return deposit
    deposit.confirmations = confirmations
    custody = system_account(kind=AccountKind.CUSTODY, asset=network.asset, network=network)
    account = user_account(user=deposit.user, asset=network.asset)
    deposit.journal = journal_post(
        kind=Journal.Kind.DEPOSIT,
        idempotency_key=f"deposit-{deposit.pk}",
        memo=f"deposit {deposit.chain}:{deposit.tx_hash}#{deposit.tx_index}",
        lines=[Line(custody, -deposit.amount), Line(account, deposit.amount)],
    )
    deposit.status, deposit.credited_at = Deposit.Status.CREDITED, timezone.now()
    deposit.save(update_fields=["confirmations", "status", "journal", "credited_at"])
    notice_create(user=deposit.user, kind=Notice.Kind.DEPOSIT_CREDITED, object_id=deposit.pk)
    return deposit


def chain_scan(*, chain: str) -> dict:
    """Read new blocks of one chain, record transfers, then advance confirmations and credit.
    One scanner per chain at a time (the cursor row is locked)."""
    adapter = chain_adapter(chain)
    with transaction.atomic():
        cursor, _created = ChainCursor.objects.get_or_create(chain=chain)
        cursor = ChainCursor.objects.select_for_update(no_key=True).get(pk=cursor.pk)
        tip = adapter.height()
        recorded = 0
        if tip > cursor.scanned_height:
            for transfer in adapter.transfers(after_height=cursor.scanned_height, up_to_height=tip):
                recorded += deposit_record(chain=chain, transfer=transfer) is not None
            cursor.scanned_height = tip
            cursor.save(update_fields=["scanned_height", "updated_at"])
    credited = 0
    pending = Deposit.objects.filter(chain=chain, status__in=[Deposit.Status.SEEN, Deposit.Status.CONFIRMING]).values_list(
        "pk", "block_height"
    )
    for pk, height in list(pending):
        try:
            credited += (
                deposit_credit(deposit_id=pk, confirmations=adapter.confirmations(height=height, tip=tip)).status == Deposit.Status.CREDITED
            )
        except LedgerError:  # one bad deposit must not stop the chain: it is logged and retried next scan
            log.exception("deposit %s could not be credited", pk)
    from wallets.services.withdrawals import withdrawals_confirm

    confirmed = withdrawals_confirm(chain=chain, tip=tip)
    return {"chain": chain, "tip": tip, "recorded": recorded, "credited": credited, "withdrawals_completed": confirmed}
