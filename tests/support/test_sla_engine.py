"""The SLA engine through the ticket services, with exact instants: Berlin office hours
(Mon-Fri 09:00-17:00, CEST = UTC+2 in June 2026; Monday is 2026-06-01), the office policy of
conftest_sla (normal: first and next response 4 h, resolution 16 h; high: 1 h, 1 h, 8 h; warning
30 min before)."""

from datetime import date, time, timedelta

import pytest

from support.models import Holiday, Metric, SlaClock, SlaEvent, SlaPolicy, SlaPolicyVersion, SlaTarget, Ticket
from support.services.tickets import (
    message_post_agent,
    message_post_customer,
    ticket_create,
    ticket_priority_set,
    ticket_reopen,
    ticket_status_set,
    ticket_tier_sync,
)
from support.sla.engine import calendar_changed, policy_match, policy_version_publish, tickets_reapply
from support.sla.sweep import clocks_sweep
from tests.support.conftest_sla import H, berlin, clock_of, events_of, now_fixture, office_fixture  # noqa: F401
from tests.support.factories import CalendarFactory, agent_create, policy_create

FIRST, NEXT, PERIODIC, RESOLUTION = Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION
S = SlaClock.State


@pytest.fixture
def agent(office):
    return agent_create(languages=["es", "en"])


def open_ticket(office, now, at, *, category="withdrawal", priority=None, customer=None):
    now.set(at)
    ticket, _ = ticket_create(
        customer=customer or office["customer"],
        subject="¿Dónde está mi retiro?",
        body="Lo envié ayer",
        category=office["categories"][category],
        priority=priority,
    )
    return ticket


def reload(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_opening_starts_first_response_and_resolution_on_business_time(office, now):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    first, resolution = clock_of(ticket, FIRST), clock_of(ticket, RESOLUTION)
    version = SlaPolicyVersion.objects.get(policy=office["office_policy"], version=1)
    assert reload(ticket).policy_version == version
    # 4 h: Monday 15-17, Tuesday 09-11; warned 30 business minutes before.
    assert (first.state, first.due_at, first.warn_at, first.target_seconds) == (
        S.RUNNING,
        berlin(2026, 6, 2, 11),
        berlin(2026, 6, 2, 10, 30),
        4 * H,
    )
    # 16 h: Monday 2 h, Tuesday 8 h, Wednesday 09-15.
    assert (resolution.due_at, resolution.warn_at) == (berlin(2026, 6, 3, 15), berlin(2026, 6, 3, 14, 30))
    assert reload(ticket).next_due_at == berlin(2026, 6, 2, 11)
    assert events_of(first) == [("activate", berlin(2026, 6, 1, 15), 0)]
    assert not SlaClock.objects.filter(ticket=ticket, metric__in=[NEXT, PERIODIC]).exists()


def test_pending_pauses_resolution_and_the_customers_answer_resumes_it(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 16))
    message_post_agent(ticket=ticket, agent=agent, body="¿Cuál es el hash?", status=Ticket.Status.PENDING)
    first, resolution = clock_of(ticket, FIRST), clock_of(ticket, RESOLUTION)
    assert (first.state, first.fulfilled_at, first.used_seconds) == (S.FULFILLED, berlin(2026, 6, 1, 16), H)
    assert (resolution.state, resolution.used_seconds, resolution.due_at, resolution.segment_start) == (S.PAUSED, H, None, None)
    assert reload(ticket).next_due_at is None

    now.set(berlin(2026, 6, 3, 10))  # Wednesday: all of Tuesday passed while pending
    message_post_customer(ticket=ticket, customer=office["customer"], body="0xabc")
    resolution, next_response = clock_of(ticket, RESOLUTION), clock_of(ticket, NEXT)
    assert reload(ticket).status == Ticket.Status.OPEN
    # 15 h left: Wednesday 10-17 and Thursday 09-17 (due at the end of Thursday, not Friday 09:00).
    assert (resolution.state, resolution.used_seconds, resolution.due_at) == (S.RUNNING, H, berlin(2026, 6, 4, 17))
    assert events_of(resolution) == [
        ("activate", berlin(2026, 6, 1, 15), 0),
        ("pause", berlin(2026, 6, 1, 16), H),
        ("resume", berlin(2026, 6, 3, 10), H),
    ]
    assert (next_response.started_at, next_response.due_at) == (berlin(2026, 6, 3, 10), berlin(2026, 6, 3, 14))
    assert reload(ticket).next_due_at == berlin(2026, 6, 3, 14)


