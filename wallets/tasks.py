"""Celery interface to the wallet services: tasks take ids, re-fetch, call a service, and are safe
to run twice."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from wallets import selectors, services
from wallets.chains import chain_adapter
from wallets.models import Deposit, Notice, PayoutLine, Reconciliation, RecoveryRequest, Withdrawal

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def chain_tick() -> None:
    """Advance every simulated chain by one block, then scan all chains (the beat schedule)."""
    from wallets.chains.simulated import SimulatedChain

    chains = selectors.chains_active()
    for chain in chains:
        adapter = chain_adapter(chain)
        if isinstance(adapter, SimulatedChain):
            adapter.mine()
    for chain in chains:
        chain_scan_task.delay(chain)


@shared_task(ignore_result=True)
def chain_scan_task(chain: str) -> dict:
    return services.chain_scan(chain=chain)


@shared_task(ignore_result=True, autoretry_for=(OSError, ConnectionError), retry_backoff=True, max_retries=10)
def withdrawal_broadcast_task(withdrawal_id: int) -> None:
    services.withdrawal_broadcast(withdrawal_id=withdrawal_id)


@shared_task(ignore_result=True)
def withdrawals_broadcast_pending() -> None:
    """Sweep: a withdrawal whose task was lost (a worker crash before the ack, or between the chain
    accepting it and our commit) is sent or settled here; the adapter returns the same transaction."""
    for pk in Withdrawal.objects.filter(status__in=[Withdrawal.Status.QUEUED, Withdrawal.Status.SENDING]).values_list("pk", flat=True):
        services.withdrawal_broadcast(withdrawal_id=pk)


@shared_task(ignore_result=True)
def holdings_snapshot_task() -> None:
    services.holdings_snapshot_take()


@shared_task(ignore_result=True, acks_late=True)
def payout_execute_task(payout_id: int) -> None:
    services.payout_execute(payout_id=payout_id)


@shared_task(ignore_result=True)
def reconciliation_task() -> None:
    services.reconciliation_run(trigger=Reconciliation.Trigger.SCHEDULED)


# --- Notices ------------------------------------------------------------------------------------------

_OBJECTS = {
    Notice.Kind.DEPOSIT_CREDITED: (Deposit, ["network__asset"]),
    Notice.Kind.WITHDRAWAL_SENT: (Withdrawal, ["network__asset"]),
    Notice.Kind.WITHDRAWAL_REJECTED: (Withdrawal, ["network__asset"]),
    Notice.Kind.TRANSFER_RECEIVED: (Withdrawal, ["network__asset", "user"]),
    Notice.Kind.PAYOUT_CREDITED: (PayoutLine, ["payout__reward_asset", "payout__source_asset"]),
    Notice.Kind.RECOVERY_QUOTED: (RecoveryRequest, ["asset"]),
    Notice.Kind.RECOVERY_DONE: (RecoveryRequest, ["asset"]),
}


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notice_send(notice_id: int) -> None:
    """Email a wallet notice in the user's language, once (a retry after success sends nothing)."""
    from accounts.tasks import mail_to_user

    with transaction.atomic():
        notice = Notice.objects.select_for_update(no_key=True, of=("self",)).select_related("user").filter(pk=notice_id).first()
        if notice is None or notice.sent_at is not None:
            return
        model, related = _OBJECTS[notice.kind]
        obj = model.objects.select_related(*related).get(pk=notice.object_id)
        mail_to_user(user=notice.user, template="wallet_notice", context={"notice": notice, "object": obj})
        notice.sent_at = timezone.now()
        notice.save(update_fields=["sent_at"])
