"""The SLA sweeper and its escalation ladder (support.tasks.sla_sweep runs clocks_sweep every
SUPPORT_SLA_SWEEP_SECONDS from Celery beat).

clocks_sweep reads running clocks through the partial indexes (`sla_clock_running_due`,
`sla_clock_running_warn`, `sla_clock_breach_unescalated`) in bounded batches, each batch one
transaction holding `FOR NO KEY UPDATE SKIP LOCKED` on its clocks only (never the tickets, which
the engine locks before their clocks: no lock-order cycle). A clock another sweeper or a ticket
write holds is skipped and seen by the next sweep; one whose state the other changed no longer
matches. With the unique (clock, kind) key on warn, breach and escalate events, each fires exactly
once however many sweepers run. Events are stamped with the instant they fell due (warn_at,
due_at, breached_at + delay), not when the sweep saw them, so late sweeps do not blur reporting.

The ladder: warn -> the assignee (the queue's lead when unassigned); breach -> the queue's lead
(the head of support when the queue has none) and, when the queue's `reassign_on_breach` says so,
the ticket goes back to the queue; a breach still live SUPPORT_SLA_ESCALATE_AFTER_SECONDS later ->
every head of support. Each step writes one SlaNotification per recipient with the event, held
until the recipient's working hours (their AgentProfile.calendar, else the calendar of their first
language's queue, else the ticket's queue's) unless the ticket runs on a 24/7 calendar; then
notifications_send mails the due ones in the recipient's language.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from support.models import AgentProfile, Queue, SlaClock, SlaEvent, SlaNotification, Ticket
from support.sla import clock
from support.sla.engine import Calendars, clock_used

log = logging.getLogger(__name__)

State, Kind, Step = SlaClock.State, SlaEvent.Kind, SlaNotification.Step
# What a ladder step reads about a clock, in the same query as the lock (of=("self",) locks the clock only).
_RELATED = ("ticket__queue__calendar", "ticket__queue__lead__agent", "ticket__assignee__agent", "policy_version__calendar")


@dataclass
class SweepResult:
    breached: int = 0
    warned: int = 0
    escalated: int = 0
    sent: int = 0
    # (clock id, instant) of warnings and breaches falling due within the lookahead window: the
    # task schedules a check at each instant, so they fire on time rather than at the next sweep.
    upcoming: list[tuple[int, datetime]] = field(default_factory=list)


def clocks_sweep(
    *, now: datetime | None = None, lookahead: timedelta | None = None, batch: int | None = None, max_batches: int = 20
) -> SweepResult:
    """Fire due breaches, warnings and escalations (at most `max_batches` x `batch` of each), list
    what falls due within `lookahead`, and send the notifications whose time has come."""
    now = now or timezone.now()
    lookahead = timedelta(seconds=settings.SUPPORT_SLA_SWEEP_SECONDS) if lookahead is None else lookahead
    batch = batch or settings.SUPPORT_SLA_SWEEP_BATCH
    result = SweepResult()
    context = _Context()
    for _ in range(max_batches):
        n = breaches_fire(now=now, batch=batch, context=context)
        result.breached += n
        if n < batch:
            break
    for _ in range(max_batches):
        n = warnings_fire(now=now, batch=batch, context=context)
        result.warned += n
        if n < batch:
            break
    for _ in range(max_batches):
        n = breaches_escalate(now=now, batch=batch, context=context)
        result.escalated += n
        if n < batch:
            break
    result.upcoming = clocks_upcoming(now=now, lookahead=lookahead, limit=batch * max_batches)
    result.sent = notifications_send(now=now, limit=batch)
    return result


def clock_fire(*, clock_id: int, now: datetime | None = None) -> bool:
    """Fire one clock's breach or warning if its time has come (the scheduled check of a clock
    from the lookahead window). Safe to run any number of times."""
    now = now or timezone.now()
    context = _Context()
    fired = breaches_fire(now=now, batch=1, context=context, clock_id=clock_id) or warnings_fire(
        now=now, batch=1, context=context, clock_id=clock_id
    )
    if fired:
        notifications_send(now=now, limit=10)
    return bool(fired)


def _locked(queryset, batch: int, clock_id: int | None):
    if clock_id is not None:
        queryset = queryset.filter(pk=clock_id)
    return list(queryset.select_for_update(no_key=True, skip_locked=True, of=("self",)).select_related(*_RELATED)[:batch])


def breaches_fire(*, now: datetime, batch: int, context=None, clock_id: int | None = None) -> int:
    """One batch: running clocks whose due_at has passed become breached at due_at, with their
    breach event and the ladder's breach notifications. Returns how many."""
    with transaction.atomic():
        clocks = _locked(SlaClock.objects.filter(state=State.RUNNING, due_at__lte=now).order_by("due_at"), batch, clock_id)
        if not clocks:
            return 0
        SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(state=State.BREACHED, breached_at=F("due_at"))
        events = []
        for c in clocks:
            c.state, c.breached_at = State.BREACHED, c.due_at
            events.append(
                SlaEvent(
                    clock=c,
                    ticket_id=c.ticket_id,
                    kind=Kind.BREACH,
                    at=c.due_at,
                    used_seconds=c.target_seconds,
                    data={"by": "sweep", "detected_at": now.isoformat(), "assignee": c.ticket.assignee_id},
                )
            )
        SlaEvent.objects.bulk_create(events)
        breach_ladder(clocks=clocks, now=now, context=context)
    return len(clocks)