def test_an_internal_note_or_a_status_event_fulfils_nothing(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 16))
    message_post_agent(ticket=ticket, agent=agent, body="checking the chain", internal=True)
    now.set(berlin(2026, 6, 1, 16, 30))
    ticket_status_set(ticket=ticket, status=Ticket.Status.ON_HOLD, by=agent)  # a public system message
    first = clock_of(ticket, FIRST)
    assert (first.state, first.due_at, first.fulfilled_at) == (S.RUNNING, berlin(2026, 6, 2, 11), None)
    assert [e[0] for e in events_of(first)] == ["activate"]
    assert clock_of(ticket, RESOLUTION).state == S.PAUSED
    assert reload(ticket).last_public_reply_at is None

    # The sweeper warns and breaches it to the second.
    assert clocks_sweep(now=berlin(2026, 6, 2, 10, 29, 59), lookahead=timedelta(0)).warned == 0
    assert clocks_sweep(now=berlin(2026, 6, 2, 10, 30), lookahead=timedelta(0)).warned == 1
    assert clocks_sweep(now=berlin(2026, 6, 2, 10, 59, 59), lookahead=timedelta(0)).breached == 0
    assert clocks_sweep(now=berlin(2026, 6, 2, 11), lookahead=timedelta(0)).breached == 1
    assert clocks_sweep(now=berlin(2026, 6, 2, 11, 30), lookahead=timedelta(0)).breached == 0
    first.refresh_from_db()
    assert (first.state, first.warned_at, first.breached_at) == (S.BREACHED, berlin(2026, 6, 2, 10, 30), berlin(2026, 6, 2, 11))
    assert events_of(first) == [
        ("activate", berlin(2026, 6, 1, 15), 0),
        ("warn", berlin(2026, 6, 2, 10, 30), 4 * H - 1800),
        ("breach", berlin(2026, 6, 2, 11), 4 * H),
    ]


def test_solve_cancels_a_running_next_response_instead_of_breaching_it(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 15, 30))
    message_post_agent(ticket=ticket, agent=agent, body="Lo miramos")
    now.set(berlin(2026, 6, 1, 16))
    message_post_customer(ticket=ticket, customer=office["customer"], body="¿Y?")
    assert clock_of(ticket, NEXT).due_at == berlin(2026, 6, 2, 12)
    now.set(berlin(2026, 6, 1, 16, 30))
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)

    next_response, resolution = clock_of(ticket, NEXT), clock_of(ticket, RESOLUTION)
    assert (next_response.state, next_response.stopped_at, next_response.used_seconds) == (S.CANCELLED, berlin(2026, 6, 1, 16, 30), 1800)
    assert (resolution.state, resolution.fulfilled_at, resolution.used_seconds) == (S.FULFILLED, berlin(2026, 6, 1, 16, 30), 5400)
    assert reload(ticket).next_due_at is None
    assert clocks_sweep(now=berlin(2026, 6, 8, 12), lookahead=timedelta(0)).breached == 0
    assert not SlaEvent.objects.filter(ticket=ticket, kind__in=["breach", "warn"]).exists()
    assert [e[0] for e in events_of(next_response)] == ["activate", "cancel"]


