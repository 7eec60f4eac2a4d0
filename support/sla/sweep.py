"""The SLA sweeper and its escalation ladder (support.tasks.sla_sweep runs clocks_sweep every
SUPPORT_SLA_SWEEP_SECONDS from Celery beat, then queues the mailing of what is due).

clocks_sweep reads running clocks through the partial indexes (`sla_clock_running_due`,
`sla_clock_running_warn`, `sla_clock_breach_unescalated`) in bounded batches, each batch one
transaction holding `FOR NO KEY UPDATE SKIP LOCKED` on its clocks only (never the tickets, which
the engine locks before their clocks: no lock-order cycle). A clock another sweeper or a ticket
write holds is skipped and seen by the next sweep; one whose state the other changed no longer
matches. With the unique (clock, kind) key on warn, breach and escalate events, each fires exactly
once however many sweepers run. Events are stamped with the instant they fell due (warn_at,
due_at, breached_at + delay), not when the sweep saw them, so a late sweep does not blur reports.

The ladder: warn -> the assignee (the queue's lead when unassigned); breach -> the queue's lead
(the heads of support when the queue has none) and, when the queue's `reassign_on_breach` says
so, the ticket goes back to the queue; a breach still live and ticking
SUPPORT_SLA_ESCALATE_AFTER_SECONDS later -> every head of support. Each step writes one
SlaNotification per recipient with its event, held until the recipient's working hours (their
AgentProfile.calendar, else the calendar of their first language's queue, else the ticket's
queue's) unless the ticket runs on a 24/7 calendar; notifications_send mails the due ones in the
recipient's language, outside the sweep (mail is slow; firing must not wait for it).
"""

import logging
import time
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from support.models import AgentProfile, Queue, SlaClock, SlaEvent, SlaNotification, SlaPolicyVersion, Ticket
from support.sla import clock
from support.sla.engine import Calendars

log = logging.getLogger(__name__)

State, Kind, Step = SlaClock.State, SlaEvent.Kind, SlaNotification.Step
# What a batch reads of each locked clock (values, not model instances: a batch is 500 rows).
_FIELDS = ("pk", "ticket_id", "policy_version_id", "due_at", "warn_at", "target_seconds", "used_seconds", "segment_start", "breached_at")
TicketInfo = namedtuple("TicketInfo", "assignee_id queue_id")
Due = namedtuple("Due", "clock_id ticket_id version_id")


@dataclass
class SweepResult:
    breached: int = 0
    warned: int = 0
    escalated: int = 0
    # Notifications whose time has come are waiting: the task queues their mailing.
    mail_due: bool = False
    # (clock id, instant) of warnings and breaches falling due within the lookahead window: the
    # task schedules a check at each instant, so they fire on time rather than at the next sweep.
    upcoming: list[tuple[int, datetime]] = field(default_factory=list)


def clocks_sweep(
    *,
    now: datetime | None = None,
    lookahead: timedelta | None = None,
    batch: int | None = None,
    max_batches: int = 20,
    timings: dict | None = None,
) -> SweepResult:
    """Fire due breaches, warnings and escalations (at most `max_batches` x `batch` of each) and
    list what falls due within `lookahead`. `timings`, when given, receives each phase's seconds
    (manage.py bench_sla prints them)."""
    now = now or timezone.now()
    lookahead = timedelta(seconds=settings.SUPPORT_SLA_SWEEP_SECONDS) if lookahead is None else lookahead
    batch = batch or settings.SUPPORT_SLA_SWEEP_BATCH
    timings = {} if timings is None else timings
    result = SweepResult()
    context = _Context()
    for name, phase in (("breached", breaches_fire), ("warned", warnings_fire), ("escalated", breaches_escalate)):
        started = time.perf_counter()
        for _ in range(max_batches):
            n = phase(now=now, batch=batch, context=context)
            setattr(result, name, getattr(result, name) + n)
            if n < batch:
                break
        timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    result.upcoming = clocks_upcoming(now=now, lookahead=lookahead, limit=batch * max_batches)
    result.mail_due = SlaNotification.objects.filter(sent_at__isnull=True, send_after__lte=now).exists()
    timings["lookahead"] = time.perf_counter() - started
    return result


