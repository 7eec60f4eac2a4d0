"""Reads of the helpdesk console: the queues, one ticket's page, the objects its messages name.

Every read starts from support.selectors.access (tickets_for_agent / customers_for_agent): what an
agent may not see does not exist here. Each read costs a fixed number of queries, whatever the
number of rows (the queue page with 100 tickets is asserted in the tests).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountFreeze, User
from support.models import AgentProfile, Attachment, CannedReply, Message, Queue, SlaClock, Ticket
from support.selectors.access import agent_languages, customers_for_agent, tickets_for_agent

VIEWS = ("all", "mine", "unassigned", "at_risk", "breached", "pending")
PAGE_SIZE = 100


def _at_risk(now: datetime):
    """A running clock past its warning time that has not breached (the SLA engine keeps warn_at)."""
    return Exists(
        SlaClock.objects.filter(
            ticket=OuterRef("pk"), state=SlaClock.State.RUNNING, warn_at__lte=now, breached_at__isnull=True, due_at__gt=now
        )
    )


def _breached(now: datetime):
    """A clock the sweeper marked breached, or a running one already past due (the sweeper runs every
    SUPPORT_SLA_SWEEP_SECONDS, so it may not have marked it yet)."""
    return Exists(
        SlaClock.objects.filter(ticket=OuterRef("pk")).filter(
            Q(breached_at__isnull=False) | Q(state=SlaClock.State.BREACHED) | Q(state=SlaClock.State.RUNNING, due_at__lte=now)
        )
    )


def clock_at_risk(clock: SlaClock, now: datetime) -> bool:
    """The same rule as the queue's subquery, for one loaded clock."""
    running = clock.state == SlaClock.State.RUNNING
    return (
        running
        and clock.warn_at is not None
        and clock.warn_at <= now
        and clock.breached_at is None
        and clock.due_at is not None
        and clock.due_at > now
    )


def clock_breached(clock: SlaClock, now: datetime) -> bool:
    running_late = clock.state == SlaClock.State.RUNNING and clock.due_at is not None and clock.due_at <= now
    return clock.breached_at is not None or clock.state == SlaClock.State.BREACHED or running_late


def queues_for(*, user: User) -> list[Queue]:
    """The queues whose tickets the agent works: every active one for a supervisor, else their languages."""
    queues = Queue.objects.filter(is_active=True).order_by("language")
    if not user.has_perm("support.supervise_ticket"):
        queues = queues.filter(language__in=agent_languages(user))
    return list(queues)


@dataclass
class QueueFilters:
    view: str = "all"
    language: str = ""
    category: str = ""
    priority: str = ""
    tier: int | None = None
    status: str = ""


def console_tickets(*, user: User, filters: QueueFilters, now: datetime | None = None) -> QuerySet[Ticket]:
    """The agent's tickets for one view and filters, most urgent first (next_due_at, no deadline
    last), each with its queue, category, customer, assignee and SLA flags (at_risk, breached)."""
    now = now or timezone.now()
    tickets = tickets_for_agent(user).annotate(at_risk=_at_risk(now), breached=_breached(now))
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    elif filters.view == "pending":
        tickets = tickets.filter(status__in=Ticket.PAUSED)
    else:
        tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    if filters.view == "mine":
        tickets = tickets.filter(assignee=user)
    elif filters.view == "unassigned":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.view == "at_risk":
        tickets = tickets.filter(at_risk=True)
    elif filters.view == "breached":
        tickets = tickets.filter(breached=True)
    if filters.language:
        # A ticket that fell back to the English queue still belongs to its language's queue too.
        tickets = tickets.filter(Q(queue__language=filters.language) | Q(home_queue__language=filters.language))
    if filters.category:
        tickets = tickets.filter(category__slug=filters.category)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.tier is not None:
        tickets = tickets.filter(tier=filters.tier)
    return tickets.select_related("customer", "category", "queue", "home_queue", "assignee__agent").order_by(
        F("next_due_at").asc(nulls_last=True), "created_at", "id"
    )