def test_reopen_resumes_resolution_with_the_time_it_had_used(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 16))
    message_post_agent(ticket=ticket, agent=agent, body="Enviado de nuevo")
    now.set(berlin(2026, 6, 2, 12))
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    assert clock_of(ticket, RESOLUTION).used_seconds == 5 * H  # Monday 15-17, Tuesday 09-12

    now.set(berlin(2026, 6, 4, 9))  # Thursday
    ticket_reopen(ticket=ticket, customer=office["customer"])
    resolution = clock_of(ticket, RESOLUTION)
    # 11 h left: Thursday 09-17 and Friday 09-12.
    assert (resolution.state, resolution.used_seconds, resolution.due_at, resolution.fulfilled_at, resolution.stopped_at) == (
        S.RUNNING,
        5 * H,
        berlin(2026, 6, 5, 12),
        None,
        None,
    )
    assert SlaClock.objects.filter(ticket=ticket, metric=RESOLUTION).count() == 1
    assert events_of(resolution) == [
        ("activate", berlin(2026, 6, 1, 15), 0),
        ("fulfil", berlin(2026, 6, 2, 12), 5 * H),
        ("resume", berlin(2026, 6, 4, 9), 5 * H),
    ]
    assert reload(ticket).next_due_at == berlin(2026, 6, 5, 12)
    now.set(berlin(2026, 6, 5, 10))
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    assert clock_of(ticket, RESOLUTION).used_seconds == 5 * H + 8 * H + H


def test_a_customer_message_on_a_solved_ticket_reopens_it_and_starts_next_response(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 16))
    message_post_agent(ticket=ticket, agent=agent, body="Hecho", status=Ticket.Status.SOLVED)
    now.set(berlin(2026, 6, 2, 9, 30))
    message_post_customer(ticket=ticket, customer=office["customer"], body="No llegó")
    assert clock_of(ticket, RESOLUTION).state == S.RUNNING
    assert clock_of(ticket, RESOLUTION).due_at == berlin(2026, 6, 3, 16, 30)  # 15 h left from Tuesday 09:30
    assert (clock_of(ticket, NEXT).started_at, clock_of(ticket, NEXT).due_at) == (berlin(2026, 6, 2, 9, 30), berlin(2026, 6, 2, 13, 30))


def test_later_customer_messages_do_not_restart_next_response(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 15, 30))
    message_post_agent(ticket=ticket, agent=agent, body="Hola")
    now.set(berlin(2026, 6, 1, 16))
    message_post_customer(ticket=ticket, customer=office["customer"], body="uno")
    now.set(berlin(2026, 6, 2, 9, 30))
    message_post_customer(ticket=ticket, customer=office["customer"], body="dos")
    assert list(SlaClock.objects.filter(ticket=ticket, metric=NEXT).values_list("cycle", "started_at", "due_at")) == [
        (1, berlin(2026, 6, 1, 16), berlin(2026, 6, 2, 12))
    ]
    now.set(berlin(2026, 6, 2, 10))
    message_post_agent(ticket=ticket, agent=agent, body="Respuesta")
    assert (clock_of(ticket, NEXT).state, clock_of(ticket, NEXT).used_seconds) == (S.FULFILLED, 2 * H)
    now.set(berlin(2026, 6, 2, 10, 30))
    message_post_customer(ticket=ticket, customer=office["customer"], body="tres")
    assert (clock_of(ticket, NEXT, 2).started_at, clock_of(ticket, NEXT, 2).due_at) == (
        berlin(2026, 6, 2, 10, 30),
        berlin(2026, 6, 2, 14, 30),
    )


def test_a_reply_after_the_due_time_breaches_then_records_when_it_came(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 2, 11, 30))  # no sweep ran: the engine finds the clock overdue first
    message_post_agent(ticket=ticket, agent=agent, body="Perdón por la espera")
    first = clock_of(ticket, FIRST)
    assert (first.state, first.breached_at, first.fulfilled_at, first.used_seconds) == (
        S.BREACHED,
        berlin(2026, 6, 2, 11),
        berlin(2026, 6, 2, 11, 30),
        4 * H + 1800,
    )
    assert events_of(first) == [
        ("activate", berlin(2026, 6, 1, 15), 0),
        ("breach", berlin(2026, 6, 2, 11), 4 * H),
        ("fulfil", berlin(2026, 6, 2, 11, 30), 4 * H + 1800),
    ]
    assert SlaEvent.objects.get(clock=first, kind="breach").data["by"] == "engine"


