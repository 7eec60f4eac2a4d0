"""Moves SLA clocks on ticket events, in the caller's transaction. Exactly
../shared/design/support-sla.md; the decisions are in docs/architecture.md, "SLA engine (issue 10)".

Callers: support/services/tickets.py calls the hooks (ticket_opened, customer_message,
public_reply, status_changed, reapply) with the ticket row locked; the admin calls
policy_version_publish when a policy is saved and calendar_changed when a calendar, interval or
holiday is; support/sla/sweep.py fires warn and breach.

A clock is *live* until it stops (`stopped_at`). It *ticks* while `segment_start` is set: it has
used `used_seconds` plus the business time since `segment_start` under its policy version's
calendar. Every transition banks the segment, moves `segment_start` and recomputes `due_at` and
`warn_at` in the same transaction, so they are never computed on read. A breach is a fact: the
clock's state becomes `breached` at its due instant (by the sweeper, or by the engine when a
transition finds it overdue first) and stays so; a breached clock still ticks, pauses, and
records `fulfilled_at` / `stopped_at` when the reply or the solve comes.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from support.models import (
    Calendar,
    Message,
    Metric,
    Queue,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    Ticket,
    TicketCategory,
)
from support.sla import clock

log = logging.getLogger(__name__)

State, Kind = SlaClock.State, SlaEvent.Kind
STOPPED_STATUSES = {Ticket.Status.SOLVED, Ticket.Status.CLOSED}
CLOCK_FIELDS = [
    "state",
    "policy_version",
    "target_seconds",
    "used_seconds",
    "segment_start",
    "due_at",
    "warn_at",
    "breached_at",
    "fulfilled_at",
    "stopped_at",
]


# --- calendars ---------------------------------------------------------------------------------------


def calendar_build(calendar: Calendar) -> clock.Calendar:
    """The pure business calendar of a Calendar row: its intervals minus its holidays, or 24/7
    (every hour, holidays included) when it is `around_the_clock`."""
    if calendar.around_the_clock:
        return clock.Calendar.always(calendar.time_zone)
    week = defaultdict(list)
    for interval in calendar.intervals.all():
        week[interval.weekday].append((interval.start.replace(microsecond=0), interval.end.replace(microsecond=0)))
    holidays = set()
    for holiday in calendar.holidays.all():
        day = holiday.first_day
        while day <= holiday.last_day:
            holidays.add(day)
            day += timedelta(days=1)
    return clock.Calendar(calendar.time_zone, week, holidays)


class Calendars:
    """Business calendars built at most once per operation (a hook call, a sweep, a recompute job).
    Never kept across operations, so an edited calendar applies to the very next transition."""

    def __init__(self):
        self._built: dict[int, clock.Calendar] = {}
        self._rows: dict[int, Calendar] = {}

    def row(self, calendar_id: int) -> Calendar:
        if calendar_id not in self._rows:
            self._rows[calendar_id] = Calendar.objects.prefetch_related("intervals", "holidays").get(pk=calendar_id)
        return self._rows[calendar_id]

    def get(self, calendar_id: int) -> clock.Calendar:
        if calendar_id not in self._built:
            self._built[calendar_id] = calendar_build(self.row(calendar_id))
        return self._built[calendar_id]


@transaction.atomic
def calendar_changed(*, calendar: Calendar) -> None:
    """A calendar, one of its intervals or holidays was saved or deleted: after commit, a background
    job recomputes the due and warning times of the running clocks that use it."""
    from support.tasks import sla_calendar_recompute

    calendar_id = calendar.pk
    transaction.on_commit(lambda: sla_calendar_recompute.delay(calendar_id=calendar_id))


def clocks_recompute(*, calendar_id: int, at: datetime | None = None, batch: int = 200) -> int:
    """Recompute due_at / warn_at of every ticking clock under `calendar_id` (the background job of
    calendar_changed). The business seconds banked before a clock's current segment stay; the
    segment is counted under the calendar as it is now. Tickets are locked in id order, `batch` per
    transaction. Safe to run twice. Returns the number of clocks whose due time moved."""
    at = at or timezone.now()
    ticket_ids = list(
        SlaClock.objects.filter(policy_version__calendar_id=calendar_id, stopped_at__isnull=True, segment_start__isnull=False)
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    calendars, moved = Calendars(), 0
    for i in range(0, len(ticket_ids), batch):
        with transaction.atomic():
            for ticket in Ticket.objects.select_for_update(no_key=True).filter(pk__in=ticket_ids[i : i + batch]).order_by("pk"):
                step = _Step(ticket, at, calendars)
                step.catch_up()
                for c in step.live():
                    if c.state == State.RUNNING and c.policy_version.calendar_id == calendar_id:
                        before = c.due_at
                        step.schedule(c)
                        if c.due_at != before:
                            moved += 1
                            step.touch(c)
                            step.event(c, Kind.REAPPLY, reason="calendar", due_before=_iso(before), due_after=_iso(c.due_at))
                step.finish()
    return moved


# --- policies ----------------------------------------------------------------------------------------


def policy_match(*, ticket: Ticket) -> SlaPolicy | None:
    """The first active policy by `position` whose filters all match the ticket: tier, home queue
    (the customer's language, before any fallback), channel, category, priority. An empty filter
    matches anything."""
    policies = (
        SlaPolicy.objects.filter(is_active=True)
        .order_by("position")
        .prefetch_related(
            Prefetch("queues", queryset=Queue.objects.only("id")), Prefetch("categories", queryset=TicketCategory.objects.only("id"))
        )
    )
    for policy in policies:
        if policy.tiers and ticket.tier not in {int(t) for t in policy.tiers}:
            continue
        if policy.channels and ticket.channel not in policy.channels:
            continue
        if policy.priorities and ticket.priority not in policy.priorities:
            continue
        queues = {q.pk for q in policy.queues.all()}
        if queues and ticket.home_queue_id not in queues:
            continue
        categories = {c.pk for c in policy.categories.all()}
        if categories and ticket.category_id not in categories:
            continue
        return policy
    return None


def _snapshot(policy: SlaPolicy) -> dict:
    targets = defaultdict(dict)
    for priority, metric, seconds in SlaTarget.objects.filter(policy=policy).values_list("priority", "metric", "seconds"):
        targets[priority][metric] = seconds
    return {
        "calendar_id": policy.calendar_id,
        "warn_before": policy.warn_before,
        "targets": {p: dict(sorted(m.items())) for p, m in sorted(targets.items())},
    }


def _same(version: SlaPolicyVersion | None, snapshot: dict) -> bool:
    return (
        version is not None
        and version.calendar_id == snapshot["calendar_id"]
        and version.warn_before == snapshot["warn_before"]
        and version.targets == snapshot["targets"]
    )


@transaction.atomic
def policy_version_publish(*, policy: SlaPolicy, by=None) -> SlaPolicyVersion:
    """The policy's current version: a new immutable snapshot of its saved targets, calendar and
    warning lead time when any differs from the latest version (or there is none), else the latest.
    Call it after the policy and its targets are saved. Running clocks keep their version until
    re-applied. Two publishes at once cannot clash: the writer locks the policy row and looks again."""
    latest = SlaPolicyVersion.objects.filter(policy_id=policy.pk).order_by("-version").first()
    if _same(latest, _snapshot(SlaPolicy.objects.get(pk=policy.pk))):
        return latest
    locked = SlaPolicy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    latest = SlaPolicyVersion.objects.filter(policy_id=policy.pk).order_by("-version").first()
    snapshot = _snapshot(locked)
    if _same(latest, snapshot):
        return latest
    number = max(latest.version if latest else 0, locked.version) + 1
    version = SlaPolicyVersion.objects.create(
        policy=locked,
        version=number,
        calendar_id=snapshot["calendar_id"],
        warn_before=snapshot["warn_before"],
        targets=snapshot["targets"],
        created_by=by,
        created_at=timezone.now(),
    )
    SlaPolicy.objects.filter(pk=locked.pk).update(version=number)
    policy.version = number
    return version


def policy_reapply(*, policy: SlaPolicy) -> None:
    """After commit, re-apply every open ticket on `policy` (e.g. to move running clocks to its
    new version): a background job, elapsed time kept, a reapply event per clock."""
    from support.tasks import sla_policy_reapply

    policy_id = policy.pk
    transaction.on_commit(lambda: sla_policy_reapply.delay(policy_id=policy_id))


def tickets_reapply(*, policy_id: int, at: datetime | None = None, batch: int = 200) -> int:
    """Re-apply the open tickets whose policy version belongs to `policy_id` (policy_reapply's job).
    Safe to run twice (a second run logs reapply events that change nothing). Returns the count."""
    at = at or timezone.now()
    ids = list(
        Ticket.objects.filter(policy_version__policy_id=policy_id, status__in=Ticket.OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for i in range(0, len(ids), batch):
        with transaction.atomic():
            for ticket in Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids[i : i + batch]).order_by("pk"):
                reapply(ticket=ticket, at=at, reason="policy")
    return len(ids)


def _version_for(ticket: Ticket) -> SlaPolicyVersion | None:
    policy = policy_match(ticket=ticket)
    return policy_version_publish(policy=policy) if policy is not None else None


def _target(version: SlaPolicyVersion | None, priority: str, metric: str) -> int | None:
    if version is None:
        return None
    seconds = version.targets.get(priority, {}).get(metric)
    return int(seconds) if seconds is not None else None


def _ticks(metric: str, status: str) -> bool:
    """Whether a live clock of `metric` counts time while the ticket has `status`."""
    if metric == Metric.RESOLUTION:
        return status not in Ticket.PAUSED
    if metric == Metric.PERIODIC_UPDATE:
        # Waiting on the customer needs no update from us; waiting on the chain or compliance does.
        return status != Ticket.Status.PENDING
    return True  # first and next response never pause: only non-business time is excluded


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- one operation on one ticket ---------------------------------------------------------------------


class _Step:
    """One engine operation on one ticket whose row the caller has locked: the ticket's live clocks
    (and its resolution clocks, which a reopen resumes) are locked, changed in memory, and written
    with their events by finish()."""

    def __init__(self, ticket: Ticket, at: datetime, calendars: Calendars | None = None, *, load: bool = True):
        self.ticket, self.at = ticket, at
        self.calendars = calendars or Calendars()
        self.clocks: list[SlaClock] = []
        if load:
            self.clocks = list(
                SlaClock.objects.select_for_update(no_key=True, of=("self",))
                .select_related("policy_version")
                .filter(Q(stopped_at__isnull=True) | Q(metric=Metric.RESOLUTION), ticket=ticket)
                .order_by("id")
            )
        self.changed: dict[int, SlaClock] = {}
        self.events: list[SlaEvent] = []
        self.breached: list[SlaClock] = []

    def live(self, metric: str | None = None) -> list[SlaClock]:
        return [c for c in self.clocks if c.stopped_at is None and (metric is None or c.metric == metric)]

    def calendar(self, c: SlaClock) -> clock.Calendar:
        return self.calendars.get(c.policy_version.calendar_id)

    def touch(self, c: SlaClock) -> None:
        self.changed[c.pk] = c

    def event(self, c: SlaClock, kind: str, *, at: datetime | None = None, used: int | None = None, **data) -> None:
        self.events.append(
            SlaEvent(
                clock=c,
                ticket_id=c.ticket_id,
                kind=kind,
                at=at or self.at,
                used_seconds=c.used_seconds if used is None else used,
                data=data,
            )
        )

    # -- arithmetic --

    def bank(self, c: SlaClock) -> None:
        """Fold the ticking segment into used_seconds; the segment restarts now."""
        if c.segment_start is None:
            return
        if self.at > c.segment_start:
            c.used_seconds += clock.business_seconds(self.calendar(c), c.segment_start, self.at)
        c.segment_start = max(c.segment_start, self.at)

    def schedule(self, c: SlaClock) -> None:
        """due_at and warn_at of a running clock from its segment; none while paused or stopped. A
        breached clock keeps its due_at (its ticket sorts first while it is still ticking)."""
        if c.state == State.BREACHED:
            return
        if c.state != State.RUNNING or c.segment_start is None:
            c.due_at = c.warn_at = None
            return
        remaining = max(c.target_seconds - c.used_seconds, 0)
        lead = int(c.policy_version.warn_before.total_seconds())
        cal = self.calendar(c)
        try:
            # warn_at is `lead` business seconds before due_at: due is reached from warn_at.
            c.warn_at = clock.business_add(cal, c.segment_start, max(remaining - lead, 0))
            c.due_at = clock.business_add(cal, c.warn_at, min(lead, remaining))
        except clock.BusinessTimeNotFound:
            log.error("SLA clock %s: calendar %s has no business time to reach its target", c.pk, c.policy_version.calendar_id)
            c.due_at = c.warn_at = None

    # -- transitions --

    def start(self, metric: str, at: datetime, *, cycle: int | None = None) -> SlaClock | None:
        """A new clock from `at` under the ticket's policy version (none when it has no target)."""
        version = self.ticket.policy_version
        seconds = _target(version, self.ticket.priority, metric)
        if seconds is None:
            return None
        if cycle is None:
            cycle = 1 + (SlaClock.objects.filter(ticket=self.ticket, metric=metric).aggregate(n=Max("cycle"))["n"] or 0)
        c = SlaClock(
            ticket=self.ticket,
            metric=metric,
            cycle=cycle,
            state=State.RUNNING,
            policy_version=version,
            target_seconds=seconds,
            started_at=at,
            segment_start=at,
        )
        self.schedule(c)
        c.save()
        self.clocks.append(c)
        self.event(c, Kind.ACTIVATE, at=at, target_seconds=seconds, version=version.version)
        return c

    def breach(self, c: SlaClock, *, by: str) -> None:
        c.state, c.breached_at = State.BREACHED, c.due_at
        self.touch(c)
        self.event(c, Kind.BREACH, at=c.due_at, used=c.target_seconds, by=by, detected_at=_iso(self.at), assignee=self.ticket.assignee_id)
        self.breached.append(c)

    def catch_up(self) -> None:
        """A running clock found past its due time breaches first (the sweeper had not got to it)."""
        for c in self.live():
            if c.state == State.RUNNING and c.due_at is not None and c.due_at <= self.at:
                self.breach(c, by="engine")

    def pause(self, c: SlaClock) -> None:
        if c.segment_start is None:
            return
        self.bank(c)
        c.segment_start = None
        if c.state == State.RUNNING:
            c.state = State.PAUSED
        self.schedule(c)
        self.touch(c)
        self.event(c, Kind.PAUSE, status=self.ticket.status)

    def resume(self, c: SlaClock, **data) -> None:
        if c.segment_start is not None or c.stopped_at is not None:
            return
        c.segment_start = self.at
        if c.state == State.PAUSED:
            c.state = State.RUNNING
        self.schedule(c)
        self.touch(c)
        self.event(c, Kind.RESUME, status=self.ticket.status, **data)

    def stop(self, c: SlaClock, kind: str, **data) -> None:
        """Fulfil or cancel; a breached clock stays breached and records when it ended."""
        self.bank(c)
        c.segment_start, c.stopped_at = None, self.at
        if kind == Kind.FULFIL:
            c.fulfilled_at = self.at
        if c.state in (State.RUNNING, State.PAUSED):
            c.state = State.FULFILLED if kind == Kind.FULFIL else State.CANCELLED
        self.touch(c)
        self.event(c, kind, **data)

    def reopen(self, c: SlaClock) -> None:
        """A solved ticket is reopened: its resolution clock goes on with the time it had used."""
        c.stopped_at = c.fulfilled_at = None
        c.state = State.BREACHED if c.breached_at else State.RUNNING
        c.segment_start = self.at
        self.schedule(c)
        self.touch(c)
        self.event(c, Kind.RESUME, status=self.ticket.status, reopen=True)

    def reapply(self, c: SlaClock, version: SlaPolicyVersion | None, reason: str) -> None:
        """Elapsed time kept (banked under the old version's calendar), target and calendar from `version`."""
        seconds = _target(version, self.ticket.priority, c.metric)
        if seconds is None:
            self.stop(c, Kind.CANCEL, reason=reason, cause="no target")
            return
        self.bank(c)
        before = {"from_version": c.policy_version_id, "from_target": c.target_seconds, "due_before": _iso(c.due_at)}
        c.policy_version, c.target_seconds = version, seconds
        self.schedule(c)
        self.touch(c)
        self.event(c, Kind.REAPPLY, reason=reason, to_version=version.pk, to_target=seconds, due_after=_iso(c.due_at), **before)

    def sync(self) -> None:
        """Pause or resume each live clock for the ticket's status."""
        for c in self.live():
            if _ticks(c.metric, self.ticket.status):
                self.resume(c)
            else:
                self.pause(c)

    def finish(self, *fields: str) -> None:
        """Write the clocks, their events and the ticket's next_due_at (and `fields`)."""
        self.catch_up()  # a re-applied target already used up is breached at once
        if self.changed:
            SlaClock.objects.bulk_update(list(self.changed.values()), CLOCK_FIELDS)
        SlaEvent.objects.bulk_create(self.events)
        next_due = min((c.due_at for c in self.live() if c.segment_start is not None and c.due_at is not None), default=None)
        fields = list(fields)
        if next_due != self.ticket.next_due_at:
            self.ticket.next_due_at = next_due
            fields.append("next_due_at")
        if fields:
            Ticket.objects.filter(pk=self.ticket.pk).update(**{f: getattr(self.ticket, f) for f in fields})
        if self.breached:
            from support.sla.sweep import Due, TicketInfo, breach_ladder  # the ladder reads clocks this module writes

            breach_ladder(
                due=[Due(c.pk, c.ticket_id, c.policy_version_id) for c in self.breached],
                now=self.at,
                tickets={self.ticket.pk: TicketInfo(self.ticket.assignee_id, self.ticket.queue_id)},
                calendars=self.calendars,
            )
        self.events, self.changed, self.breached = [], {}, []


# --- hooks (support/services/tickets.py) ---------------------------------------------------------------


def ticket_opened(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A new ticket with its first customer message: the matching policy's current version is the
    ticket's; resolution starts at creation and first response at the message."""
    step = _Step(ticket, at, load=False)
    ticket.policy_version = _version_for(ticket)
    step.start(Metric.RESOLUTION, ticket.created_at, cycle=1)
    step.start(Metric.FIRST_RESPONSE, message.created_at, cycle=1)
    step.sync()
    step.finish("policy_version")


def customer_message(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A later customer message: starts next response when no response clock is live (the oldest
    unanswered message sets the clock; later ones do not restart it)."""
    if not ticket.is_open:
        return
    step = _Step(ticket, at)
    step.catch_up()
    if not step.live(Metric.FIRST_RESPONSE) and not step.live(Metric.NEXT_RESPONSE):
        step.start(Metric.NEXT_RESPONSE, message.created_at)
    step.sync()
    step.finish()


def public_reply(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A public reply by a human agent: fulfils first and next response and the periodic update,
    and starts the next periodic update (when the policy has that target)."""
    step = _Step(ticket, at)
    step.catch_up()
    for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE):
        for c in step.live(metric):
            step.stop(c, Kind.FULFIL, message=message.pk)
    if ticket.is_open:
        step.start(Metric.PERIODIC_UPDATE, at)
    step.sync()
    step.finish()


def status_changed(*, ticket: Ticket, old: str, at: datetime) -> None:
    """Solve (or close) stops every clock: resolution is fulfilled, the response and periodic
    clocks are cancelled, not breached. Reopen resumes resolution with its accumulated time.
    Pending / on hold / waiting pause resolution (pending also the periodic update)."""
    step = _Step(ticket, at)
    step.catch_up()
    if ticket.status in STOPPED_STATUSES:
        for c in step.live():
            if c.metric == Metric.RESOLUTION:
                step.stop(c, Kind.FULFIL, status=ticket.status)
            else:
                step.stop(c, Kind.CANCEL, status=ticket.status)
    elif old in STOPPED_STATUSES:
        resolution = [c for c in step.clocks if c.metric == Metric.RESOLUTION and c.state != State.CANCELLED]
        if resolution and not step.live(Metric.RESOLUTION):
            step.reopen(max(resolution, key=lambda c: c.cycle))
    step.sync()
    step.finish()


def reapply(*, ticket: Ticket, at: datetime, reason: str) -> None:
    """Priority, tier or policy change: pick the policy again; every live clock keeps its elapsed
    time and takes the new version's target and calendar (cancelled if it has none); a reapply
    event per clock. A resolution or first-response clock the ticket never had (no policy before,
    or one without that target) starts as if the ticket had been opened under this one, and so does
    next response when a customer message after the last public reply is still unanswered."""
    step = _Step(ticket, at)
    step.catch_up()
    ticket.policy_version = version = _version_for(ticket)
    for c in step.live():
        step.reapply(c, version, reason)
    if version is not None and ticket.is_open:
        # Metrics the ticket never had a clock for (no policy, or one without that target) start as
        # if from creation: resolution always, first response while nobody has replied.
        if not any(c.metric == Metric.RESOLUTION for c in step.clocks):
            step.start(Metric.RESOLUTION, ticket.created_at, cycle=1)
        if ticket.last_public_reply_at is None and not SlaClock.objects.filter(ticket=ticket, metric=Metric.FIRST_RESPONSE).exists():
            step.start(Metric.FIRST_RESPONSE, ticket.created_at, cycle=1)
        if ticket.last_public_reply_at is not None and not step.live(Metric.FIRST_RESPONSE) and not step.live(Metric.NEXT_RESPONSE):
            # A customer still waiting for an answer since the last reply: next response runs from
            # the oldest unanswered message, as it would have had the policy had that target then.
            oldest = (
                Message.objects.filter(ticket=ticket, kind=Message.Kind.CUSTOMER, created_at__gt=ticket.last_public_reply_at)
                .order_by("created_at", "pk")
                .values_list("created_at", flat=True)
                .first()
            )
            if oldest is not None:
                step.start(Metric.NEXT_RESPONSE, oldest)
    step.sync()
    step.finish("policy_version")
