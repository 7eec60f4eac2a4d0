"""Which queue a ticket goes to, and who works it.

Routing rules (docs/architecture.md, "Support desk: routing, admin and demo data"):
- a ticket goes to the queue of the customer's language (config.languages' fallback map) and keeps
  that language for good; `home_queue` remembers that queue;
- the router gives an unassigned open ticket to an ONLINE agent who speaks its queue's language,
  the least loaded relative to capacity (open tickets assigned / capacity), never above capacity;
  ties go to fewer open tickets, then to the agent waiting longest since their last assignment,
  then to the lower id (deterministic); an agent the ticket was taken from (returned, reassigned,
  handed back on a breach) gets it again only when nobody else has room;
- when the queue has no agent online, or nobody had room for `Queue.fallback_after` since the
  ticket was opened, the ticket moves to the English queue (an internal system event);
- a router locks the ticket, then every candidate agent's profile in id order, and counts loads
  under those locks: two routers at once never give an agent more than capacity, and never
  deadlock (one lock set per transaction, always in the same order).
"""

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.languages import support_queue_for
from support.errors import TicketRefused
from support.models import AgentProfile, Message, Queue, Ticket

ENGLISH = "en"
# Tickets the periodic router looks at per run; the rest wait for the next run (oldest first).
ROUTE_BATCH = 200


def queue_for_language(language: str) -> Queue:
    """The queue of the customer's language (the fallback map in config.languages: kk->ru, az->tr,
    es-419->es, any other language without a queue -> en)."""
    code = support_queue_for(language)
    queue = Queue.objects.filter(language=code, is_active=True).select_related("calendar").first()
    if queue is None:
        queue = Queue.objects.select_related("calendar").get(language=ENGLISH)
    return queue


def _can_work(user, ticket) -> bool:
    agent = getattr(user, "agent", None)
    return agent is not None and (ticket.queue.language in agent.languages or user.has_perm("support.supervise_ticket"))


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User | None) -> Ticket:
    """Give the ticket to `assignee` (None: back to the queue). Agents may take tickets of their
    languages; assigning to someone else needs a supervisor (`by=None` is the router). Logged as an
    internal event. Manual assignment is not held to capacity; the router is."""
    ticket = Ticket.objects.select_for_update(no_key=True, of=("self",)).select_related("queue").get(pk=ticket.pk)
    if by is not None and not by.has_perm("support.supervise_ticket") and assignee != by:
        raise TicketRefused("not_supervisor", _("Only a supervisor can give a ticket to someone else."))
    if assignee is not None and not _can_work(assignee, ticket):
        raise TicketRefused("agent_language", _("This agent does not answer this queue's language."))
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    now = timezone.now()
    old = ticket.assignee_id
    ticket.assignee, ticket.assigned_at, ticket.updated_at = assignee, now if assignee else None, now
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    if assignee is not None:
        AgentProfile.objects.filter(user=assignee).update(last_assigned_at=now)
    Message.event_add(
        ticket=ticket, event="assigned", data={"old": old, "new": assignee.pk if assignee else None}, internal=True, by=by, at=now
    )
    return ticket


def agent_presence_set(*, agent: User, presence: str) -> None:
    """Online / away / offline. Only online agents are given new tickets."""
    if presence not in AgentProfile.Presence.values:
        raise TicketRefused("bad_presence", _("Choose online, away or offline."))
    AgentProfile.objects.filter(user=agent).exclude(presence=presence).update(presence=presence, presence_changed_at=timezone.now())


# --- Automatic routing ---------------------------------------------------------------------------------


@dataclass
class RouteResult:
    """What the router did with one ticket."""

    assigned_to: int | None = None  # user id
    fell_back: str = ""  # "" or the reason: "no_agent_online" / "waited"


@dataclass
class RouteRun:
    """What one periodic run did (counts, for the task's log)."""

    looked_at: int = 0
    assigned: int = 0
    fell_back: int = 0
    skipped_locked: int = 0
    assignments: dict = field(default_factory=dict)


def _online_agents() -> list[AgentProfile]:
    # JSON containment is not portable (SQLite), and the online agents are a handful: filter languages in Python.
    return list(AgentProfile.objects.filter(presence=AgentProfile.Presence.ONLINE, user__is_active=True, capacity__gt=0).order_by("pk"))