def view_counts(*, user: User, now: datetime | None = None) -> dict[str, int]:
    """How many open tickets each view holds (one query)."""
    now = now or timezone.now()
    open_tickets = tickets_for_agent(user).filter(status__in=Ticket.OPEN_STATUSES)
    return open_tickets.aggregate(
        all=Count("pk"),
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        at_risk=Count("pk", filter=_at_risk(now)),
        breached=Count("pk", filter=_breached(now)),
        pending=Count("pk", filter=Q(status__in=Ticket.PAUSED)),
    )


def queue_counts(*, user: User) -> dict[str, int]:
    """Open tickets per queue language the agent sees (one query)."""
    rows = tickets_for_agent(user).filter(status__in=Ticket.OPEN_STATUSES).values("queue__language").annotate(n=Count("pk")).order_by()
    return {row["queue__language"]: row["n"] for row in rows}


def agents_assignable(*, user: User) -> list[AgentProfile]:
    """Whom the agent can give a ticket to: anyone with a profile for a supervisor, else only themselves."""
    agents = AgentProfile.objects.select_related("user").filter(user__is_active=True).order_by("display_name")
    if not user.has_perm("support.supervise_ticket"):
        agents = agents.filter(user=user)
    return list(agents)


# --- One ticket ------------------------------------------------------------------------------------


def console_ticket(*, user: User, reference: str) -> Ticket | None:
    """The ticket with this reference if the agent may open it, with what its page shows."""
    return (
        tickets_for_agent(user)
        .select_related(
            "customer",
            "category",
            "queue",
            "home_queue",
            "assignee__agent",
            "deposit__network__asset",
            "withdrawal__network__asset",
            "order__market__base",
            "recovery__asset",
            "policy_version__policy",
        )
        .filter(reference=reference)
        .first()
    )


def conversation(*, ticket: Ticket) -> list[Message]:
    """Every message of the ticket (internal notes and events included: this is the agents' view),
    oldest first, with authors, their agent names and attachments."""
    return list(
        ticket.messages.select_related("author__agent")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )


def event_people(*, messages: list[Message]) -> dict[int, str]:
    """Names of the people system events refer to by id (assignments), in one query."""
    ids = set()
    for message in messages:
        if message.event == "assigned":
            ids.update(value for value in (message.data.get("old"), message.data.get("new")) if isinstance(value, int))
    if not ids:
        return {}
    names = {}
    for person in User.objects.filter(pk__in=ids).select_related("agent"):
        agent = getattr(person, "agent", None)
        names[person.pk] = agent.display_name if agent is not None else person.email
    return names


def ticket_clocks(*, ticket: Ticket) -> list[SlaClock]:
    """The ticket's SLA clocks, the running ones first, soonest due first."""
    return sorted(ticket.clocks.all(), key=lambda c: (c.state != SlaClock.State.RUNNING, c.due_at is None, c.due_at or c.started_at, c.pk))


def canned_replies_for(*, ticket: Ticket) -> list[CannedReply]:
    """Active canned replies and macros for the ticket's category and for every category."""
    return list(CannedReply.objects.filter(is_active=True).filter(Q(category__isnull=True) | Q(category=ticket.category_id)))


def canned_reply_for(*, ticket: Ticket, pk) -> CannedReply | None:
    return CannedReply.objects.filter(is_active=True, pk=pk).filter(Q(category__isnull=True) | Q(category=ticket.category_id)).first()


def newer_messages(*, ticket: Ticket, after_id: int, reader: User) -> list[Message]:
    """What others wrote after the message `after_id` the reader last saw: customer messages and
    agents' replies and notes (the collision warning)."""
    return list(
        ticket.messages.filter(pk__gt=after_id, kind__in=[Message.Kind.CUSTOMER, Message.Kind.AGENT])
        .exclude(author=reader)
        .select_related("author__agent")
        .order_by("id")
    )


def freeze_lifts_waiting(*, user: User) -> QuerySet[AccountFreeze]:
    """Freezes someone asked to lift, of customers the agent can see, waiting for a second person."""
    return (
        AccountFreeze.objects.filter(lifted_at__isnull=True, lift_requested_by__isnull=False, user__in=customers_for_agent(user))
        .select_related("user", "created_by", "lift_requested_by")
        .order_by("lift_requested_at")
    )


# --- Transaction hashes and addresses in message text -----------------------------------------------

