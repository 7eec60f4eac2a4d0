"""Tickets and their conversation. Every write here takes the ticket's row lock and moves the SLA
clocks (support.sla.engine) in the same transaction, so a clock never disagrees with its ticket."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from support.errors import TicketRefused
from support.models import Channel, Message, Priority, SatisfactionRating, Ticket, TicketCategory
from support.services.notify import message_notify
from support.services.routing import queue_for_language, ticket_route_after_commit
from support.sla import engine

LINK_FIELDS = ("deposit", "withdrawal", "order", "recovery")


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)


def _links_check(*, customer: User, links: dict) -> dict:
    """Linked objects must be the customer's own (by id from a form, never trusted)."""
    from exchange.models import Order
    from wallets.models import Deposit, RecoveryRequest, Withdrawal

    models = {"deposit": Deposit, "withdrawal": Withdrawal, "order": Order, "recovery": RecoveryRequest}
    checked = {}
    for name, value in links.items():
        if name not in models:
            raise ValueError(f"unknown link {name!r}")
        if value is None:
            continue
        pk = getattr(value, "pk", value)
        obj = models[name].objects.filter(pk=pk, user=customer).first()
        if obj is None:
            raise TicketRefused("link_not_yours", _("Choose one of your own deposits, withdrawals, orders or recovery requests."))
        checked[name] = obj
    return checked


@transaction.atomic
def ticket_create(
    *,
    customer: User,
    subject: str,
    body: str,
    category: TicketCategory,
    priority: str | None = None,
    channel: str = Channel.WEB,
    language: str | None = None,
    links: dict | None = None,
    email_message_id: str = "",
) -> tuple[Ticket, Message]:
    """Open a ticket with its first customer message, routed to the queue of the customer's language."""
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise TicketRefused("empty", _("Write a subject and a message."))
    language = language or customer.language
    queue = queue_for_language(language)
    now = timezone.now()
    ticket = Ticket.objects.create(
        customer=customer,
        subject=subject[:200],
        category=category,
        priority=priority or category.default_priority,
        channel=channel,
        language=language,
        queue=queue,
        home_queue=queue,
        tier=customer.vip_tier,
        created_at=now,
        updated_at=now,
        last_customer_message_at=now,
        **_links_check(customer=customer, links=links or {}),
    )
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.CUSTOMER,
        author=customer,
        body=body,
        via=Channel.EMAIL if channel == Channel.EMAIL else Channel.WEB,
        email_message_id=email_message_id,
        created_at=now,
    )
    engine.ticket_opened(ticket=ticket, message=message, at=now)
    ticket_route_after_commit(ticket=ticket)
    return ticket, message


def reopen_deadline(ticket: Ticket):
    """Until when a solved ticket can be reopened by the customer (None: not solved)."""
    if ticket.status != Ticket.Status.SOLVED or ticket.solved_at is None:
        return None
    return ticket.solved_at + timedelta(days=settings.SUPPORT_REOPEN_DAYS)


@transaction.atomic
def message_post_customer(*, ticket: Ticket, customer: User, body: str, via: str = Channel.WEB, email_message_id: str = "") -> Message:
    """The customer writes on their ticket. On a solved ticket inside the reopen period this reopens it."""
    ticket = _locked(ticket)
    if ticket.customer_id != customer.pk:
        raise TicketRefused("not_yours", _("This ticket is not yours."))
    body = body.strip()
    if not body:
        raise TicketRefused("empty", _("Write a message."))
    now = timezone.now()
    if ticket.status == Ticket.Status.CLOSED or (ticket.status == Ticket.Status.SOLVED and reopen_deadline(ticket) < now):
        raise TicketRefused("closed", _("This ticket is closed. Open a new ticket and we will pick it up from there."))
    message = Message.objects.create(
        ticket=ticket, kind=Message.Kind.CUSTOMER, author=customer, body=body, via=via, email_message_id=email_message_id, created_at=now
    )
    old = ticket.status
    ticket.last_customer_message_at = ticket.updated_at = now
    if old == Ticket.Status.SOLVED:
        ticket.status, ticket.solved_at, ticket.reopen_count = Ticket.Status.OPEN, None, ticket.reopen_count + 1
    elif old == Ticket.Status.PENDING:
        ticket.status = Ticket.Status.OPEN  # the customer answered what we were waiting for
    ticket.save(update_fields=["status", "solved_at", "reopen_count", "last_customer_message_at", "updated_at"])
    if old != ticket.status:
        _status_event(ticket=ticket, old=old, by=customer, at=now)
        engine.status_changed(ticket=ticket, old=old, at=now)
    engine.customer_message(ticket=ticket, message=message, at=now)
    return message


def _status_event(*, ticket: Ticket, old: str, by: User | None, at) -> Message:
    """A public system message; the customer is emailed unless the customer made the change."""
    event = Message.event_add(ticket=ticket, event="status", data={"old": old, "new": ticket.status}, internal=False, by=by, at=at)
    if by is None or by.pk != ticket.customer_id:
        message_notify(message=event)
    return event