def clock_fire(*, clock_id: int, now: datetime | None = None) -> bool:
    """Fire one clock's breach or warning if its time has come (the scheduled check of a clock
    from the lookahead window). Safe to run any number of times."""
    now = now or timezone.now()
    context = _Context()
    return bool(
        breaches_fire(now=now, batch=1, context=context, clock_id=clock_id)
        or warnings_fire(now=now, batch=1, context=context, clock_id=clock_id)
    )


def due_clocks(now: datetime):
    """Running clocks past due, soonest first: a range scan of the partial index sla_clock_running_due."""
    return SlaClock.objects.filter(state=State.RUNNING, due_at__lte=now).order_by("due_at")


def warn_clocks(now: datetime):
    """Running, unwarned clocks past their warning instant: a range scan of sla_clock_running_warn."""
    return SlaClock.objects.filter(state=State.RUNNING, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now).order_by("warn_at")


def escalation_clocks(now: datetime, delay: timedelta):
    """Live breaches `delay` old, oldest first: a range scan of sla_clock_breach_unescalated."""
    return SlaClock.objects.filter(
        state=State.BREACHED, escalated_at__isnull=True, stopped_at__isnull=True, breached_at__lte=now - delay, segment_start__isnull=False
    ).order_by("breached_at")


def locked_batch(queryset, batch: int):
    """The batch's rows, locked FOR NO KEY UPDATE SKIP LOCKED (call inside a transaction)."""
    return queryset.select_for_update(no_key=True, skip_locked=True).values(*_FIELDS)[:batch]


def _locked(queryset, batch: int, clock_id: int | None) -> list[dict]:
    if clock_id is not None:
        queryset = queryset.filter(pk=clock_id)
    return list(locked_batch(queryset, batch))


def breaches_fire(*, now: datetime, batch: int, context=None, clock_id: int | None = None) -> int:
    """One batch: running clocks whose due_at has passed become breached at due_at, with their
    breach event and the ladder's breach notifications. Returns how many."""
    context = context or _Context()
    with transaction.atomic():
        rows = _locked(due_clocks(now), batch, clock_id)
        if not rows:
            return 0
        SlaClock.objects.filter(pk__in=[r["pk"] for r in rows]).update(state=State.BREACHED, breached_at=F("due_at"))
        tickets = context.tickets({r["ticket_id"] for r in rows})
        SlaEvent.objects.bulk_create(
            SlaEvent(
                clock_id=r["pk"],
                ticket_id=r["ticket_id"],
                kind=Kind.BREACH,
                at=r["due_at"],
                used_seconds=r["target_seconds"],
                data={"by": "sweep", "detected_at": now.isoformat(), "assignee": tickets[r["ticket_id"]].assignee_id},
            )
            for r in rows
        )
        breach_ladder(due=[Due(r["pk"], r["ticket_id"], r["policy_version_id"]) for r in rows], now=now, context=context)
    return len(rows)


def warnings_fire(*, now: datetime, batch: int, context=None, clock_id: int | None = None) -> int:
    """One batch: running, unwarned clocks past warn_at (and not yet due) are warned once, at
    warn_at, and their assignee (or the queue's lead) is notified. Returns how many."""
    context = context or _Context()
    with transaction.atomic():
        rows = _locked(warn_clocks(now), batch, clock_id)
        if not rows:
            return 0
        SlaClock.objects.filter(pk__in=[r["pk"] for r in rows]).update(warned_at=F("warn_at"))
        tickets = context.tickets({r["ticket_id"] for r in rows})
        users = context.users({t.assignee_id for t in tickets.values() if t.assignee_id})
        events, notes = [], []
        for r in rows:
            ticket = tickets[r["ticket_id"]]
            lead = context.version(r["policy_version_id"]).warn_before // timedelta(seconds=1)
            events.append(
                SlaEvent(
                    clock_id=r["pk"],
                    ticket_id=r["ticket_id"],
                    kind=Kind.WARN,
                    at=r["warn_at"],
                    used_seconds=max(r["target_seconds"] - lead, 0),
                    data={"detected_at": now.isoformat()},
                )
            )
            queue = context.queue(ticket.queue_id)
            # Unassigned: the queue's lead; a queue without one: the heads of support (as at breach).
            if ticket.assignee_id:
                recipients = [users.get(ticket.assignee_id)]
            else:
                recipients = [queue.lead] if queue.lead_id else context.heads()
            notes += context.notifications(Due(r["pk"], r["ticket_id"], r["policy_version_id"]), Step.WARN, recipients, now)
        SlaEvent.objects.bulk_create(events)
        SlaNotification.objects.bulk_create(notes)
    return len(rows)


