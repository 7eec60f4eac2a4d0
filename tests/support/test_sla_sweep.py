"""The SLA sweeper: warn and breach fire once at their exact instants, the escalation ladder
(assignee -> queue lead with reassignment -> head of support), notifications held until the
recipient's working hours except under a 24/7 calendar, and two sweepers at once on PostgreSQL."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from support.models import AgentProfile, Message, Metric, SlaClock, SlaEvent, SlaNotification, Ticket
from support.services.routing import ticket_assign
from support.services.tickets import message_post_agent, ticket_create, ticket_status_set
from support.sla.sweep import clock_fire, clocks_sweep, clocks_upcoming, notifications_send
from support.tasks import sla_sweep
from tests.conftest import on_postgres, run_concurrently
from tests.support.conftest_sla import H, berlin, clock_of, events_of, now_fixture, office_fixture  # noqa: F401
from tests.support.factories import CalendarFactory, agent_create, policy_create

S = SlaClock.State
NO_LOOKAHEAD = timedelta(0)


def sweep(at, **kwargs):
    """A sweep at `at`, then the mailing the task queues after it."""
    result = clocks_sweep(now=at, lookahead=NO_LOOKAHEAD, **kwargs)
    result.sent = notifications_send(now=at)
    return result


def open_ticket(office, now, at, category="withdrawal"):
    now.set(at)
    ticket, _ = ticket_create(customer=office["customer"], subject="Retiro", body="¿Dónde está?", category=office["categories"][category])
    return ticket


@pytest.fixture
def staff(office):
    """An es agent (German, Berlin), the es queue's lead (French) and the head of support."""
    agent = agent_create(languages=["es"], language="de", time_zone="Europe/Berlin")
    lead = agent_create(languages=["es", "fr"], role="supervisor", language="fr", time_zone="Europe/Paris")
    head = agent_create(languages=["en"], role="supervisor", time_zone="America/New_York")
    AgentProfile.objects.filter(user=head).update(is_head_of_support=True)
    queue = office["queues"]["es"]
    queue.lead = lead
    queue.save()
    return {"agent": agent, "lead": lead, "head": head, "queue": queue}


@pytest.fixture
def around_the_clock(office):
    """Account-security tickets run on a 24/7 policy: first response 1 h, warning 30 min before."""
    return policy_create(
        name="security",
        position=2,
        calendar=CalendarFactory(name="security 24/7", time_zone="Europe/Berlin"),
        targets={"normal": {"first_response": H, "resolution": 4 * H}},
        categories=[office["categories"]["account_security"]],
    )