def warnings_fire(*, now: datetime, batch: int, context=None, clock_id: int | None = None) -> int:
    """One batch: running, unwarned clocks past warn_at (and not yet due) are warned once, at
    warn_at, and their assignee (or the queue's lead) is notified. Returns how many."""
    with transaction.atomic():
        queryset = SlaClock.objects.filter(state=State.RUNNING, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now).order_by(
            "warn_at"
        )
        clocks = _locked(queryset, batch, clock_id)
        if not clocks:
            return 0
        SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(warned_at=F("warn_at"))
        context = context or _Context()
        events, notes = [], []
        for c in clocks:
            c.warned_at = c.warn_at
            used = c.target_seconds - int(c.policy_version.warn_before.total_seconds())
            events.append(
                SlaEvent(
                    clock=c,
                    ticket_id=c.ticket_id,
                    kind=Kind.WARN,
                    at=c.warn_at,
                    used_seconds=max(used, 0),
                    data={"detected_at": now.isoformat()},
                )
            )
            ticket = c.ticket
            recipients = [ticket.assignee] if ticket.assignee_id else [ticket.queue.lead] if ticket.queue.lead_id else []
            notes += context.notifications(c, ticket, Step.WARN, recipients, now)
        SlaEvent.objects.bulk_create(events)
        SlaNotification.objects.bulk_create(notes)
    return len(clocks)


def breaches_escalate(*, now: datetime, batch: int, context=None, delay: timedelta | None = None) -> int:
    """One batch: breaches still live and ticking `delay` after they happened are escalated to the
    heads of support, once (escalated_at, the unique escalate event). Returns how many."""
    delay = timedelta(seconds=settings.SUPPORT_SLA_ESCALATE_AFTER_SECONDS) if delay is None else delay
    with transaction.atomic():
        queryset = SlaClock.objects.filter(
            state=State.BREACHED,
            escalated_at__isnull=True,
            stopped_at__isnull=True,
            breached_at__lte=now - delay,
            segment_start__isnull=False,
        ).order_by("breached_at")
        clocks = _locked(queryset, batch, None)
        if not clocks:
            return 0
        SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(escalated_at=now)
        context = context or _Context()
        heads = context.heads()
        events, notes = [], []
        for c in clocks:
            c.escalated_at = now
            due = max(c.breached_at + delay, c.segment_start)  # a breach paused at that instant is due when it ticks again
            events.append(
                SlaEvent(
                    clock=c,
                    ticket_id=c.ticket_id,
                    kind=Kind.ESCALATE,
                    at=due,
                    used_seconds=clock_used(c, due, context.calendars),
                    data={"detected_at": now.isoformat(), "to": [u.pk for u in heads]},
                )
            )
            notes += context.notifications(c, c.ticket, Step.ESCALATE, heads, now)
        SlaEvent.objects.bulk_create(events)
        SlaNotification.objects.bulk_create(notes)
    return len(clocks)


def breach_ladder(*, clocks: list[SlaClock], now: datetime, context=None, tickets: dict | None = None, calendars: Calendars | None = None):
    """The breach rung for clocks just breached (by the sweeper or the engine): notify the queue's
    lead (the heads of support when it has none) and, after commit, hand the ticket back to its
    queue when the queue says so."""
    from support.tasks import sla_breach_reassign, sla_notifications_send

    context = context or _Context(calendars)
    notes, reassign = [], []
    for c in clocks:
        ticket = (tickets or {}).get(c.ticket_id) or c.ticket
        queue = ticket.queue
        recipients = [queue.lead] if queue.lead_id else context.heads()
        notes += context.notifications(c, ticket, Step.BREACH, recipients, now)
        if queue.reassign_on_breach and ticket.assignee_id:
            reassign.append(c.pk)
    SlaNotification.objects.bulk_create(notes)
    for clock_id in reassign:
        transaction.on_commit(lambda clock_id=clock_id: sla_breach_reassign.delay(clock_id=clock_id))
    if tickets is not None and any(n.send_after <= now for n in notes):
        # The engine found this breach on a ticket write: mail it now rather than at the next sweep.
        transaction.on_commit(sla_notifications_send.delay)


def breach_reassign(*, clock_id: int) -> bool:
    """Hand a breached ticket back to its queue (unassigned, logged as an internal event) when its
    queue reassigns on breach, the breach is still live and the ticket still has the assignee it had
    at the breach (someone who took it since keeps it). Safe to run twice."""
    from support.services.routing import ticket_assign

    c = SlaClock.objects.select_related("ticket__queue").filter(pk=clock_id).first()
    if c is None or c.state != State.BREACHED or c.stopped_at is not None:
        return False
    ticket = c.ticket
    if not ticket.queue.reassign_on_breach or not ticket.is_open or ticket.assignee_id is None:
        return False
    event = SlaEvent.objects.filter(clock=c, kind=Kind.BREACH).first()
    if event is None or event.data.get("assignee") != ticket.assignee_id:
        return False
    ticket_assign(ticket=ticket, assignee=None, by=None)
    return True


