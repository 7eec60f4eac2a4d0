"""A fund-recovery request from the wallets app has a ticket of its own: recovery_submit opens one
(or links the customer's chosen open ticket), and every state the request reaches appears in that
conversation as a public system event. wallets/services/recovery.py calls these inside its own
transaction, so a request never changes state without its ticket hearing of it."""

import logging

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.formatting import amount_plain, amount_text
from support.models import Message, Queue, Ticket, TicketCategory
from support.services.notify import ticket_acknowledge
from support.services.tickets import ticket_create

log = logging.getLogger(__name__)

CATEGORY = "fund_recovery"


def _chosen_ticket(*, request, reference: str) -> Ticket | None:
    """The customer's own open ticket with this reference and no other recovery linked, locked."""
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return (
        Ticket.objects.select_for_update(no_key=True)
        .filter(reference=reference, customer_id=request.user_id, status__in=Ticket.OPEN_STATUSES, recovery__isnull=True)
        .first()
    )


@transaction.atomic
def recovery_ticket_open(*, request, ticket_reference: str = "") -> Ticket | None:
    """Link the new request to the customer's chosen open ticket (by reference; another's, a closed
    one or one already about another request is ignored) or open a fund_recovery ticket for it, and
    post the request's first state. None when the desk is not set up (no active fund_recovery
    category or no English queue): the request itself never depends on the desk."""
    ticket = _chosen_ticket(request=request, reference=ticket_reference)
    if ticket is not None:
        ticket.recovery, ticket.updated_at = request, timezone.now()
        ticket.save(update_fields=["recovery", "updated_at"])
    else:
        category = TicketCategory.objects.filter(slug=CATEGORY, is_active=True).first()
        if category is None or not Queue.objects.filter(language="en").exists():
            log.warning(
                "recovery request %s: no ticket opened (the support desk has no %s category or English queue)", request.pk, CATEGORY
            )
            return None
        customer = request.user
        with translation.override(customer.language):  # stored text: written once, in the customer's language
            subject = _("Fund recovery: %(amount)s %(token)s on %(chain)s") % {
                "amount": amount_text(request.amount),
                "token": request.token,
                "chain": request.chain,
            }
            body = _(
                "I asked to recover a transfer.\nNetwork: %(chain)s\nTransaction hash: %(tx_hash)s\n"
                "Asset: %(token)s\nAmount: %(amount)s\nAddress I sent to: %(address)s"
            ) % {
                "chain": request.chain,
                "tx_hash": request.tx_hash,
                "token": request.token,
                "amount": amount_text(request.amount),
                "address": request.address,
            }
        ticket, first = ticket_create(customer=customer, subject=subject, body=body, category=category, links={"recovery": request})
        ticket_acknowledge(ticket=ticket, message=first)
    recovery_event_post(request=request)
    return ticket


@transaction.atomic
def recovery_event_post(*, request) -> list[Message]:
    """A public system event with the request's current status (and rejection reason) on every ticket
    linked to it. Call it in the transaction that changed the request. No email: the wallets app
    already tells the customer about quotes and outcomes (notices), once."""
    now = timezone.now()
    data = {"request": request.pk, "status": request.status}
    if request.rejection:
        data["rejection"] = request.rejection
    if request.status == request.Status.QUOTED:
        data["fee"] = amount_plain(request.fee)  # plain digits: formatted for each reader when shown
        data["token"] = request.token
    posted = []
    for ticket in Ticket.objects.select_for_update(no_key=True).filter(recovery=request).order_by("pk"):
        posted.append(Message.event_add(ticket=ticket, event="recovery", data=data, internal=False, at=now))
        ticket.updated_at = now
        ticket.save(update_fields=["updated_at"])
    return posted
