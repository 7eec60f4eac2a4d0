"""The support desk's outbound mail, sent by the worker (support/services/notify.py queues it after
commit). Re-exported by support/tasks.py so the worker's autodiscovery registers it."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from support.models import OutboundMail

log = logging.getLogger(__name__)
__all__ = ["support_mail_send"]  # what support/tasks.py re-exports with *


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def support_mail_send(outbound_id: int) -> None:
    """Email one queued support mail to the customer, once: the row is locked while it is sent and
    stamped `sent_at`, so a second run (a retry, a duplicate delivery of the task) sends nothing."""
    from support.services.notify import outbound_mail_build

    with transaction.atomic():
        outbound = (
            OutboundMail.objects.select_for_update(no_key=True, of=("self",))
            .select_related("ticket__customer", "message__author", "status_event")
            .filter(pk=outbound_id)
            .first()
        )
        if outbound is None or outbound.sent_at is not None:
            return
        customer = outbound.ticket.customer
        if not customer.is_active:
            log.info("support mail %s not sent: the customer's account is inactive", outbound.pk)
            return
        email = outbound_mail_build(outbound=outbound)
        email.send()
        outbound.recipient, outbound.language, outbound.sent_at = customer.email, customer.language, timezone.now()
        outbound.save(update_fields=["recipient", "language", "sent_at"])
    log.info("support mail %s sent for ticket %s as %s", outbound.pk, outbound.ticket.reference, outbound.mail_id)