def test_priority_change_mid_clock_keeps_elapsed_time_and_reapplies(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 15, 30))
    ticket_priority_set(ticket=ticket, priority="high", by=agent)
    first, resolution = clock_of(ticket, FIRST), clock_of(ticket, RESOLUTION)
    # 1 h target, 30 min used: due at 16:00, and already inside the 30-minute warning window.
    assert (first.target_seconds, first.used_seconds, first.due_at, first.warn_at) == (
        H,
        1800,
        berlin(2026, 6, 1, 16),
        berlin(2026, 6, 1, 15, 30),
    )
    # 8 h target, 30 min used: Monday 15:30-17:00, Tuesday 09-15.
    assert (resolution.target_seconds, resolution.due_at) == (8 * H, berlin(2026, 6, 2, 15))
    assert reload(ticket).next_due_at == berlin(2026, 6, 1, 16)
    reapplied = SlaEvent.objects.get(clock=first, kind="reapply")
    assert (reapplied.at, reapplied.used_seconds) == (berlin(2026, 6, 1, 15, 30), 1800)
    assert reapplied.data == {
        "reason": "priority",
        "from_version": first.policy_version_id,
        "to_version": first.policy_version_id,
        "from_target": 4 * H,
        "to_target": H,
        "due_before": berlin(2026, 6, 2, 11).isoformat(),
        "due_after": berlin(2026, 6, 1, 16).isoformat(),
    }


def test_a_priority_change_past_the_new_target_breaches_at_once(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 16, 30))
    ticket_priority_set(ticket=ticket, priority="high", by=agent)
    first = clock_of(ticket, FIRST)
    assert (first.state, first.breached_at, first.used_seconds) == (S.BREACHED, berlin(2026, 6, 1, 16, 30), 5400)
    assert [e[:2] for e in events_of(first)][-2:] == [("reapply", berlin(2026, 6, 1, 16, 30)), ("breach", berlin(2026, 6, 1, 16, 30))]
    assert clocks_sweep(now=berlin(2026, 6, 1, 17), lookahead=timedelta(0)).breached == 0  # once


def test_a_priority_without_targets_cancels_the_clocks(office, now, agent):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 15, 30))
    ticket_priority_set(ticket=ticket, priority="low", by=agent)  # the office policy has no low targets
    assert {c.metric: c.state for c in SlaClock.objects.filter(ticket=ticket)} == {FIRST: S.CANCELLED, RESOLUTION: S.CANCELLED}
    assert reload(ticket).next_due_at is None


def test_tier_change_moves_the_clocks_to_the_vip_policy(office, now):
    vip_calendar = CalendarFactory(name="VIP 24/7", time_zone="Europe/Berlin")
    vip = policy_create(
        name="vip", position=5, calendar=vip_calendar, targets={"normal": {"first_response": H, "resolution": 4 * H}}, tiers=[3]
    )
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    customer = office["customer"]
    customer.vip_tier = 3
    customer.save(update_fields=["vip_tier"])
    now.set(berlin(2026, 6, 1, 15, 20))
    assert ticket_tier_sync(customer=customer) == 1
    assert ticket_tier_sync(customer=customer) == 0
    ticket = reload(ticket)
    assert (ticket.tier, ticket.policy_version.policy) == (3, vip)
    first, resolution = clock_of(ticket, FIRST), clock_of(ticket, RESOLUTION)
    # 20 office minutes used; the rest around the clock.
    assert (first.used_seconds, first.due_at) == (1200, berlin(2026, 6, 1, 16))
    assert (resolution.used_seconds, resolution.due_at) == (1200, berlin(2026, 6, 1, 19))
    assert SlaEvent.objects.get(clock=first, kind="reapply").data["reason"] == "tier"