def _loads(user_ids) -> dict[int, int]:
    """Open tickets assigned, per agent user id (the load the router balances)."""
    rows = (
        Ticket.objects.filter(assignee_id__in=list(user_ids), status__in=Ticket.OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def _speakers(agents, language: str) -> list[AgentProfile]:
    return [agent for agent in agents if language in (agent.languages or [])]


def _has_room(agents, loads) -> bool:
    return any(loads.get(agent.user_id, 0) < agent.capacity for agent in agents)


def _rank(agent: AgentProfile, load: int, held_before: frozenset = frozenset()):
    """Agents who have not held the ticket before first, then least loaded relative to capacity, then
    fewest open, then longest since the last assignment, then id."""
    waited_since = agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")
    return agent.user_id in held_before, Fraction(load, agent.capacity), load, waited_since, agent.pk


def _held_before(ticket: Ticket) -> frozenset:
    """Agents the ticket was taken from (returned to the queue, reassigned, or handed back on a
    breach): the router gives it to someone else when anyone else has room."""
    events = Message.objects.filter(ticket=ticket, kind=Message.Kind.SYSTEM, event="assigned").values_list("data", flat=True)
    return frozenset(data.get("old") for data in events if data.get("old"))


def _pick_and_lock(language: str, held_before: frozenset = frozenset()) -> AgentProfile | None:
    """The agent to give the next ticket of `language`, with every candidate's profile locked (id order)
    until the caller's transaction ends, so loads cannot change under the choice."""
    candidates = [agent.pk for agent in _speakers(_online_agents(), language)]
    if not candidates:
        return None
    locked = list(
        AgentProfile.objects.select_for_update(no_key=True, of=("self",)).select_related("user").filter(pk__in=candidates).order_by("pk")
    )
    # Re-read under the lock: presence, languages or capacity may have changed since the first look.
    fresh = [
        agent
        for agent in locked
        if agent.presence == AgentProfile.Presence.ONLINE and agent.user.is_active and language in (agent.languages or [])
    ]
    loads = _loads(agent.user_id for agent in fresh)
    room = [agent for agent in fresh if loads.get(agent.user_id, 0) < agent.capacity]
    if not room:
        return None
    return min(room, key=lambda agent: _rank(agent, loads.get(agent.user_id, 0), held_before))


def _fallback(*, ticket: Ticket, reason: str, at: datetime) -> None:
    """Move the ticket to the English queue; it keeps the customer's language and its home queue."""
    from support.sla import engine

    english = Queue.objects.get(language=ENGLISH)
    old = ticket.queue.language
    ticket.queue, ticket.fallback_at, ticket.updated_at = english, at, at
    ticket.save(update_fields=["queue", "fallback_at", "updated_at"])
    Message.event_add(ticket=ticket, event="fallback", data={"from": old, "to": ENGLISH, "reason": reason}, internal=True, at=at)
    # A policy may filter on the queue: the SLA keeps its elapsed time and re-applies.
    engine.reapply(ticket=ticket, at=at, reason="fallback")


def _fallback_reason(*, ticket: Ticket, at: datetime) -> str:
    """Why the ticket should leave its queue for the English one now ("" if it should stay)."""
    queue = ticket.queue
    if queue.language == ENGLISH:
        return ""
    speakers = _speakers(_online_agents(), queue.language)
    if not speakers:
        return "no_agent_online"
    if queue.fallback_after is not None and ticket.created_at + queue.fallback_after <= at:
        if not _has_room(speakers, _loads(agent.user_id for agent in speakers)):
            return "waited"
    return ""


def _route_locked(*, ticket: Ticket, at: datetime) -> RouteResult:
    result = RouteResult()
    if ticket.assignee_id is not None or not ticket.is_open:
        return result
    # Decided before any agent lock is taken, so a transaction only ever locks one queue's agents.
    reason = _fallback_reason(ticket=ticket, at=at)
    if reason:
        _fallback(ticket=ticket, reason=reason, at=at)
        result.fell_back = reason
    agent = _pick_and_lock(ticket.queue.language, _held_before(ticket))
    if agent is not None:
        ticket_assign(ticket=ticket, assignee=agent.user, by=None)
        result.assigned_to = agent.user_id
    return result


@transaction.atomic
def ticket_route(*, ticket: Ticket, at: datetime | None = None) -> RouteResult:
    """Route one ticket now: fall back to English if its queue has nobody online (or the wait is
    over and nobody has room), then assign it to the best online agent with room. A ticket already
    assigned, or not open, is left alone. Takes the ticket's row lock (waits for it)."""
    at = at or timezone.now()
    locked = Ticket.objects.select_for_update(no_key=True, of=("self",)).select_related("queue").get(pk=ticket.pk)
    result = _route_locked(ticket=locked, at=at)
    ticket.refresh_from_db()
    return result


def ticket_route_after_commit(*, ticket: Ticket) -> None:
    """Route a new ticket once its transaction commits (a task: the customer's request does not wait
    for agent locks, and a failure is retried by the periodic run)."""
    from support.routing_tasks import ticket_route_task

    transaction.on_commit(lambda: ticket_route_task.delay(ticket.pk))


def _routable(at: datetime) -> Q | None:
    """Tickets the router can do something with now: a queue where someone online has room, or one
    whose tickets are due to fall back (nobody online, or waited past `fallback_after`). Without
    this filter, tickets nobody can take would fill every batch and starve the others."""
    agents = _online_agents()
    loads = _loads(agent.user_id for agent in agents)
    parts = Q(pk__in=[])
    for queue in Queue.objects.all():
        speakers = _speakers(agents, queue.language)
        if _has_room(speakers, loads):
            parts |= Q(queue=queue)
        elif queue.language != ENGLISH:
            if not speakers:
                parts |= Q(queue=queue)
            elif queue.fallback_after is not None:
                parts |= Q(queue=queue, created_at__lte=at - queue.fallback_after)
    return parts


def tickets_route_pending(*, limit: int = ROUTE_BATCH, at: datetime | None = None) -> RouteRun:
    """The periodic router: routes up to `limit` unassigned open tickets, oldest first, each in its own
    transaction under its row lock taken with SKIP LOCKED (a ticket another router or an agent holds
    is left for the next run). Safe to run in parallel and to run twice."""
    at = at or timezone.now()
    run = RouteRun()
    ids = list(
        Ticket.objects.filter(assignee__isnull=True, status__in=Ticket.OPEN_STATUSES)
        .filter(_routable(at))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(no_key=True, skip_locked=True, of=("self",)).select_related("queue").filter(pk=pk).first()
            )
            if ticket is None:
                run.skipped_locked += 1
                continue
            run.looked_at += 1
            result = _route_locked(ticket=ticket, at=at)
        if result.fell_back:
            run.fell_back += 1
        if result.assigned_to is not None:
            run.assigned += 1
            run.assignments[pk] = result.assigned_to
    return run