# Hex hashes (0x-prefixed or not), base58 / bech32 / TRON addresses: long runs of letters and digits.
REFERENCE_TOKEN = re.compile(r"\b[A-Za-z0-9]{25,128}\b")
LINKS_PER_TOKEN = 5
# Candidates looked up per page, newest messages first: a customer who pastes thousands of long
# tokens must not turn the agent's page into a query past the database's parameter limit.
TOKENS_LOOKED_UP = 300


@dataclass(frozen=True)
class ObjectLink:
    kind: str  # deposit, withdrawal, recovery
    pk: int
    url: str


@dataclass
class ReferenceLinks:
    """Tokens of message text that name the customer's own deposits, withdrawals or recovery requests."""

    by_token: dict[str, list[ObjectLink]] = field(default_factory=dict)

    def __bool__(self):
        return bool(self.by_token)


ADMIN_OBJECT = {
    "deposit": ("wallets.view_deposit", "admin:wallets_deposit_change"),
    "withdrawal": ("wallets.view_withdrawal", "admin:wallets_withdrawal_change"),
    "recovery": ("wallets.view_recoveryrequest", "admin:wallets_recoveryrequest_change"),
}


def object_url(*, user: User, kind: str, pk: int) -> str:
    """The console's own page of the object; the admin change page for staff allowed to view it there."""
    perm, admin_name = ADMIN_OBJECT[kind]
    if user.is_staff and user.has_perm(perm):
        return reverse(admin_name, args=[pk])
    return reverse("console:object", args=[kind, pk])


def reference_links(*, user: User, customer: User, texts: list[str]) -> ReferenceLinks:
    """Which tokens of `texts` (oldest first) are tx hashes or addresses of `customer`'s deposits,
    withdrawals or recovery requests (three queries, none when no text has a candidate; the
    newest TOKENS_LOOKED_UP candidates). Another customer's
    objects are never matched: the lookup is filtered by the ticket's customer."""
    from wallets.models import Deposit, RecoveryRequest, Withdrawal

    tokens = set()
    for text in reversed(texts):
        for match in REFERENCE_TOKEN.finditer(text or ""):
            if len(tokens) >= TOKENS_LOOKED_UP:
                break
            tokens.add(match.group(0))
    links = ReferenceLinks()
    if not tokens:
        return links

    def add(token: str, kind: str, pk: int):
        found = links.by_token.setdefault(token, []) if token in tokens else None
        # A deposit address can have received hundreds of deposits: the newest few are enough to follow.
        if found is not None and len(found) < LINKS_PER_TOKEN and all(link.pk != pk or link.kind != kind for link in found):
            found.append(ObjectLink(kind, pk, object_url(user=user, kind=kind, pk=pk)))

    named = Q(tx_hash__in=tokens) | Q(address__in=tokens)
    for d in (
        Deposit.objects.filter(named | Q(from_address__in=tokens), user=customer)
        .only("pk", "tx_hash", "address", "from_address")
        .order_by("-pk")
    ):
        for token in (d.tx_hash, d.address, d.from_address):
            add(token, "deposit", d.pk)
    for w in Withdrawal.objects.filter(named, user=customer).only("pk", "tx_hash", "address").order_by("-pk"):
        for token in (w.tx_hash, w.address):
            add(token, "withdrawal", w.pk)
    for r in RecoveryRequest.objects.filter(named, user=customer).only("pk", "tx_hash", "address").order_by("-pk"):
        for token in (r.tx_hash, r.address):
            add(token, "recovery", r.pk)
    return links


def console_object(*, user: User, kind: str, pk: int):
    """A deposit, withdrawal or recovery request of a customer the agent can see (None otherwise)."""
    from wallets.models import Deposit, RecoveryRequest, Withdrawal

    rows = {
        "deposit": Deposit.objects.select_related("network__asset", "user"),
        "withdrawal": Withdrawal.objects.select_related("network__asset", "user"),
        "recovery": RecoveryRequest.objects.select_related("asset", "user", "deposit"),
    }
    if kind not in rows:
        return None
    return rows[kind].filter(pk=pk, user__in=customers_for_agent(user)).first()


def console_attachment(*, user: User, pk: int) -> Attachment | None:
    """An attachment of a ticket the agent may open."""
    return Attachment.objects.filter(pk=pk, message__ticket__in=tickets_for_agent(user)).first()