def test_a_policy_edit_is_a_new_version_running_clocks_keep_theirs_until_reapplied(office, now):
    policy = office["office_policy"]
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    v1 = reload(ticket).policy_version
    assert policy_version_publish(policy=policy) == v1  # nothing changed: no new version

    SlaTarget.objects.filter(policy=policy, priority="normal", metric=FIRST).update(seconds=2 * H)
    v2 = policy_version_publish(policy=policy)
    assert (v2.version, v2.targets["normal"]["first_response"], SlaPolicy.objects.get(pk=policy.pk).version) == (2, 2 * H, 2)
    assert v1.targets["normal"]["first_response"] == 4 * H  # the snapshot is immutable
    assert policy_version_publish(policy=policy) == v2
    assert (clock_of(ticket, FIRST).policy_version, clock_of(ticket, FIRST).due_at) == (v1, berlin(2026, 6, 2, 11))
    assert reload(open_ticket(office, now, berlin(2026, 6, 1, 15, 10))).policy_version == v2

    now.set(berlin(2026, 6, 1, 16))
    assert tickets_reapply(policy_id=policy.pk, at=now()) == 2
    first = clock_of(ticket, FIRST)
    assert (first.policy_version, first.used_seconds, first.due_at) == (v2, H, berlin(2026, 6, 1, 17))
    SlaPolicy.objects.filter(pk=policy.pk).update(warn_before=timedelta(minutes=10))
    assert policy_version_publish(policy=policy).version == 3


def test_a_calendar_edit_recomputes_running_clocks_in_a_background_job(office, now, django_capture_on_commit_callbacks):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    now.set(berlin(2026, 6, 1, 15, 10))
    holiday = Holiday.objects.create(calendar=office["calendar"], name="Tuesday off", first_day=date(2026, 6, 2), last_day=date(2026, 6, 2))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        calendar_changed(calendar=holiday.calendar)
    assert len(callbacks) == 1
    first, resolution = clock_of(ticket, FIRST), clock_of(ticket, RESOLUTION)
    assert first.due_at == berlin(2026, 6, 3, 11)  # Monday 15-17, (Tuesday off), Wednesday 09-11
    assert resolution.due_at == berlin(2026, 6, 4, 15)
    assert reload(ticket).next_due_at == berlin(2026, 6, 3, 11)
    event = SlaEvent.objects.get(clock=first, kind="reapply")
    assert (event.at, event.data["reason"], event.data["due_before"]) == (
        berlin(2026, 6, 1, 15, 10),
        "calendar",
        berlin(2026, 6, 2, 11).isoformat(),
    )


def test_periodic_update_restarts_on_each_public_reply_and_waits_only_on_the_customer(office, now, agent):
    policy_create(
        name="fund recovery",
        position=3,
        calendar=office["calendar"],
        targets={"normal": {"first_response": 4 * H, "periodic_update": 2 * H, "resolution": 40 * H}},
        categories=[office["categories"]["fund_recovery"]],
    )
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 10), category="fund_recovery")
    assert not SlaClock.objects.filter(ticket=ticket, metric=PERIODIC).exists()  # starts with the first reply
    now.set(berlin(2026, 6, 1, 11))
    message_post_agent(ticket=ticket, agent=agent, body="Caso abierto")
    assert (clock_of(ticket, PERIODIC).started_at, clock_of(ticket, PERIODIC).due_at) == (berlin(2026, 6, 1, 11), berlin(2026, 6, 1, 13))
    now.set(berlin(2026, 6, 1, 12))
    ticket_status_set(ticket=ticket, status=Ticket.Status.WAITING, by=agent)  # on the chain: updates still owed
    assert (clock_of(ticket, PERIODIC).state, clock_of(ticket, RESOLUTION).state) == (S.RUNNING, S.PAUSED)
    now.set(berlin(2026, 6, 1, 12, 30))
    ticket_status_set(ticket=ticket, status=Ticket.Status.PENDING, by=agent)
    assert (clock_of(ticket, PERIODIC).state, clock_of(ticket, PERIODIC).used_seconds) == (S.PAUSED, 5400)
    now.set(berlin(2026, 6, 1, 14))
    ticket_status_set(ticket=ticket, status=Ticket.Status.OPEN, by=agent)
    assert clock_of(ticket, PERIODIC).due_at == berlin(2026, 6, 1, 14, 30)
    now.set(berlin(2026, 6, 1, 14, 15))
    message_post_agent(ticket=ticket, agent=agent, body="Actualización")
    assert (clock_of(ticket, PERIODIC, 1).state, clock_of(ticket, PERIODIC, 1).used_seconds) == (S.FULFILLED, 6300)
    assert clock_of(ticket, PERIODIC, 2).due_at == berlin(2026, 6, 1, 16, 15)
    now.set(berlin(2026, 6, 1, 15))
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    assert clock_of(ticket, PERIODIC, 2).state == S.CANCELLED


