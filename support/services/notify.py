"""What the customer is told by email: every public reply and every customer-visible status
change, and the acknowledgement of a new ticket ("we have your request, reference X, we answer
by <promise>"), rendered in the customer's language and time zone with the anti-phishing code.
tickets.py calls `message_notify` for each public message; whoever opens a ticket for the customer
(the web form, inbound mail, a fund-recovery request) calls `ticket_acknowledge`. Delivery is a
Celery task queued after commit (support/mail_tasks.py), which renders the mail with
`outbound_mail_build`."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from config.formatting import time_zone_city
from config.site import site_url
from support import mail
from support.models import Channel, Message, OutboundMail, Ticket

log = logging.getLogger(__name__)

# Forged mail "from" a customer can open tickets in their name; their acknowledgements stop here.
ACKNOWLEDGEMENTS_PER_HOUR = 5


def message_notify(*, message: Message) -> None:
    """Queue the customer's email for a public message (a public reply or a public system event).

    Guarantees: an internal note or internal event, and the customer's own message, never produce
    mail; a message produces at most one mail (an OutboundMail row, unique per message); a status
    change made in the same step as a reply is told in that reply's mail instead of a second one;
    the task is queued after commit, so a rolled-back reply sends nothing."""
    if message.internal or message.kind == Message.Kind.CUSTOMER:
        return
    if message.kind == Message.Kind.SYSTEM and message.event == "status":
        # tickets.py stamps a reply and the status change it made with the same instant.
        with_reply = OutboundMail.objects.filter(
            ticket_id=message.ticket_id,
            sent_at=None,
            status_event=None,
            message__kind=Message.Kind.AGENT,
            message__created_at=message.created_at,
        ).first()
        if with_reply is not None:
            with_reply.status_event = message
            with_reply.save(update_fields=["status_event"])
            return
    _queue(message)


def ticket_acknowledge(*, ticket: Ticket, message: Message) -> None:
    """Queue the acknowledgement of a new ticket, keyed on its first customer message `message`.

    Guarantees: at most one per ticket (OutboundMail is unique per message: calling it again sends
    nothing more); sent after commit, so a ticket rolled back is never acknowledged; at most
    ACKNOWLEDGEMENTS_PER_HOUR per customer, so mail forged in their name cannot flood them through us."""
    if message.kind != Message.Kind.CUSTOMER or message.ticket_id != ticket.pk:
        raise ValueError("a ticket is acknowledged by its own customer message")
    if OutboundMail.objects.filter(message=message).exists():
        return
    recent = OutboundMail.objects.filter(
        ticket__customer_id=ticket.customer_id,
        message__kind=Message.Kind.CUSTOMER,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= ACKNOWLEDGEMENTS_PER_HOUR:
        log.warning(
            "ticket %s not acknowledged: customer %s had %d acknowledgements this hour", ticket.reference, ticket.customer_id, recent
        )
        return
    _queue(message)


def _queue(message: Message) -> None:
    outbound = OutboundMail.objects.create(ticket_id=message.ticket_id, message=message, mail_id=mail.mail_id_new(message=message))
    from support.mail_tasks import support_mail_send

    transaction.on_commit(lambda: support_mail_send.delay(outbound.pk))


def ticket_url(*, ticket: Ticket, language: str) -> str:
    """The customer's page of the ticket, in `language`, on SITE_URL."""
    with translation.override(language):
        path = reverse("support:ticket", kwargs={"reference": ticket.reference})
    return site_url(path)


def outbound_mail_build(*, outbound: OutboundMail) -> EmailMultiAlternatives:
    """The mail for `outbound`, rendered in the customer's current language and time zone: a reply
    (with the agent's display name) and/or a status change, or the acknowledgement of a new ticket
    (its first customer message) with the SLA promise; always a link to the ticket page, the
    anti-phishing code and freeze link (accounts' conventions), Reply-To the ticket's signed address
    and the thread headers."""
    from accounts.tasks import mail_context_for

    ticket, message = outbound.ticket, outbound.message
    customer = ticket.customer
    language = customer.language
    acknowledgement = message.kind == Message.Kind.CUSTOMER
    with translation.override(language):
        context = {
            **mail_context_for(customer, language),
            "user": customer,
            "ticket": ticket,
            "ticket_url": ticket_url(ticket=ticket, language=language),
            "language": language,
            "text_dir": "rtl" if translation.get_language_bidi() else "ltr",
            **(_acknowledgement_context(ticket) if acknowledgement else _message_context(outbound)),
        }
        template = "support_ticket_received" if acknowledgement else "support_ticket"
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        text = render_to_string(f"emails/{template}_message.txt", context)
        html = render_to_string(f"emails/{template}_message.html", context)
    root = mail.thread_root(ticket=ticket)
    headers = {
        "Message-ID": outbound.mail_id,
        "In-Reply-To": root,
        "References": root,
        # Out-of-office replies to our mails would only land in the ticket as noise.
        "X-Auto-Response-Suppress": "OOF, AutoReply",
    }
    if acknowledgement:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: an automatic answer to the customer's message
    elif message.kind != Message.Kind.AGENT:
        headers["Auto-Submitted"] = "auto-generated"  # RFC 3834: a status notice, not a person writing
    email = EmailMultiAlternatives(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        text,
        settings.SUPPORT_FROM_EMAIL,
        [customer.email],
        reply_to=[mail.reply_address(ticket=ticket)],
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    return email


def _message_context(outbound: OutboundMail) -> dict:
    from support.selectors.customer import author_name, event_text, status_label

    message = outbound.message
    reply = message if message.kind == Message.Kind.AGENT else None
    event = outbound.status_event or (message if message.kind == Message.Kind.SYSTEM else None)
    is_status = event is not None and event.event == "status"
    return {
        "reply": reply,
        "agent_name": author_name(reply) if reply else "",
        "attachment_count": reply.attachments.count() if reply else 0,
        "event": event,
        "status_label": status_label(event.data.get("new", "")) if is_status else "",
        "event_sentence": event_text(event) if event is not None and not is_status else "",
        "reopen_days": settings.SUPPORT_REOPEN_DAYS,
    }


def _acknowledgement_context(ticket: Ticket) -> dict:
    """The promise as the customer's pages state it, in the customer's (active) language and zone.
    A ticket opened by email quotes nothing the mail said: its sender is not proven, and our mail
    carries the anti-phishing code, so it must not carry a forger's words."""
    from support.selectors.customer import promise_for, tickets_for_customer

    zone = ticket.customer.time_zone
    annotated = tickets_for_customer(customer=ticket.customer).filter(pk=ticket.pk).first()
    by_email = ticket.channel == Channel.EMAIL
    return {
        "promise": promise_for(annotated, zone=zone) if annotated is not None else None,
        "zone": time_zone_city(zone),
        "show_subject": not by_email,
        "by_email": by_email,
    }
