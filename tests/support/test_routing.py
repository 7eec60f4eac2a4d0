"""Routing: language -> queue, assignment to an online agent balanced by load and capacity, the
English fallback (at once with nobody online, or after the queue's wait), the periodic router and
its concurrency (PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from support.errors import TicketRefused
from support.models import AgentProfile, Message, Queue, Ticket
from support.routing_tasks import tickets_route_pending_task
from support.services import routing
from support.services.routing import agent_presence_set, queue_for_language, ticket_assign, ticket_route, tickets_route_pending
from support.services.tickets import ticket_status_set
from tests.conftest import on_postgres, run_concurrently
from tests.support.factories import agent_create, desk, ticket_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_ready(db):
    return desk()


def load_of(user) -> int:
    return Ticket.objects.filter(assignee=user, status__in=Ticket.OPEN_STATUSES).count()


def give(agent, n, language="es"):
    """n open tickets already assigned to `agent` (its load)."""
    for _ in range(n):
        ticket = ticket_open(language=language)
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, assigned_at=timezone.now())


@pytest.mark.parametrize(
    ("language", "queue"),
    [
        ("kk", "ru"),
        ("az", "tr"),
        ("es-419", "es"),
        ("zh-hans", "zh"),
        ("zh-hant", "zh"),
        ("pt-br", "pt"),
        ("es", "es"),
        ("ar", "ar"),
        ("it", "en"),
        ("th", "en"),
        ("ur", "en"),
        ("en", "en"),
    ],
)
def test_a_ticket_records_the_customers_language_and_the_queue_it_was_routed_to(desk_ready, language, queue):
    assert queue_for_language(language).language == queue
    ticket = ticket_open(language=language)
    assert (ticket.language, ticket.queue.language, ticket.home_queue.language) == (language, queue, queue)


def test_an_inactive_queue_sends_its_language_to_english(desk_ready):
    Queue.objects.filter(language="tr").update(is_active=False)
    assert queue_for_language("az").language == "en"


def test_the_ticket_goes_to_an_online_agent_of_the_queues_language(desk_ready):
    agent_create(languages=["en"], presence="online")
    agent_create(languages=["es"], presence="away")
    agent_create(languages=["es"], presence="offline")
    spanish = agent_create(languages=["es", "en"], presence="online")
    ticket = ticket_open(language="es-419")
    result = ticket_route(ticket=ticket)
    assert (result.assigned_to, result.fell_back) == (spanish.pk, "")
    assert (ticket.assignee, ticket.queue.language, ticket.fallback_at) == (spanish, "es", None)
    event = ticket.messages.get(event="assigned")
    assert (event.kind, event.internal, event.author, event.data) == (Message.Kind.SYSTEM, True, None, {"old": None, "new": spanish.pk})
    assert AgentProfile.objects.get(user=spanish).last_assigned_at == ticket.assigned_at


def test_load_is_balanced_relative_to_capacity(desk_ready):
    big = agent_create(languages=["es"], capacity=10)  # 4/10 = 0.4
    small = agent_create(languages=["es"], capacity=4)  # 2/4 = 0.5
    give(big, 4)
    give(small, 2)
    ticket = ticket_open(language="es")
    assert ticket_route(ticket=ticket).assigned_to == big.pk
    # 5/10 = 0.5 against 0.5: the one with fewer open tickets
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == small.pk
    assert (load_of(big), load_of(small)) == (5, 3)


def test_ties_go_to_fewer_open_then_the_longest_wait_then_the_lower_id(desk_ready):
    a = agent_create(languages=["es"], capacity=10)
    b = agent_create(languages=["es"], capacity=10)
    c = agent_create(languages=["es"], capacity=10)
    base = timezone.now() - timedelta(hours=1)
    AgentProfile.objects.filter(user=a).update(last_assigned_at=base + timedelta(minutes=10))
    AgentProfile.objects.filter(user=b).update(last_assigned_at=base)
    AgentProfile.objects.filter(user=c).update(last_assigned_at=base + timedelta(minutes=5))
    # all at 0 open: b has waited longest
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == b.pk
    # a and c at 0, b at 1: c waited longer than a
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == c.pk
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == a.pk
    # never assigned beats any wait; two never-assigned agents: the lower id
    d = agent_create(languages=["es"], capacity=10)
    e = agent_create(languages=["es"], capacity=10)
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == d.pk
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == e.pk


def test_a_ticket_taken_from_an_agent_goes_to_someone_else_when_anyone_has_room(desk_ready):
    first = agent_create(languages=["es"], capacity=5)
    second = agent_create(languages=["es"], capacity=5)
    give(second, 1)
    ticket = ticket_open(language="es")
    assert ticket_route(ticket=ticket).assigned_to == first.pk
    ticket_assign(ticket=ticket, assignee=None, by=None)  # handed back (e.g. the SLA's reassign on breach)
    # first now carries 0 open tickets, second 1: the ticket still goes to second
    assert ticket_route(ticket=ticket).assigned_to == second.pk
    supervisor = agent_create(languages=["en"], role="supervisor")
    ticket_assign(ticket=ticket, assignee=None, by=supervisor)  # a supervisor takes it from second too; second is now full
    AgentProfile.objects.filter(user=second).update(capacity=1)
    assert ticket_route(ticket=ticket).assigned_to == first.pk  # nobody else has room: back to first


def test_solved_tickets_do_not_count_as_load(desk_ready):
    busy = agent_create(languages=["es"], capacity=1)
    other = agent_create(languages=["es"], capacity=1)
    first = ticket_open(language="es")
    assert ticket_route(ticket=first).assigned_to == busy.pk
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == other.pk
    ticket_status_set(ticket=first, status=Ticket.Status.SOLVED, by=busy)
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == busy.pk


def test_nobody_is_given_more_than_capacity_and_the_ticket_waits_in_its_queue(desk_ready):
    Queue.objects.filter(language="es").update(fallback_after=timedelta(minutes=10))
    full = agent_create(languages=["es"], capacity=2)
    agent_create(languages=["en"])
    give(full, 2)
    ticket = ticket_open(language="es")
    result = ticket_route(ticket=ticket)
    assert (result.assigned_to, result.fell_back) == (None, "")
    assert (ticket.assignee, ticket.queue.language, ticket.fallback_at) == (None, "es", None)
    assert load_of(full) == 2
    assert not ticket.messages.filter(kind=Message.Kind.SYSTEM).exists()


def test_with_nobody_online_in_the_queue_the_ticket_falls_back_to_english_at_once(desk_ready):
    agent_create(languages=["es"], presence="away")
    english = agent_create(languages=["en"])
    ticket = ticket_open(language="es-419")
    at = timezone.now()
    result = ticket_route(ticket=ticket, at=at)
    assert (result.fell_back, result.assigned_to) == ("no_agent_online", english.pk)
    assert (ticket.language, ticket.queue.language, ticket.home_queue.language, ticket.fallback_at) == ("es-419", "en", "es", at)
    assert ticket.assignee == english
    event = ticket.messages.get(event="fallback")
    assert (event.kind, event.internal, event.data) == (Message.Kind.SYSTEM, True, {"from": "es", "to": "en", "reason": "no_agent_online"})
    # the fallback comes before the assignment in the conversation
    assert list(ticket.messages.filter(kind=Message.Kind.SYSTEM).values_list("event", flat=True)) == ["fallback", "assigned"]


def test_after_the_queues_wait_a_ticket_nobody_had_room_for_falls_back(desk_ready):
    Queue.objects.filter(language="de").update(fallback_after=timedelta(minutes=10))
    full = agent_create(languages=["de"], capacity=1)
    give(full, 1, language="de")
    ticket = ticket_open(language="de")
    assert ticket_route(ticket=ticket, at=ticket.created_at + timedelta(minutes=9, seconds=59)).fell_back == ""
    assert ticket.queue.language == "de"
    # nobody online in English: it moves, and waits there unassigned
    result = ticket_route(ticket=ticket, at=ticket.created_at + timedelta(minutes=10))
    assert (result.fell_back, result.assigned_to) == ("waited", None)
    assert (ticket.queue.language, ticket.home_queue.language, ticket.language, ticket.assignee) == ("en", "de", "de", None)
    # in the English queue it stays, whoever is online
    assert ticket_route(ticket=ticket, at=ticket.created_at + timedelta(days=3)).fell_back == ""
    assert ticket.messages.filter(event="fallback").count() == 1


def test_a_queue_without_a_wait_never_falls_back_while_someone_is_online(desk_ready):
    full = agent_create(languages=["fr"], capacity=1)
    give(full, 1, language="fr")
    ticket = ticket_open(language="fr")
    assert ticket_route(ticket=ticket, at=ticket.created_at + timedelta(days=30)).fell_back == ""
    assert ticket.queue.language == "fr"


def test_the_english_queue_with_nobody_online_keeps_its_tickets(desk_ready):
    ticket = ticket_open(language="it")
    result = ticket_route(ticket=ticket)
    assert (result.fell_back, result.assigned_to, ticket.queue.language, ticket.fallback_at) == ("", None, "en", None)


def test_assigned_and_solved_tickets_are_left_alone(desk_ready):
    spanish = agent_create(languages=["es"])
    taken = ticket_open(language="es")
    ticket_assign(ticket=taken, assignee=spanish, by=spanish)
    solved = ticket_open(language="es")
    ticket_status_set(ticket=solved, status=Ticket.Status.SOLVED, by=spanish)
    agent_create(languages=["es"])  # someone less loaded is online
    assert ticket_route(ticket=taken).assigned_to is None
    assert ticket_route(ticket=solved).assigned_to is None
    taken.refresh_from_db()
    solved.refresh_from_db()
    assert (taken.assignee, solved.assignee) == (spanish, None)


def test_an_agent_who_is_no_longer_active_gets_nothing(desk_ready):
    gone = agent_create(languages=["ja"])
    gone.is_active = False
    gone.save()
    english = agent_create(languages=["en"])
    result = ticket_route(ticket=ticket_open(language="ja"))
    assert (result.fell_back, result.assigned_to) == ("no_agent_online", english.pk)


def test_a_new_ticket_is_routed_once_its_transaction_commits(desk_ready, django_capture_on_commit_callbacks):
    spanish = agent_create(languages=["es"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = ticket_open(language="es")
    assert len(callbacks) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == spanish


def test_the_periodic_router_routes_oldest_first_in_bounded_batches(desk_ready):
    spanish = agent_create(languages=["es"], capacity=10)
    tickets = [ticket_open(language="es") for _ in range(3)]
    for i, ticket in enumerate(tickets):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(minutes=10 - i))
    run = tickets_route_pending(limit=2)
    assert (run.looked_at, run.assigned, run.fell_back, run.assignments) == (
        2,
        2,
        0,
        {tickets[0].pk: spanish.pk, tickets[1].pk: spanish.pk},
    )
    assert tickets_route_pending_task.apply().get() == {"assigned": 1, "fell_back": 0, "skipped_locked": 0}
    assert load_of(spanish) == 3
    assert tickets_route_pending().looked_at == 0  # safe to run again


def test_tickets_nobody_can_take_do_not_starve_the_batch(desk_ready):
    stuck = [ticket_open(language="en") for _ in range(3)]  # nobody online in English
    Ticket.objects.filter(pk__in=[t.pk for t in stuck]).update(created_at=timezone.now() - timedelta(hours=1))
    spanish = agent_create(languages=["es"])
    fresh = ticket_open(language="es")
    run = tickets_route_pending(limit=1)
    assert run.assignments == {fresh.pk: spanish.pk}
    assert Ticket.objects.filter(pk__in=[t.pk for t in stuck], assignee__isnull=True).count() == 3


def test_the_periodic_router_applies_fallbacks(desk_ready):
    Queue.objects.filter(language="ko").update(fallback_after=timedelta(minutes=30))
    korean = agent_create(languages=["ko"], capacity=1)
    give(korean, 1, language="ko")
    english = agent_create(languages=["en"])
    waiting = ticket_open(language="ko")
    nobody = ticket_open(language="vi")  # no Vietnamese agent at all
    run = tickets_route_pending(at=waiting.created_at + timedelta(minutes=5))
    assert (run.fell_back, run.assignments) == (1, {nobody.pk: english.pk})
    run = tickets_route_pending(at=waiting.created_at + timedelta(minutes=31))
    assert (run.fell_back, run.assignments) == (1, {waiting.pk: english.pk})
    waiting.refresh_from_db()
    assert (waiting.queue.language, waiting.home_queue.language, waiting.language) == ("en", "ko", "ko")


def test_manual_assignment_keeps_its_rules(desk_ready):
    spanish = agent_create(languages=["es"])
    german = agent_create(languages=["de"])
    supervisor = agent_create(languages=["en"], role="supervisor")
    ticket = ticket_open(language="es")
    with pytest.raises(TicketRefused) as refused:
        ticket_assign(ticket=ticket, assignee=german, by=german)
    assert refused.value.code == "agent_language"
    with pytest.raises(TicketRefused) as refused:
        ticket_assign(ticket=ticket, assignee=spanish, by=german)
    assert refused.value.code == "not_supervisor"
    ticket = ticket_assign(ticket=ticket, assignee=spanish, by=spanish)
    assert ticket.assignee == spanish
    assert AgentProfile.objects.get(user=spanish).last_assigned_at == ticket.assigned_at
    ticket = ticket_assign(ticket=ticket, assignee=None, by=supervisor)
    assert (ticket.assignee, ticket.assigned_at) == (None, None)
    assert [m.data for m in ticket.messages.filter(event="assigned")] == [
        {"old": None, "new": spanish.pk},
        {"old": spanish.pk, "new": None},
    ]


def test_presence_decides_who_gets_new_tickets(desk_ready):
    spanish = agent_create(languages=["es"], presence="offline")
    english = agent_create(languages=["en"])
    with pytest.raises(TicketRefused) as refused:
        agent_presence_set(agent=spanish, presence="busy")
    assert refused.value.code == "bad_presence"
    agent_presence_set(agent=spanish, presence="online")
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == spanish.pk
    agent_presence_set(agent=spanish, presence="away")
    assert ticket_route(ticket=ticket_open(language="es")).assigned_to == english.pk


def test_capacity_zero_takes_nothing(desk_ready):
    agent_create(languages=["tr"], capacity=0)
    english = agent_create(languages=["en"])
    result = ticket_route(ticket=ticket_open(language="az"))
    assert (result.fell_back, result.assigned_to) == ("no_agent_online", english.pk)


# --- Two routers at once (PostgreSQL row locks) ------------------------------------------------------


def concurrent(test):
    marks = [
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)"),
    ]
    for mark in marks:
        test = mark(test)
    return test


def unrouted(tickets):
    """Undo the routing each ticket got when its creation committed (these tests commit), so the
    routers under test start from waiting tickets."""
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(assignee=None, assigned_at=None)
    Message.objects.filter(event="assigned").delete()
    AgentProfile.objects.update(last_assigned_at=None)


@concurrent
def test_parallel_routers_never_give_an_agent_more_than_capacity():
    assert connection.vendor == "postgresql"
    desk()
    a = agent_create(languages=["es"], capacity=3)
    b = agent_create(languages=["es", "en"], capacity=2)
    tickets = [ticket_open(language="es") for _ in range(16)]
    unrouted(tickets)
    assert Ticket.objects.filter(assignee__isnull=True, queue__language="es").count() == 16
    outcomes = run_concurrently(8, lambda i: [ticket_route(ticket=t).assigned_to for t in tickets[2 * i : 2 * i + 2]])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert (load_of(a), load_of(b)) == (3, 2)
    assert Ticket.objects.filter(assignee__isnull=True).count() == 11
    assert Message.objects.filter(event="assigned").count() == 5


@concurrent
def test_parallel_periodic_runs_skip_each_others_tickets_and_respect_capacity():
    desk()
    agents = [agent_create(languages=["de"], capacity=4) for _ in range(3)]
    tickets = [ticket_open(language="de") for _ in range(20)]
    unrouted(tickets)
    runs = run_concurrently(4, lambda i: tickets_route_pending())
    assert not [o for o in runs if isinstance(o, Exception)], runs
    assert sorted(load_of(agent) for agent in agents) == [4, 4, 4]
    assert sum(run.assigned for run in runs) == 12
    assigned = [pk for run in runs for pk in run.assignments]
    assert len(assigned) == len(set(assigned)) == 12  # no ticket assigned twice
    assert Message.objects.filter(event="assigned").count() == 12
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], assignee__isnull=True).count() == 8


def test_rank_is_deterministic():
    """The key the router minimises: ratio, open count, last assignment (never first), id."""
    early, late = datetime(2026, 1, 1, 9, tzinfo=UTC), datetime(2026, 1, 1, 10, tzinfo=UTC)
    agents = [
        AgentProfile(pk=3, capacity=10, last_assigned_at=late),
        AgentProfile(pk=2, capacity=10, last_assigned_at=early),
        AgentProfile(pk=5, capacity=10, last_assigned_at=None),
        AgentProfile(pk=4, capacity=10, last_assigned_at=None),
    ]
    ordered = sorted(agents, key=lambda agent: routing._rank(agent, 1))
    assert [agent.pk for agent in ordered] == [4, 5, 2, 3]
    for agent in agents:
        agent.user_id = agent.pk * 10
    ordered = sorted(agents, key=lambda agent: routing._rank(agent, 1, frozenset({40})))
    assert [agent.pk for agent in ordered] == [5, 2, 3, 4]