def test_the_ladder_on_a_24_7_ticket_warns_breaches_reassigns_and_escalates_once(
    office, now, staff, around_the_clock, django_capture_on_commit_callbacks
):
    agent, lead, head = staff["agent"], staff["lead"], staff["head"]
    staff["queue"].reassign_on_breach = True
    staff["queue"].save()
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 2), category="account_security")  # Saturday 02:00
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    first = clock_of(ticket, Metric.FIRST_RESPONSE)
    assert (first.warn_at, first.due_at) == (berlin(2026, 6, 6, 2, 30), berlin(2026, 6, 6, 3))

    now.set(berlin(2026, 6, 6, 2, 30))
    assert sweep(now()).warned == 1  # 24/7: mailed at once, at night, to the assignee
    assert [m.to for m in mail.outbox] == [[agent.email]]
    assert "SLA-Warnung: Ticket #" + ticket.reference in mail.outbox[0].subject  # the agent reads German

    now.set(berlin(2026, 6, 6, 3))
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(now())
    assert (result.breached, result.sent) == (1, 1)  # the lead's mail, before the ticket goes back to the queue
    assert mail.outbox[1].to == [lead.email]  # the queue's lead
    assert "Il retourne dans la file, sans responsable" in mail.outbox[1].body  # the lead reads French
    ticket.refresh_from_db()
    assert ticket.assignee is None  # the es queue hands breached tickets back
    assert Message.objects.filter(ticket=ticket, event="assigned", internal=True, data={"old": agent.pk, "new": None}).exists()

    assert sweep(berlin(2026, 6, 6, 3, 59, 59)).escalated == 0
    assert sweep(berlin(2026, 6, 6, 4)).escalated == 1
    assert mail.outbox[2].to == [head.email]
    assert sweep(berlin(2026, 6, 6, 5)).escalated == 0
    assert len(mail.outbox) == 3
    first.refresh_from_db()
    assert (first.state, first.warned_at, first.breached_at, first.escalated_at) == (
        S.BREACHED,
        berlin(2026, 6, 6, 2, 30),
        berlin(2026, 6, 6, 3),
        berlin(2026, 6, 6, 4),
    )
    assert [(kind, at) for kind, at, _ in events_of(first)] == [
        ("activate", berlin(2026, 6, 6, 2)),
        ("warn", berlin(2026, 6, 6, 2, 30)),
        ("breach", berlin(2026, 6, 6, 3)),
        ("escalate", berlin(2026, 6, 6, 4)),
    ]
    assert SlaEvent.objects.get(clock=first, kind="escalate").used_seconds == 2 * H
    assert list(SlaNotification.objects.filter(clock=first).values_list("step", "recipient", "send_after")) == [
        ("warn", agent.pk, berlin(2026, 6, 6, 2, 30)),
        ("breach", lead.pk, berlin(2026, 6, 6, 3)),
        ("escalate", head.pk, berlin(2026, 6, 6, 4)),
    ]


def test_a_warning_waits_for_the_recipients_working_hours_and_speaks_their_language(office, now, staff):
    agent = staff["agent"]
    tokyo = CalendarFactory(name="Tokyo", time_zone="Asia/Tokyo", around_the_clock=False, week={d: [(time(9), time(17))] for d in range(5)})
    AgentProfile.objects.filter(user=agent).update(calendar=tokyo)
    ticket = open_ticket(office, now, berlin(2026, 6, 5, 16))  # Friday: 1 h Friday, 3 h Monday
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    assert clock_of(ticket, Metric.FIRST_RESPONSE).warn_at == berlin(2026, 6, 8, 11, 30)

    assert sweep(berlin(2026, 6, 8, 11, 30)).warned == 1  # 18:30 in Tokyo: held
    note = SlaNotification.objects.get()
    assert (note.step, note.recipient, note.send_after, note.sent_at) == ("warn", agent, datetime(2026, 6, 9, 0, tzinfo=UTC), None)
    assert mail.outbox == []
    assert sweep(datetime(2026, 6, 8, 23, 59, 59, tzinfo=UTC)).sent == 0
    # Meanwhile it breached and escalated; the lead and the head have no calendar of their own, so
    # their first language's queue decides (the es and en queues: Berlin office hours).
    assert dict(SlaNotification.objects.filter(step__in=["breach", "escalate"]).values_list("recipient", "send_after")) == {
        staff["lead"].pk: berlin(2026, 6, 9, 9),
        staff["head"].pk: berlin(2026, 6, 9, 9),
    }
    assert sweep(datetime(2026, 6, 9, 0, tzinfo=UTC)).sent == 1  # 09:00 in Tokyo
    assert sweep(datetime(2026, 6, 9, 1, tzinfo=UTC)).sent == 0
    [email] = mail.outbox
    assert email.to == [agent.email]
    # German, in the agent's own zone: due Monday 12:00 in Berlin.
    assert "8. Juni 2026 12:00" in email.body
    assert f"#{ticket.reference} „Retiro“" in email.body


def test_an_unassigned_ticket_warns_the_queue_lead_and_a_queue_without_lead_the_head(office, now, staff):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    assert sweep(berlin(2026, 6, 2, 10, 30)).warned == 1
    assert SlaNotification.objects.get(clock__ticket=ticket).recipient == staff["lead"]
    staff["queue"].lead = None
    staff["queue"].save()
    assert sweep(berlin(2026, 6, 2, 11)).breached == 1
    assert SlaNotification.objects.get(clock__ticket=ticket, step="breach").recipient == staff["head"]


