"""The console's queues: who sees which tickets, views, filters, urgency order, SLA timers,
bulk assignment, presence, and a fixed query count for 100 tickets."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from support.models import AgentProfile, Message, Ticket
from tests.support.conftest_console import *  # noqa: F403 - the fixtures
from tests.support.conftest_console import clock_make, customer_make, ticket_make

QUEUE = reverse("console:queue")


def refs(response) -> list[str]:
    """Ticket references in the queue table, in page order."""
    return re.findall(r'<tr data-reference="([A-Z0-9]+)"', response.content.decode())


def test_anonymous_is_sent_to_sign_in_and_a_customer_is_refused(client, helpdesk):
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/auth/login/" in response["Location"]
    client.force_login(customer_make("es"))
    assert client.get(QUEUE).status_code == 403
    assert client.post(reverse("console:bulk_assign"), {"tickets": ["1"]}).status_code == 403


def test_staff_without_an_agent_profile_is_refused(client, helpdesk):
    from django.contrib.auth.models import Group

    from accounts.services import roles_sync
    from tests.factories import UserFactory

    roles_sync()
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="support_agent"))
    client.force_login(staff)
    assert client.get(QUEUE).status_code == 403


def test_an_agent_sees_the_queues_of_their_languages_and_a_supervisor_every_queue(client, helpdesk, es_agent, supervisor):
    spanish = ticket_make(helpdesk, language="es")
    latin = ticket_make(helpdesk, language="es-419")  # routed to the es queue, keeps its language
    german = ticket_make(helpdesk, language="de", subject="Hilfe")
    client.force_login(es_agent)
    shown = refs(client.get(QUEUE))
    assert sorted(shown) == sorted([spanish.reference, latin.reference])
    client.force_login(supervisor)
    assert sorted(refs(client.get(QUEUE))) == sorted([spanish.reference, latin.reference, german.reference])


def test_most_urgent_first_and_tickets_without_a_deadline_last(client, helpdesk, es_agent):
    later = ticket_make(helpdesk, subject="later")
    none = ticket_make(helpdesk, subject="no deadline")
    soon = ticket_make(helpdesk, subject="soon")
    late = ticket_make(helpdesk, subject="already late")
    clock_make(helpdesk, later, due_in=timedelta(hours=5))
    clock_make(helpdesk, soon, due_in=timedelta(minutes=40))
    clock_make(helpdesk, late, due_in=timedelta(minutes=-10), breached=True)
    client.force_login(es_agent)
    assert refs(client.get(QUEUE)) == [late.reference, soon.reference, later.reference, none.reference]


def test_timers_are_red_when_breached_amber_at_risk_and_say_so(client, helpdesk, es_agent):
    ok = ticket_make(helpdesk)
    risky = ticket_make(helpdesk)
    breached = ticket_make(helpdesk)
    clock_make(helpdesk, ok, due_in=timedelta(hours=3))
    clock_make(helpdesk, risky, due_in=timedelta(minutes=20), warn_in=timedelta(minutes=30))
    clock_make(helpdesk, breached, due_in=timedelta(minutes=-5), breached=True)
    client.force_login(es_agent)
    html = client.get(QUEUE).content.decode()

    def row(ticket):
        return re.search(rf'<tr data-reference="{ticket.reference}".*?</tr>', html, re.S).group(0)

    assert 'class="sla ok"' in row(ok) and "On time" in row(ok) and "left" in row(ok)
    assert 'class="sla at-risk"' in row(risky) and "At risk" in row(risky) and "19\xa0minutes left" in row(risky)
    assert 'class="sla breached"' in row(breached) and "Breached" in row(breached) and "overdue by" in row(breached)


def test_views_mine_unassigned_at_risk_breached_pending(client, helpdesk, es_agent):
    mine = ticket_make(helpdesk, subject="mine")
    Ticket.objects.filter(pk=mine.pk).update(assignee=es_agent)
    risky = ticket_make(helpdesk, subject="risky")
    clock_make(helpdesk, risky, due_in=timedelta(minutes=10))
    breached = ticket_make(helpdesk, subject="breached")
    clock_make(helpdesk, breached, due_in=timedelta(minutes=-1), state="breached", breached=True)
    pending = ticket_make(helpdesk, subject="pending")
    Ticket.objects.filter(pk=pending.pk).update(status=Ticket.Status.PENDING)
    solved = ticket_make(helpdesk, subject="solved")
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)
    client.force_login(es_agent)

    def view(name):
        return sorted(refs(client.get(QUEUE, {"view": name})))

    assert view("mine") == [mine.reference]
    assert view("unassigned") == sorted([risky.reference, breached.reference, pending.reference])
    assert view("at_risk") == [risky.reference]
    assert view("breached") == [breached.reference]
    assert view("pending") == [pending.reference]
    assert view("all") == sorted([mine.reference, risky.reference, breached.reference, pending.reference])  # solved is not open
    counts = client.get(QUEUE).context["view_counts"]
    assert counts == {"all": 4, "mine": 1, "unassigned": 3, "at_risk": 1, "breached": 1, "pending": 1}


def test_a_fulfilled_clock_past_its_warning_is_not_at_risk(client, helpdesk, es_agent):
    done = ticket_make(helpdesk)
    clock_make(helpdesk, done, due_in=timedelta(minutes=10), state="fulfilled")
    client.force_login(es_agent)
    assert refs(client.get(QUEUE, {"view": "at_risk"})) == []


def test_filters_category_priority_tier_language_status(client, helpdesk, supervisor):
    deposit = ticket_make(helpdesk, category="deposit", subject="deposit")
    urgent = ticket_make(helpdesk, subject="urgent")
    Ticket.objects.filter(pk=urgent.pk).update(priority="urgent")
    vip = ticket_make(helpdesk, subject="vip")
    Ticket.objects.filter(pk=vip.pk).update(tier=3)
    german = ticket_make(helpdesk, language="de", subject="de")
    waiting = ticket_make(helpdesk, subject="waiting")
    Ticket.objects.filter(pk=waiting.pk).update(status=Ticket.Status.ON_HOLD)
    closed = ticket_make(helpdesk, subject="closed")
    Ticket.objects.filter(pk=closed.pk).update(status=Ticket.Status.CLOSED)
    client.force_login(supervisor)
    assert refs(client.get(QUEUE, {"category": "deposit"})) == [deposit.reference]
    assert refs(client.get(QUEUE, {"priority": "urgent"})) == [urgent.reference]
    assert refs(client.get(QUEUE, {"tier": "3"})) == [vip.reference]
    assert refs(client.get(QUEUE, {"language": "de"})) == [german.reference]
    assert refs(client.get(QUEUE, {"status": "on_hold"})) == [waiting.reference]
    assert refs(client.get(QUEUE, {"status": "closed"})) == [closed.reference]  # a status filter reaches closed tickets
    assert refs(client.get(QUEUE, {"language": "de", "category": "deposit"})) == []


def test_a_fallback_ticket_is_in_its_home_language_filter_too(client, helpdesk, es_agent):
    moved = ticket_make(helpdesk, subject="moved to English")
    Ticket.objects.filter(pk=moved.pk).update(queue=helpdesk["queues"]["en"], fallback_at=timezone.now())
    client.force_login(es_agent)
    response = client.get(QUEUE, {"language": "es"})
    assert refs(response) == [moved.reference]
    assert "(from es)" in response.content.decode()


def test_an_agent_cannot_filter_their_way_into_another_queue(client, helpdesk, es_agent):
    ticket_make(helpdesk, language="de")
    client.force_login(es_agent)
    assert refs(client.get(QUEUE, {"language": "de"})) == []


def _many(helpdesk, count):
    for i in range(count):
        ticket = ticket_make(helpdesk, subject=f"ticket {i}")
        clock_make(helpdesk, ticket, due_in=timedelta(minutes=i * 7 - 30))


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_the_queue_page_costs_the_same_queries_for_1_and_100_tickets(client, helpdesk, es_agent, supervisor, role):
    user = es_agent if role == "agent" else supervisor
    Ticket.objects.all().delete()
    _many(helpdesk, 1)
    Ticket.objects.filter().update(assignee=es_agent)
    client.force_login(user)
    client.get(QUEUE)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert len(refs(client.get(QUEUE))) == 1
    _many(helpdesk, 99)
    Ticket.objects.filter().update(assignee=es_agent)
    with CaptureQueriesContext(connection) as hundred:
        assert len(refs(client.get(QUEUE))) == 100
    assert len(hundred) == len(one), [q["sql"] for q in hundred.captured_queries]


@pytest.mark.parametrize("count", [1, 100])
def test_the_queue_page_query_budget(client, helpdesk, es_agent, django_assert_num_queries, count):
    _many(helpdesk, count)
    client.force_login(es_agent)
    client.get(QUEUE)
    # session, user, allauth's session activity (savepoint, session, user, update, release), 2 x
    # permissions, agent profile, queues, categories, count, assignable agents, view counts, queue
    # counts, the page of tickets
    with django_assert_num_queries(17):
        response = client.get(QUEUE)
    assert len(refs(response)) == count


def test_a_supervisor_bulk_assigns_to_an_agent_of_the_language(client, helpdesk, es_agent, de_agent, supervisor):
    tickets = [ticket_make(helpdesk) for _ in range(3)]
    client.force_login(supervisor)
    response = client.post(
        reverse("console:bulk_assign"),
        {"tickets": [str(t.pk) for t in tickets[:2]], "assignee": str(es_agent.pk), "next": QUEUE + "?view=unassigned"},
    )
    assert response.status_code == 302 and response["Location"] == QUEUE + "?view=unassigned"
    assert sorted(Ticket.objects.filter(assignee=es_agent).values_list("pk", flat=True)) == sorted(t.pk for t in tickets[:2])
    assert Ticket.objects.get(pk=tickets[2].pk).assignee is None
    events = Message.objects.filter(event="assigned", ticket__in=tickets[:2])
    assert events.count() == 2 and all(e.internal and e.data["new"] == es_agent.pk for e in events)
    # An agent who does not speak the queue's language is refused, ticket by ticket.
    response = client.post(reverse("console:bulk_assign"), {"tickets": [str(tickets[2].pk)], "assignee": str(de_agent.pk)}, follow=True)
    assert Ticket.objects.get(pk=tickets[2].pk).assignee is None
    assert "does not answer this queue" in response.content.decode()


def test_an_agent_can_take_tickets_but_not_give_them_away_or_touch_other_queues(client, helpdesk, es_agent, de_agent):
    mine = ticket_make(helpdesk)
    german = ticket_make(helpdesk, language="de")
    client.force_login(es_agent)
    choices = client.get(QUEUE).context["bulk_form"].fields["assignee"].choices
    assert choices == [(str(es_agent.pk), "lucia")]  # only themselves: agents take, supervisors give
    # Another agent's id is not a valid choice.
    client.post(reverse("console:bulk_assign"), {"tickets": [str(mine.pk)], "assignee": str(de_agent.pk)})
    assert Ticket.objects.get(pk=mine.pk).assignee is None
    client.post(reverse("console:bulk_assign"), {"tickets": [str(mine.pk), str(german.pk)], "assignee": str(es_agent.pk)})
    assert Ticket.objects.get(pk=mine.pk).assignee == es_agent
    assert Ticket.objects.get(pk=german.pk).assignee is None  # not in the agent's tickets: skipped


def test_an_agent_cannot_take_a_colleagues_ticket(client, helpdesk, es_agent, supervisor):
    """Taking a ticket someone else holds is reassigning it: the supervisor's (it was allowed, silently)."""
    from support.services.routing import ticket_assign
    from tests.support.conftest_console import agent_create

    colleague = agent_create(languages=["es"], email="pablo@agora.test")
    ticket = ticket_make(helpdesk)
    ticket_assign(ticket=ticket, assignee=colleague, by=supervisor)
    client.force_login(es_agent)
    response = client.post(reverse("console:assign", args=[ticket.reference]), {"assignee": str(es_agent.pk)}, follow=True)
    assert "This ticket is assigned to a colleague: ask a supervisor to reassign it." in response.content.decode()
    response = client.post(reverse("console:bulk_assign"), {"tickets": [str(ticket.pk)], "assignee": str(es_agent.pk)}, follow=True)
    assert f"#{ticket.reference}: This ticket is assigned to a colleague" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee == colleague
    client.force_login(supervisor)
    client.post(reverse("console:assign", args=[ticket.reference]), {"assignee": str(es_agent.pk)})
    assert Ticket.objects.get(pk=ticket.pk).assignee == es_agent