def test_policy_matching_takes_the_first_by_position_whose_filters_all_match(office, now):
    queues, categories, cal = office["queues"], office["categories"], office["calendar"]
    targets = {"normal": {"first_response": H}}
    vip = policy_create(name="vip", position=20, calendar=cal, targets=targets, tiers=[3, 4])
    security = policy_create(name="security", position=15, calendar=cal, targets=targets, categories=[categories["account_security"]])
    email_de = policy_create(name="email de", position=12, calendar=cal, targets=targets, channels=["email"], queues=[queues["de"]])
    urgent = policy_create(name="urgent", position=11, calendar=cal, targets=targets, priorities=["urgent"])
    retired = policy_create(name="retired", position=1, calendar=cal, targets=targets, is_active=False)

    def match(**fields):
        base = {"tier": 0, "channel": "web", "priority": "normal", "home_queue": queues["es"], "category": categories["deposit"]}
        return policy_match(ticket=Ticket(**{**base, **fields}))

    assert match() == office["office_policy"]  # position 10, no filters, before all of these
    office["office_policy"].is_active = False
    office["office_policy"].save()
    assert match() == office["policy"]  # the standard policy at 100
    assert match(tier=4) == vip
    assert match(tier=4, category=categories["account_security"]) == security  # 15 before 20
    assert match(channel="email", home_queue=queues["de"]) == email_de
    assert match(channel="email", home_queue=queues["es"]) == office["policy"]
    assert match(channel="email", home_queue=queues["de"], priority="urgent") == urgent
    assert retired not in {match(), match(tier=3)}
    # The home queue decides, not the queue a fallback moved the ticket to.
    assert match(channel="email", home_queue=queues["de"], queue=queues["en"]) == email_de


def test_no_matching_policy_means_no_clocks_until_one_applies(office, now, agent):
    SlaPolicy.objects.update(is_active=False)
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    assert (reload(ticket).policy_version, reload(ticket).next_due_at, ticket.clocks.count()) == (None, None, 0)
    SlaPolicy.objects.filter(pk=office["office_policy"].pk).update(is_active=True)
    now.set(berlin(2026, 6, 1, 16))
    ticket_priority_set(ticket=ticket, priority="high", by=agent)
    first = clock_of(ticket, FIRST)
    # Clocked as if opened under it: from creation, so an hour is already used.
    assert (first.started_at, first.segment_start, first.due_at) == (berlin(2026, 6, 1, 15), berlin(2026, 6, 1, 15), berlin(2026, 6, 1, 16))
    assert first.state == S.BREACHED


def test_a_calendar_around_the_clock_ignores_its_intervals_and_holidays(office, now):
    cal = CalendarFactory(name="security 24/7", time_zone="Europe/Berlin", week={0: [(time(9), time(10))]})
    Holiday.objects.create(calendar=cal, name="x", first_day=date(2026, 6, 1), last_day=date(2026, 6, 30))
    policy_create(name="security", position=2, calendar=cal, targets={"normal": {"first_response": 2 * H}})
    ticket = open_ticket(office, now, berlin(2026, 6, 6, 23))  # Saturday night
    assert clock_of(ticket, FIRST).due_at == berlin(2026, 6, 7, 1)


