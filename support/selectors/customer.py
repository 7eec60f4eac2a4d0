"""What a customer reads on their support pages: their own tickets, the public part of each
conversation, the objects they may link, and the SLA promise in their words and time zone.
Nothing here returns an internal note or another customer's row."""

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import User
from config.formatting import amount_text, babel_locale
from support.models import Attachment, Message, Metric, SlaClock, Ticket, TicketCategory
from support.selectors.access import ticket_visible_to, tickets_for_agent

# Customer-facing clocks: the promise is about our next answer, or the next update of a long case.
ANSWER_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)
UPDATE_METRICS = (Metric.PERIODIC_UPDATE,)
LINKABLE_LIMIT = 50
# Left-to-right isolate for amounts and hashes inside option labels (plain text: no <bdi> there).
LRI, PDI = "\u2066", "\u2069"


def _due(metrics) -> Subquery:
    # Ticking clocks: running, or breached and still waiting for the answer (the engine keeps a
    # breached clock's due_at and segment until it is fulfilled or stopped): that one is "late".
    ticking = SlaClock.objects.filter(
        ticket=OuterRef("pk"), metric__in=metrics, stopped_at__isnull=True, segment_start__isnull=False, due_at__isnull=False
    )
    return Subquery(ticking.order_by("due_at").values("due_at")[:1])


def tickets_for_customer(*, customer: User) -> QuerySet[Ticket]:
    """The customer's tickets, most recently active first, with `answer_due` / `update_due` (the
    running customer-facing clocks' due times, None when none runs) in the same query."""
    return (
        Ticket.objects.filter(customer=customer)
        .select_related("category")
        .annotate(answer_due=_due(ANSWER_METRICS), update_due=_due(UPDATE_METRICS))
        .order_by("-updated_at", "-id")
    )


def ticket_for_customer(*, customer: User, reference: str) -> Ticket | None:
    """The customer's ticket with this reference; None for anyone else's (the view answers 404)."""
    if not customer.is_authenticated:
        return None
    return (
        tickets_for_customer(customer=customer)
        .select_related("deposit__network__asset", "withdrawal__network__asset", "order__market", "recovery")
        .filter(reference=reference.upper())
        .first()
    )


def conversation_for_customer(*, ticket: Ticket) -> list[Message]:
    """The public messages in order (customer, public agent replies, public system events) with
    their attachments; internal notes and internal events are not read. Each carries `shown_author`
    (You / the agent's display name) and `shown_text` (the body, or the event in the reader's words)."""
    rows = list(
        ticket.messages.filter(internal=False)
        .select_related("author__agent")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )
    for message in rows:
        message.shown_author = author_name(message)
        message.shown_text = event_text(message) if message.kind == Message.Kind.SYSTEM else message.body
    return rows


def author_name(message: Message) -> str:
    """Who the customer sees as the author: themselves, the agent's display name, or nobody (events)."""
    if message.kind == Message.Kind.CUSTOMER:
        return pgettext("message author", "You")
    if message.kind == Message.Kind.AGENT:
        agent = getattr(message.author, "agent", None) if message.author_id else None
        return agent.display_name if agent is not None else _("Support team")
    return ""


def attachment_for_user(*, user: User, pk: int) -> Attachment | None:
    """An attachment the user may download: on a ticket they may see (support.selectors.access
    rules), and on a public message unless the user works the ticket as an agent."""
    if not user.is_authenticated:
        return None
    attachment = Attachment.objects.select_related("message__ticket").filter(pk=pk).first()
    if attachment is None:
        return None
    ticket = attachment.message.ticket
    if not ticket_visible_to(user, ticket):
        return None
    if attachment.message.internal and not tickets_for_agent(user).filter(pk=ticket.pk).exists():
        return None  # the ticket's customer (or anyone not working it) never gets an internal note's file
    return attachment


def categories_for_customer() -> QuerySet[TicketCategory]:
    return TicketCategory.objects.filter(is_active=True).order_by("position", "slug")


# --- the SLA promise --------------------------------------------------------------------------------