def test_bulk_assign_ignores_an_outside_next_address(client, helpdesk, supervisor, es_agent):
    ticket = ticket_make(helpdesk)
    client.force_login(supervisor)
    response = client.post(
        reverse("console:bulk_assign"), {"tickets": [str(ticket.pk)], "assignee": str(es_agent.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == QUEUE


def test_presence_switch(client, helpdesk, es_agent):
    client.force_login(es_agent)
    for presence in ("away", "offline", "online"):
        response = client.post(reverse("console:presence"), {"presence": presence, "next": QUEUE})
        assert response.status_code == 302
        assert AgentProfile.objects.get(user=es_agent).presence == presence
    client.post(reverse("console:presence"), {"presence": "asleep"})
    assert AgentProfile.objects.get(user=es_agent).presence == "online"


def test_the_header_links_to_the_console_for_agents_only(client, helpdesk, es_agent):
    client.force_login(es_agent)
    assert f'href="{QUEUE}"' in client.get(reverse("home")).content.decode()
    client.force_login(customer_make())
    assert f'href="{QUEUE}"' not in client.get(reverse("home")).content.decode()


def test_the_console_renders_in_the_agents_language(client, helpdesk, es_agent):
    client.force_login(es_agent)
    response = client.get("/de/console/")
    assert response.status_code == 200 and response.context["LANGUAGE_CODE"] == "de"


def test_bench_console_prints_time_and_queries_and_keeps_nothing(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("bench_console", tickets=12, renders=3, stdout=out)
    line = out.getvalue()
    assert re.fullmatch(r"console queue page, 12 tickets on \w+: p50 [\d.]+ ms, p90 [\d.]+ ms over 3 renders, 17 queries\n", line), line
    assert not Ticket.objects.exists() and not AgentProfile.objects.exists()