def test_a_warning_with_nobody_assigned_and_no_lead_goes_to_the_head_with_a_console_link(
    office, now, staff, django_capture_on_commit_callbacks
):
    staff["queue"].lead = None
    staff["queue"].save()
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    mail.outbox.clear()
    assert sweep(berlin(2026, 6, 2, 10, 30)).warned == 1  # office hours: mailed at once
    note = SlaNotification.objects.get(clock__ticket=ticket, step="warn")
    assert note.recipient == staff["head"]  # it went to nobody before
    (email,) = [m for m in mail.outbox if m.to == [staff["head"].email]]
    language = staff["head"].language
    assert f"http://testserver/{language}/console/tickets/{ticket.reference}/" in email.body


def test_a_breach_answered_before_the_delay_is_not_escalated(office, now, staff, around_the_clock):
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 2), category="account_security")
    assert sweep(berlin(2026, 6, 6, 3)).breached == 1
    now.set(berlin(2026, 6, 6, 3, 30))
    message_post_agent(ticket=ticket, agent=staff["agent"], body="Ya está")
    first = clock_of(ticket, Metric.FIRST_RESPONSE)
    assert (first.state, first.fulfilled_at, first.stopped_at) == (S.BREACHED, berlin(2026, 6, 6, 3, 30), berlin(2026, 6, 6, 3, 30))
    assert sweep(berlin(2026, 6, 6, 5)).escalated == 0
    assert not SlaEvent.objects.filter(kind="escalate").exists()


def test_a_paused_breach_is_escalated_only_once_it_ticks_again(office, now, staff, around_the_clock):
    agent = staff["agent"]
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 2), category="account_security")
    now.set(berlin(2026, 6, 6, 2, 10))
    message_post_agent(ticket=ticket, agent=agent, body="Lo miramos")
    assert sweep(berlin(2026, 6, 6, 6)).breached == 1  # resolution, 4 h around the clock
    now.set(berlin(2026, 6, 6, 6, 10))
    ticket_status_set(ticket=ticket, status=Ticket.Status.PENDING, by=agent)
    assert sweep(berlin(2026, 6, 6, 7, 30)).escalated == 0  # waiting on the customer
    now.set(berlin(2026, 6, 6, 8))
    ticket_status_set(ticket=ticket, status=Ticket.Status.OPEN, by=agent)
    assert sweep(berlin(2026, 6, 6, 8)).escalated == 1
    escalated = SlaEvent.objects.get(kind="escalate")
    # Due since it ticks again (08:00), not at breach + 1 h (07:00) while it was paused.
    assert (escalated.clock.metric, escalated.at, escalated.used_seconds) == (Metric.RESOLUTION, berlin(2026, 6, 6, 8), 4 * H + 600)


def test_the_lookahead_lists_instants_before_the_next_sweep_and_a_scheduled_check_fires_them(office, now, around_the_clock):
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 2), category="account_security")
    first = clock_of(ticket, Metric.FIRST_RESPONSE)
    assert clocks_upcoming(now=berlin(2026, 6, 6, 2, 29, 45), lookahead=timedelta(seconds=30), limit=10) == [(first.pk, first.warn_at)]
    assert clocks_upcoming(now=berlin(2026, 6, 6, 2, 59, 45), lookahead=timedelta(seconds=30), limit=10) == [(first.pk, first.due_at)]
    assert clock_fire(clock_id=first.pk, now=berlin(2026, 6, 6, 2, 29, 59)) is False
    assert clock_fire(clock_id=first.pk, now=berlin(2026, 6, 6, 2, 30)) is True  # the warning
    assert clock_fire(clock_id=first.pk, now=berlin(2026, 6, 6, 2, 59, 59)) is False
    assert clock_fire(clock_id=first.pk, now=berlin(2026, 6, 6, 3)) is True  # the breach
    assert clock_fire(clock_id=first.pk, now=berlin(2026, 6, 6, 3)) is False
    first.refresh_from_db()
    assert (first.state, first.breached_at) == (S.BREACHED, berlin(2026, 6, 6, 3))