def promise_when(due: datetime, *, zone: str, now: datetime | None = None, language: str | None = None) -> str:
    """`due` as the reader says it in their time zone: 'Tuesday 10:00' within the coming week (the
    locale's own order and hour cycle, from Babel's weekday+time skeleton with the full weekday),
    'Tue, Mar 10, 10:00' further away."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (LookupError, ValueError):
        tz = ZoneInfo("UTC")
    locale = Locale.parse(babel_locale(language))
    now = now or timezone.now()
    twelve_hour = "h" in locale.time_formats["short"].pattern
    local_due, local_now = due.astimezone(tz), now.astimezone(tz)
    if (local_due.date() - local_now.date()).days < 7:
        skeleton = locale.datetime_skeletons["Ehm" if twelve_hour else "EHm"].pattern
        pattern = _full_weekday(skeleton)
        return format_datetime(due, pattern, tzinfo=tz, locale=locale)
    date = format_datetime(due, locale.datetime_skeletons["MMMEd"].pattern, tzinfo=tz, locale=locale)
    time = format_datetime(due, locale.time_formats["short"].pattern, tzinfo=tz, locale=locale)
    return str(locale.datetime_formats["short"]).replace("{1}", date).replace("{0}", time)


def _full_weekday(pattern: str) -> str:
    # 'E HH:mm' -> 'EEEE HH:mm'; quoted literals (odd segments between apostrophes) stay as they are.
    parts = pattern.split("'")
    return "'".join(re.sub(r"E+|c+", "EEEE", part) if i % 2 == 0 else part for i, part in enumerate(parts))


@dataclass(frozen=True)
class Promise:
    kind: str  # "answer" or "update"
    due: datetime
    when: str
    late: bool


def promise_for(ticket: Ticket, *, zone: str, now: datetime | None = None) -> Promise | None:
    """What we promise on an open ticket (needs tickets_for_customer's annotations): the next answer's
    due time, else the next update's. None when no customer-facing clock runs (waiting for the
    customer, solved, or before the SLA engine has set one)."""
    if not ticket.is_open or ticket.status == Ticket.Status.PENDING:
        return None
    now = now or timezone.now()
    for kind, due in (("answer", getattr(ticket, "answer_due", None)), ("update", getattr(ticket, "update_due", None))):
        if due is not None:
            return Promise(kind=kind, due=due, when=promise_when(due, zone=zone, now=now), late=due <= now)
    return None


# --- linked objects ---------------------------------------------------------------------------------


def _ltr(text: str) -> str:
    return f"{LRI}{text}{PDI}"


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT") if value else ""


def linkable_objects(*, customer: User, kind: str) -> list[tuple[str, str]]:
    """(value, label) pairs of the customer's own objects of `kind` (deposit, withdrawal, order,
    recovery), newest first, for the new-ticket picker; any other kind offers nothing."""
    from exchange.models import Order
    from wallets.models import Deposit, RecoveryRequest, Withdrawal

    rows = []
    if kind in ("deposit", "recovery"):
        # Both name a transfer by token and chain (the token may be one we do not list).
        model, seen = (Deposit, "seen_at") if kind == "deposit" else (RecoveryRequest, "created_at")
        for r in model.objects.filter(user=customer).order_by(f"-{seen}", "-id")[:LINKABLE_LIMIT]:
            label = f"{_ltr(amount_text(r.amount) + ' ' + r.token)} · {r.chain} · {_when(getattr(r, seen))} · {r.get_status_display()}"
            rows.append((str(r.pk), label))
    elif kind == "withdrawal":
        withdrawals = Withdrawal.objects.filter(user=customer).select_related("network__asset").order_by("-created_at", "-id")
        for w in withdrawals[:LINKABLE_LIMIT]:
            amount = _ltr(f"{amount_text(w.amount)} {w.network.asset.symbol}")
            rows.append((str(w.pk), f"{amount} · {w.network.code} · {_when(w.created_at)} · {w.get_status_display()}"))
    elif kind == "order":
        for o in Order.objects.filter(user=customer).select_related("market").order_by("-created_at", "-id")[:LINKABLE_LIMIT]:
            quantity = _ltr(amount_text(o.quantity if o.quantity is not None else o.quote_quantity or 0))
            label = f"{o.get_side_display()} {quantity} {o.market.symbol} · {_when(o.created_at)} · {o.get_status_display()}"
            rows.append((str(o.pk), label))
    return rows


LINK_LABELS = {
    "deposit": lambda: pgettext("support link", "Deposit"),
    "withdrawal": lambda: pgettext("support link", "Withdrawal"),
    "order": lambda: pgettext("support link", "Order"),
    "recovery": lambda: _("Fund recovery request"),
}


def link_label(kind: str) -> str:
    return LINK_LABELS[kind]() if kind in LINK_LABELS else ""


# --- system events in the reader's language ---------------------------------------------------------


def event_text(message: Message) -> str:
    """A public system event as a sentence in the active language (status changes, recovery states)."""
    data = message.data or {}
    if message.event == "status":
        new = data.get("new")
        if new == Ticket.Status.SOLVED:
            return _("We marked this ticket as solved.")
        if new == Ticket.Status.OPEN and data.get("old") == Ticket.Status.SOLVED:
            return _("The ticket was reopened.")
        return _("Status changed to: %(status)s") % {"status": status_label(new)}
    if message.event == "recovery":
        from wallets.models import RecoveryRejection, RecoveryRequest

        status = data.get("status")
        request = data.get("request")  # an id, not a count: no plural forms
        if status == RecoveryRequest.Status.REJECTED:
            reason = data.get("rejection")
            text = RecoveryRejection(reason).label if reason in RecoveryRejection.values else RecoveryRejection.OTHER.label
            return _("Your fund recovery request #%(request)s was rejected. Reason: %(reason)s") % {"request": request, "reason": text}
        if status == RecoveryRequest.Status.QUOTED and data.get("fee"):
            return _(
                "Your fund recovery request #%(request)s: the fee is %(fee)s %(token)s. Accept or decline it on the recovery page."
            ) % {
                "request": request,
                "fee": amount_text(data["fee"]),
                "token": data.get("token", ""),
            }
        label = RecoveryRequest.Status(status).label if status in RecoveryRequest.Status.values else status
        return _("Your fund recovery request #%(request)s is now: %(status)s") % {"request": request, "status": label}
    return _("This ticket was updated.")


def status_label(status: str) -> str:
    """A ticket status in the active language (an unknown value as it is)."""
    return str(Ticket.Status(status).label) if status in Ticket.Status.values else str(status or "")


def reopen_window_open(ticket: Ticket, *, now: datetime | None = None) -> bool:
    from support.services.tickets import reopen_deadline

    deadline = reopen_deadline(ticket)
    return deadline is not None and deadline >= (now or timezone.now())


def rating_due(ticket: Ticket) -> bool:
    """The customer may rate the current solve (solved or closed, not yet rated for this solve)."""
    if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        return False
    return not ticket.ratings.filter(solve_number=ticket.reopen_count + 1).exists()


def last_reply(ticket: Ticket) -> tuple[str, datetime] | None:
    """Who wrote last and when: ('you', t) or ('support', t), from the ticket's own columns."""
    ours, theirs = ticket.last_public_reply_at, ticket.last_customer_message_at
    if ours is None and theirs is None:
        return None
    if theirs is None or (ours is not None and ours >= theirs):
        return ("support", ours)
    return ("you", theirs)