def clocks_upcoming(*, now: datetime, lookahead: timedelta, limit: int) -> list[tuple[int, datetime]]:
    """Running clocks whose due or warning instant falls within (now, now + lookahead], soonest first."""
    if lookahead <= timedelta(0):
        return []
    until = now + lookahead
    due = SlaClock.objects.filter(state=State.RUNNING, due_at__gt=now, due_at__lte=until).order_by("due_at").values_list("pk", "due_at")
    warn = (
        SlaClock.objects.filter(state=State.RUNNING, warned_at__isnull=True, warn_at__gt=now, warn_at__lte=until)
        .order_by("warn_at")
        .values_list("pk", "warn_at")
    )
    return sorted(list(due[:limit]) + list(warn[:limit]), key=lambda pair: pair[1])[:limit]


def notifications_send(*, now: datetime | None = None, limit: int = 200) -> int:
    """Mail the notifications whose send_after has come, each once: a batch is locked with SKIP
    LOCKED, each mail sent and stamped; one that fails to send stays for the next sweep."""
    from accounts.tasks import mail_to_user

    now = now or timezone.now()
    sent = tried = 0
    while tried < limit:
        with transaction.atomic():
            rows = list(
                SlaNotification.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
                .select_related("recipient", "ticket__queue", "ticket__assignee__agent", "clock__policy_version")
                .filter(sent_at__isnull=True, send_after__lte=now)
                .order_by("send_after", "id")[: min(50, limit - tried)]
            )
            done = []
            for note in rows:
                tried += 1
                try:
                    mail_to_user(user=note.recipient, template="support_sla_alert", context=_mail_context(note))
                except OSError:
                    log.warning(
                        "SLA notification %s to user %s not sent; retried at the next sweep", note.pk, note.recipient_id, exc_info=True
                    )
                    continue
                note.sent_at = now
                done.append(note)
            SlaNotification.objects.bulk_update(done, ["sent_at"])
            sent += len(done)
        if not done:
            break
    return sent


def _mail_context(note: SlaNotification) -> dict:
    c, ticket = note.clock, note.ticket
    assignee = getattr(ticket.assignee, "agent", None) if ticket.assignee_id else None
    return {
        "step": note.step,
        "ticket": ticket,
        "clock": c,
        "due_at": c.due_at,
        "breached_at": c.breached_at,
        "assignee_name": assignee.display_name if assignee else (ticket.assignee.email if ticket.assignee_id else ""),
        "reassigned": note.step == Step.BREACH and ticket.queue.reassign_on_breach and _assignee_at_breach(c) is not None,
        "escalate_minutes": settings.SUPPORT_SLA_ESCALATE_AFTER_SECONDS // 60,
    }


def _assignee_at_breach(c: SlaClock) -> int | None:
    data = SlaEvent.objects.filter(clock=c, kind=Kind.BREACH).values_list("data", flat=True).first()
    return (data or {}).get("assignee")


class _Context:
    """What the ladder looks up once per sweep: calendars, the heads of support, queue calendars."""

    def __init__(self, calendars: Calendars | None = None):
        self.calendars = calendars or Calendars()
        self._heads = None
        self._queue_calendars = None

    def heads(self) -> list[User]:
        if self._heads is None:
            self._heads = list(User.objects.filter(agent__is_head_of_support=True, is_active=True).select_related("agent").order_by("pk"))
        return self._heads

    def _working_calendar_id(self, user: User, ticket: Ticket) -> int:
        try:
            agent = user.agent
        except AgentProfile.DoesNotExist:
            agent = None
        if agent is not None and agent.calendar_id:
            return agent.calendar_id
        if agent is not None and agent.languages:
            if self._queue_calendars is None:
                self._queue_calendars = dict(Queue.objects.values_list("language", "calendar_id"))
            calendar_id = self._queue_calendars.get(agent.languages[0])
            if calendar_id:
                return calendar_id
        return ticket.queue.calendar_id

    def send_after(self, c: SlaClock, ticket: Ticket, user: User, now: datetime) -> datetime:
        """Now under a 24/7 calendar, else the recipient's next working instant."""
        if self.calendars.row(c.policy_version.calendar_id).around_the_clock or ticket.queue.calendar.around_the_clock:
            return now
        try:
            return clock.business_next(self.calendars.get(self._working_calendar_id(user, ticket)), now)
        except clock.BusinessTimeNotFound:
            return now  # a calendar without working hours must not swallow the alert

    def notifications(self, c: SlaClock, ticket: Ticket, step: str, recipients: list, now: datetime) -> list[SlaNotification]:
        seen, notes = set(), []
        for user in recipients:
            if user is None or not user.is_active or user.pk in seen:
                continue
            seen.add(user.pk)
            notes.append(
                SlaNotification(
                    clock=c, ticket=ticket, step=step, recipient=user, send_after=self.send_after(c, ticket, user, now), created_at=now
                )
            )
        return notes
