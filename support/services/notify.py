"""What the customer is told by email: every public reply and every customer-visible status
change (rendered in the customer's language, with the anti-phishing code). tickets.py calls
`message_notify` for each such message; delivery is a Celery task queued after commit
(support/mail_tasks.py), which renders the mail with `outbound_mail_build`."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from config.site import site_url
from support import mail
from support.models import Message, OutboundMail, Ticket

log = logging.getLogger(__name__)


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
    outbound = OutboundMail.objects.create(ticket_id=message.ticket_id, message=message, mail_id=mail.mail_id_new(message=message))
    from support.mail_tasks import support_mail_send

    transaction.on_commit(lambda: support_mail_send.delay(outbound.pk))


def ticket_url(*, ticket: Ticket, language: str) -> str:
    """The customer's page of the ticket, in `language`, on SITE_URL."""
    with translation.override(language):
        try:
            path = reverse("support:ticket", kwargs={"reference": ticket.reference})
        except NoReverseMatch:
            # The customer pages mount there (support/urls.py); the same path until they are installed.
            path = f"/{language}/support/tickets/{ticket.reference}/"
    return site_url(path)


def _agent_name(message: Message) -> str:
    profile = getattr(message.author, "agent", None) if message.author_id else None
    return profile.display_name if profile is not None and profile.display_name else mail.desk_name()


def outbound_mail_build(*, outbound: OutboundMail) -> EmailMultiAlternatives:
    """The mail for `outbound`, rendered in the customer's current language: the reply (with the
    agent's display name) and/or the status change, a link to the ticket page, the anti-phishing
    code and freeze link (accounts' conventions), Reply-To the ticket's signed address and the
    thread headers."""
    from accounts.tasks import mail_context_for
    from support.selectors.customer import event_text

    ticket, message = outbound.ticket, outbound.message
    customer = ticket.customer
    language = customer.language
    reply = message if message.kind == Message.Kind.AGENT else None
    event = outbound.status_event or (message if message.kind == Message.Kind.SYSTEM else None)
    with translation.override(language):
        context = {
            **mail_context_for(customer, language),
            "user": customer,
            "ticket": ticket,
            "reply": reply,
            "agent_name": _agent_name(reply) if reply else "",
            "attachment_count": reply.attachments.count() if reply else 0,
            "event": event,
            "status_label": _status_label(event),
            "event_sentence": event_text(event) if event is not None and event.event != "status" else "",
            "reopen_days": settings.SUPPORT_REOPEN_DAYS,
            "ticket_url": ticket_url(ticket=ticket, language=language),
            "language": language,
            "text_dir": "rtl" if translation.get_language_bidi() else "ltr",
        }
        subject = " ".join(render_to_string("emails/support_ticket_subject.txt", context).split())
        text = render_to_string("emails/support_ticket_message.txt", context)
        html = render_to_string("emails/support_ticket_message.html", context)
    root = mail.thread_root(ticket=ticket)
    headers = {
        "Message-ID": outbound.mail_id,
        "In-Reply-To": root,
        "References": root,
        # Out-of-office replies to our mails would only land in the ticket as noise.
        "X-Auto-Response-Suppress": "OOF, AutoReply",
    }
    if reply is None:
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


def _status_label(event: Message | None) -> str:
    if event is None or event.event != "status":
        return ""
    new = event.data.get("new", "")
    return str(Ticket.Status(new).label) if new in Ticket.Status.values else new