def test_the_beat_task_sweeps_with_the_current_time(office, now, around_the_clock, settings):
    assert settings.CELERY_BEAT_SCHEDULE["support-sla-sweep"] == {"task": "support.tasks.sla_sweep", "schedule": 30.0}
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 2), category="account_security")
    now.set(berlin(2026, 6, 6, 3, 0, 1))
    sla_sweep.delay()
    assert clock_of(ticket, Metric.FIRST_RESPONSE).breached_at == berlin(2026, 6, 6, 3)


def test_the_database_refuses_a_second_breach_event(office, now):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    sweep(berlin(2026, 6, 2, 11))
    first = clock_of(ticket, Metric.FIRST_RESPONSE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaEvent.objects.create(clock=first, ticket=ticket, kind="breach", at=berlin(2026, 6, 2, 11))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_fire_each_breach_and_warning_exactly_once(office, now, staff):
    if not on_postgres():
        pytest.skip("needs PostgreSQL (SKIP LOCKED)")
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    assert Ticket.objects.get(pk=ticket.pk).assignee == staff["agent"]  # routed on commit to the online es agent
    version = ticket.clocks.first().policy_version
    due = berlin(2026, 6, 1, 16)
    SlaClock.objects.bulk_create(
        SlaClock(
            ticket=ticket,
            metric=Metric.NEXT_RESPONSE,
            cycle=n,
            policy_version=version,
            target_seconds=H,
            started_at=due - timedelta(hours=1),
            segment_start=due - timedelta(hours=1),
            # Half are due, half only inside their warning window.
            due_at=due + timedelta(seconds=n) if n % 2 else due + timedelta(hours=2),
            warn_at=due - timedelta(minutes=30),
        )
        for n in range(1, 161)
    )
    at = berlin(2026, 6, 1, 16, 5)
    results = run_concurrently(2, lambda i: clocks_sweep(now=at, lookahead=NO_LOOKAHEAD, batch=10))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.breached for r in results) == 80
    assert sum(r.warned for r in results) == 80
    assert SlaEvent.objects.filter(kind="breach").count() == SlaEvent.objects.filter(kind="breach").values("clock").distinct().count() == 80
    assert SlaEvent.objects.filter(kind="warn").values("clock").distinct().count() == SlaEvent.objects.filter(kind="warn").count() == 80
    assert SlaNotification.objects.filter(step="breach", recipient=staff["lead"]).count() == 80
    again = run_concurrently(2, lambda i: clocks_sweep(now=at, lookahead=NO_LOOKAHEAD, batch=10))
    assert [(r.breached, r.warned, r.mail_due) for r in again] == [(0, 0, True), (0, 0, True)]
    # Two mailers at once send each notification once.
    sent = run_concurrently(2, lambda i: notifications_send(now=at, limit=200))
    assert sum(sent) == 160, sent
    # 80 warnings to the assignee and 80 breaches to the queue's lead (two mailers interleave them).
    assert sorted(m.to[0] for m in mail.outbox) == sorted([staff["agent"].email] * 80 + [staff["lead"].email] * 80)
    assert not SlaNotification.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_racing_for_one_clock_breach_it_once(office, now):
    if not on_postgres():
        pytest.skip("needs PostgreSQL (SKIP LOCKED)")
    tickets = [open_ticket(office, now, berlin(2026, 6, 1, 15)) for _ in range(5)]
    for _ in range(3):  # several races: each time both start on the same due clocks
        results = run_concurrently(2, lambda i: clocks_sweep(now=berlin(2026, 6, 2, 11), lookahead=NO_LOOKAHEAD, batch=1))
        assert all(not isinstance(r, Exception) for r in results), results
    breaches = SlaEvent.objects.filter(kind="breach")
    assert breaches.count() == 5
    assert sorted(breaches.values_list("ticket_id", flat=True)) == sorted(t.pk for t in tickets)