@transaction.atomic
def message_post_agent(*, ticket: Ticket, agent: User, body: str, internal: bool = False, status: str | None = None) -> Message:
    """An agent's public reply (fulfils response clocks) or internal note (fulfils nothing, never
    reaches the customer). `status` sets the ticket's status in the same step."""
    ticket = _locked(ticket)
    body = body.strip()
    if not body:
        raise TicketRefused("empty", _("Write a message."))
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, kind=Message.Kind.AGENT, internal=internal, author=agent, body=body, created_at=now)
    if not internal:
        ticket.last_public_reply_at = now
        ticket.updated_at = now
        ticket.save(update_fields=["last_public_reply_at", "updated_at"])
        engine.public_reply(ticket=ticket, message=message, at=now)
        message_notify(message=message)
    if status and status != ticket.status:
        _status_set(ticket=ticket, status=status, by=agent, at=now)
    return message


def _status_set(*, ticket: Ticket, status: str, by: User | None, at) -> None:
    if status not in Ticket.Status.values:
        raise TicketRefused("bad_status", _("Choose a status from the list."))
    old = ticket.status
    if old == status:
        return
    if old == Ticket.Status.CLOSED:
        raise TicketRefused("closed", _("A closed ticket cannot change."))
    ticket.status = status
    if status == Ticket.Status.SOLVED:
        ticket.solved_at = at
    elif old == Ticket.Status.SOLVED:
        ticket.solved_at, ticket.reopen_count = None, ticket.reopen_count + 1
    if status == Ticket.Status.CLOSED:
        ticket.closed_at = at
    ticket.updated_at = at
    ticket.save(update_fields=["status", "solved_at", "closed_at", "reopen_count", "updated_at"])
    _status_event(ticket=ticket, old=old, by=by, at=at)
    engine.status_changed(ticket=ticket, old=old, at=at)


@transaction.atomic
def ticket_status_set(*, ticket: Ticket, status: str, by: User) -> Ticket:
    ticket = _locked(ticket)
    _status_set(ticket=ticket, status=status, by=by, at=timezone.now())
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, customer: User) -> Ticket:
    """The customer reopens a solved ticket within SUPPORT_REOPEN_DAYS; the resolution clock resumes."""
    ticket = _locked(ticket)
    if ticket.customer_id != customer.pk:
        raise TicketRefused("not_yours", _("This ticket is not yours."))
    deadline = reopen_deadline(ticket)
    if deadline is None or deadline < timezone.now():
        raise TicketRefused("not_reopenable", _("This ticket can no longer be reopened. Open a new ticket instead."))
    _status_set(ticket=ticket, status=Ticket.Status.OPEN, by=customer, at=timezone.now())
    return ticket


@transaction.atomic
def ticket_priority_set(*, ticket: Ticket, priority: str, by: User) -> Ticket:
    ticket = _locked(ticket)
    if priority not in Priority.values:
        raise TicketRefused("bad_priority", _("Choose a priority from the list."))
    if priority != ticket.priority:
        now = timezone.now()
        old, ticket.priority, ticket.updated_at = ticket.priority, priority, now
        ticket.save(update_fields=["priority", "updated_at"])
        Message.event_add(ticket=ticket, event="priority", data={"old": old, "new": priority}, internal=True, by=by, at=now)
        engine.reapply(ticket=ticket, at=now, reason="priority")
    return ticket


@transaction.atomic
def ticket_tier_sync(*, customer: User) -> int:
    """The customer's VIP tier changed: their open tickets take the new tier and re-apply their SLA
    (elapsed time kept, a reapply event per clock). Safe to call when nothing changed. Returns how
    many tickets moved."""
    tier = User.objects.values_list("vip_tier", flat=True).get(pk=customer.pk)
    now = timezone.now()
    tickets = Ticket.objects.select_for_update(no_key=True).filter(customer_id=customer.pk, status__in=Ticket.OPEN_STATUSES)
    moved = 0
    for ticket in tickets.exclude(tier=tier).order_by("pk"):
        ticket.tier = tier
        ticket.save(update_fields=["tier"])
        engine.reapply(ticket=ticket, at=now, reason="tier")
        moved += 1
    return moved


@transaction.atomic
def ticket_rate(*, ticket: Ticket, customer: User, score: int, comment: str = "") -> SatisfactionRating:
    """CSAT 1-5 for the current solve, once per solve."""
    ticket = _locked(ticket)
    if ticket.customer_id != customer.pk:
        raise TicketRefused("not_yours", _("This ticket is not yours."))
    if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        raise TicketRefused("not_solved", _("You can rate the answer once the ticket is solved."))
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise TicketRefused("bad_score", _("Choose a rating from 1 to 5."))
    solve_number = ticket.reopen_count + 1
    if SatisfactionRating.objects.filter(ticket=ticket, solve_number=solve_number).exists():
        raise TicketRefused("already_rated", _("You have already rated this answer."))
    return SatisfactionRating.objects.create(
        ticket=ticket, solve_number=solve_number, score=score, comment=comment.strip()[:2000], agent_id=ticket.assignee_id
    )