def test_the_fee_tier_recompute_moves_open_tickets_with_the_customers_tier(office, now):
    from decimal import Decimal

    from exchange.models import FeeTier
    from exchange.services import fee_tiers_recompute

    FeeTier.objects.create(tier=0, min_volume_30d=0, maker_rate=Decimal("0.001"), taker_rate=Decimal("0.001"))
    FeeTier.objects.create(tier=3, min_volume_30d=10**9, maker_rate=Decimal("0.0005"), taker_rate=Decimal("0.0005"))
    policy_create(name="vip", position=5, calendar=CalendarFactory(name="VIP 24/7"), targets={"normal": {"first_response": H}}, tiers=[3])
    customer = office["customer"]
    customer.vip_tier = 3
    customer.save(update_fields=["vip_tier"])
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    assert reload(ticket).policy_version.policy.name == "vip"
    now.set(berlin(2026, 6, 1, 15, 30))
    assert fee_tiers_recompute()["down"] == 1  # no trading volume: back to tier 0
    ticket = reload(ticket)
    assert (ticket.tier, ticket.policy_version.policy) == (0, office["office_policy"])
    # 30 minutes used around the clock; 3.5 office hours left: Monday 15:30-17:00, Tuesday 09-11.
    assert clock_of(ticket, FIRST).due_at == berlin(2026, 6, 2, 11)
    # The VIP policy had no resolution target: the office one's starts as if from creation (16 h).
    assert (clock_of(ticket, RESOLUTION).started_at, clock_of(ticket, RESOLUTION).due_at) == (
        berlin(2026, 6, 1, 15),
        berlin(2026, 6, 3, 15),
    )


def test_a_new_policy_with_a_next_response_target_starts_it_from_the_oldest_unanswered_message(office, now, agent):
    # A policy for normal tickets without a next-response target: the customer's follow-up starts nothing.
    policy_create(
        name="no next response",
        position=5,
        calendar=office["office_policy"].calendar,
        targets={"normal": {"first_response": 4 * H, "resolution": 16 * H}},
        priorities=["normal"],
    )
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 14))
    now.set(berlin(2026, 6, 1, 15))
    message_post_agent(ticket=ticket, agent=agent, body="Lo miramos")
    now.set(berlin(2026, 6, 1, 16))
    message_post_customer(ticket=ticket, customer=office["customer"], body="¿Y bien?")
    now.set(berlin(2026, 6, 1, 16, 10))
    message_post_customer(ticket=ticket, customer=office["customer"], body="¿Hola?")
    assert not SlaClock.objects.filter(ticket=ticket, metric=NEXT).exists()
    now.set(berlin(2026, 6, 1, 16, 20))
    ticket_priority_set(ticket=ticket, priority="high", by=agent)  # the office policy: next response 1 h
    following = clock_of(ticket, NEXT)
    assert (following.state, following.started_at, following.used_seconds, following.due_at) == (
        S.RUNNING,
        berlin(2026, 6, 1, 16),
        0,
        berlin(2026, 6, 1, 17),  # 1 h of business time from Monday 16:00
    )
    assert reload(ticket).next_due_at == berlin(2026, 6, 1, 17)


def test_sla_events_are_append_only(office, now):
    ticket = open_ticket(office, now, berlin(2026, 6, 1, 15))
    event = SlaEvent.objects.filter(ticket=ticket).first()
    event.used_seconds = 99
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        SlaEvent.objects.filter(ticket=ticket).update(used_seconds=99)
    with pytest.raises(TypeError, match="append-only"):
        SlaEvent.objects.bulk_update([event], ["used_seconds"])
    assert set(SlaEvent.objects.filter(ticket=ticket).values_list("used_seconds", flat=True)) == {0}
    SlaEvent.objects.create(clock=event.clock, ticket=ticket, kind=SlaEvent.Kind.PAUSE, at=now())  # adding still works