def breaches_escalate(*, now: datetime, batch: int, context=None, delay: timedelta | None = None) -> int:
    """One batch: breaches still live and ticking `delay` after they happened are escalated to the
    heads of support, once (escalated_at, the unique escalate event). Returns how many."""
    delay = timedelta(seconds=settings.SUPPORT_SLA_ESCALATE_AFTER_SECONDS) if delay is None else delay
    context = context or _Context()
    with transaction.atomic():
        rows = _locked(escalation_clocks(now, delay), batch, None)
        if not rows:
            return 0
        SlaClock.objects.filter(pk__in=[r["pk"] for r in rows]).update(escalated_at=now)
        context.tickets({r["ticket_id"] for r in rows})
        heads = context.heads()
        events, notes = [], []
        for r in rows:
            due = max(r["breached_at"] + delay, r["segment_start"])  # a breach paused at that instant is due when it ticks again
            calendar = context.calendars.get(context.version(r["policy_version_id"]).calendar_id)
            used = r["used_seconds"] + clock.business_seconds(calendar, r["segment_start"], due)
            data = {"detected_at": now.isoformat(), "to": [u.pk for u in heads]}
            events.append(SlaEvent(clock_id=r["pk"], ticket_id=r["ticket_id"], kind=Kind.ESCALATE, at=due, used_seconds=used, data=data))
            notes += context.notifications(Due(r["pk"], r["ticket_id"], r["policy_version_id"]), Step.ESCALATE, heads, now)
        SlaEvent.objects.bulk_create(events)
        SlaNotification.objects.bulk_create(notes)
    return len(rows)


def breach_ladder(*, due: list[Due], now: datetime, context=None, tickets: dict | None = None, calendars: Calendars | None = None):
    """The breach rung for clocks just breached (by the sweeper or the engine): notify the queue's
    lead (the heads of support when it has none) and, after commit, hand the ticket back to its
    queue when the queue says so. `tickets` primes {ticket id: TicketInfo} the caller has."""
    from support.tasks import sla_breach_reassign, sla_notifications_send

    context = context or _Context(calendars)
    if tickets:
        context.prime(tickets)
    info = context.tickets({d.ticket_id for d in due})
    notes, reassign = [], []
    for d in due:
        ticket = info[d.ticket_id]
        queue = context.queue(ticket.queue_id)
        recipients = [queue.lead] if queue.lead_id else context.heads()
        notes += context.notifications(d, Step.BREACH, recipients, now)
        if queue.reassign_on_breach and ticket.assignee_id:
            reassign.append(d.clock_id)
    SlaNotification.objects.bulk_create(notes)
    for clock_id in reassign:
        transaction.on_commit(lambda clock_id=clock_id: sla_breach_reassign.delay(clock_id=clock_id))
    if tickets and any(n.send_after <= now for n in notes):
        # The engine found this breach on a ticket write: mail it now rather than after the next sweep.
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
    if _assignee_at_breach(c.pk) != ticket.assignee_id:
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
    """Mail up to `limit` notifications whose send_after has come, each once: batches are locked
    with SKIP LOCKED (two senders never take the same one), each mail sent and stamped; one that
    fails to send stays for the next run. Returns how many were sent."""
    from accounts.tasks import mail_to_user

    now = now or timezone.now()
    sent = tried = 0
    while tried < limit:
        with transaction.atomic():
            rows = list(
                SlaNotification.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
                .select_related("recipient", "ticket__queue", "ticket__assignee__agent", "clock")
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
                        "SLA notification %s to user %s not sent; retried at the next run", note.pk, note.recipient_id, exc_info=True
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
        "reassigned": note.step == Step.BREACH and ticket.queue.reassign_on_breach and _assignee_at_breach(c.pk) is not None,
        "escalate_minutes": settings.SUPPORT_SLA_ESCALATE_AFTER_SECONDS // 60,
    }


def _assignee_at_breach(clock_id: int) -> int | None:
    data = SlaEvent.objects.filter(clock_id=clock_id, kind=Kind.BREACH).values_list("data", flat=True).first()
    return (data or {}).get("assignee")


class _Context:
    """What the ladder looks up at most once per sweep: calendars, queues with their leads, policy
    versions, tickets' assignee and queue, recipients, the heads of support."""

    def __init__(self, calendars: Calendars | None = None):
        self.calendars = calendars or Calendars()
        self._heads = None
        self._queues = None
        self._queue_calendars = None
        self._versions: dict[int, SlaPolicyVersion] = {}
        self._tickets: dict[int, TicketInfo] = {}
        self._users: dict[int, User] = {}

    def prime(self, tickets: dict[int, TicketInfo]) -> None:
        self._tickets.update(tickets)

    def tickets(self, ids) -> dict[int, TicketInfo]:
        missing = [i for i in ids if i not in self._tickets]
        if missing:
            for pk, assignee_id, queue_id in Ticket.objects.filter(pk__in=missing).values_list("pk", "assignee_id", "queue_id"):
                self._tickets[pk] = TicketInfo(assignee_id, queue_id)
        return self._tickets

    def users(self, ids) -> dict[int, User]:
        missing = [i for i in ids if i not in self._users]
        if missing:
            self._users.update((u.pk, u) for u in User.objects.filter(pk__in=missing).select_related("agent"))
        return self._users

    def queues(self) -> dict[int, Queue]:
        if self._queues is None:
            self._queues = {q.pk: q for q in Queue.objects.select_related("calendar", "lead__agent")}
        return self._queues

    def queue(self, queue_id: int) -> Queue:
        return self.queues()[queue_id]

    def version(self, version_id: int) -> SlaPolicyVersion:
        if version_id not in self._versions:
            self._versions[version_id] = SlaPolicyVersion.objects.only("calendar_id", "warn_before").get(pk=version_id)
        return self._versions[version_id]

    def heads(self) -> list[User]:
        if self._heads is None:
            self._heads = list(User.objects.filter(agent__is_head_of_support=True, is_active=True).select_related("agent").order_by("pk"))
        return self._heads

    def _working_calendar_id(self, user: User, queue: Queue) -> int:
        try:
            agent = user.agent
        except AgentProfile.DoesNotExist:
            agent = None
        if agent is not None and agent.calendar_id:
            return agent.calendar_id
        if agent is not None and agent.languages:
            if self._queue_calendars is None:
                self._queue_calendars = {q.language: q.calendar_id for q in self.queues().values()}
            calendar_id = self._queue_calendars.get(agent.languages[0])
            if calendar_id:
                return calendar_id
        return queue.calendar_id

    def send_after(self, d: Due, queue: Queue, user: User, now: datetime) -> datetime:
        """Now under a 24/7 calendar (the clock's policy or the ticket's queue), else the
        recipient's next working instant."""
        if self.calendars.row(self.version(d.version_id).calendar_id).around_the_clock or queue.calendar.around_the_clock:
            return now
        try:
            return clock.business_next(self.calendars.get(self._working_calendar_id(user, queue)), now)
        except clock.BusinessTimeNotFound:
            return now  # a calendar without working hours must not swallow the alert

    def notifications(self, d: Due, step: str, recipients: list, now: datetime) -> list[SlaNotification]:
        queue = self.queue(self._tickets[d.ticket_id].queue_id)
        seen, notes = set(), []
        for user in recipients:
            if user is None or not user.is_active or user.pk in seen:
                continue
            seen.add(user.pk)
            notes.append(
                SlaNotification(
                    clock_id=d.clock_id,
                    ticket_id=d.ticket_id,
                    step=step,
                    recipient_id=user.pk,
                    send_after=self.send_after(d, queue, user, now),
                    created_at=now,
                )
            )
        return notes
