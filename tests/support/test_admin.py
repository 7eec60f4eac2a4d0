"""The desk's admin: every page opens for the roles that use it (and not for the others), lists cost
the same queries for 1 row as for 20, configuration forms refuse bad input, tickets are read-only
and their conversation is escaped."""

from datetime import time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import role_assign, roles_sync
from support.models import (
    AgentProfile,
    Calendar,
    CalendarInterval,
    CannedReply,
    Holiday,
    InboundMail,
    Message,
    OutboundMail,
    Queue,
    SatisfactionRating,
    SlaClock,
    SlaEvent,
    SlaNotification,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    Ticket,
)
from tests.factories import UserFactory
from tests.support.factories import agent_create, desk, ticket_open

pytestmark = pytest.mark.django_db

DESK_MODELS = [
    "calendar",
    "slapolicy",
    "queue",
    "ticketcategory",
    "cannedreply",
    "agentprofile",
    "ticket",
    "slaclock",
    "slaevent",
    "inboundmail",
    "satisfactionrating",
    "outboundmail",
    "slanotification",
]
READ_ONLY = ["ticket", "slaclock", "slaevent", "inboundmail", "satisfactionrating", "outboundmail", "slanotification"]


def records(n: int, world: dict) -> list[Ticket]:
    """n tickets, each with a conversation, SLA clocks and events (the engine's), an inbound mail, a CSAT rating,
    an agent, a calendar, a policy and a canned reply (every desk list grows by n rows)."""
    from tests.support.factories import STANDARD_TARGETS, CalendarFactory, policy_create

    made = []
    for _ in range(n):
        agent = agent_create(languages=["es"])
        ticket = ticket_open(language="es")
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
        Message.objects.create(ticket=ticket, kind=Message.Kind.AGENT, author=agent, body="Hola", internal=True)
        now = timezone.now()
        assert SlaClock.objects.filter(ticket=ticket).exists() and SlaEvent.objects.filter(ticket=ticket).exists()  # the engine's
        InboundMail.objects.create(sender=ticket.customer.email, outcome=InboundMail.Outcome.ACCEPTED, ticket=ticket)
        SatisfactionRating.objects.create(ticket=ticket, solve_number=1, score=4, agent=agent)
        first = ticket.messages.get(kind=Message.Kind.CUSTOMER)
        OutboundMail.objects.create(ticket=ticket, message=first, mail_id=f"<m{ticket.pk}@test>", recipient=ticket.customer.email)
        clock = SlaClock.objects.filter(ticket=ticket).first()
        SlaNotification.objects.create(clock=clock, ticket=ticket, step="warn", recipient=agent, send_after=now)
        calendar = CalendarFactory()
        CalendarInterval.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(17))
        Holiday.objects.create(calendar=calendar, name="day off", first_day=now.date(), last_day=now.date())
        count = SlaPolicy.objects.count()
        policy_create(name=f"p{count}", position=1000 + count, calendar=calendar, targets=STANDARD_TARGETS, queues=[Queue.objects.first()])
        CannedReply.objects.create(title=f"r{ticket.pk}", title_en=f"r{ticket.pk}", body="Hi {customer_name}", body_en="Hi {customer_name}")
        made.append(ticket)
    return made


@pytest.fixture
def world(db):
    return desk()


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def staff(role: str):
    roles_sync()
    user = UserFactory(is_staff=True)
    return role_assign(user=user, role=role)


def test_every_desk_page_opens_for_a_superuser(client, world, superuser):
    from django.apps import apps

    records(1, world)
    for name in DESK_MODELS:
        model = f"support_{name}"
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200, name

        obj = apps.get_model("support", name).objects.first()
        assert client.get(reverse(f"admin:{model}_change", args=[obj.pk])).status_code == 200, name
    for name in ["calendar", "slapolicy", "queue", "ticketcategory", "cannedreply", "agentprofile"]:
        assert client.get(reverse(f"admin:support_{name}_add")).status_code == 200, name
    for name in READ_ONLY:
        assert client.get(reverse(f"admin:support_{name}_add")).status_code == 403, name
        obj = apps.get_model("support", name).objects.first()
        page = client.get(reverse(f"admin:support_{name}_change", args=[obj.pk])).content.decode()
        assert 'name="_save"' not in page, name  # records are evidence: nothing to save
        assert client.post(reverse(f"admin:support_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403, name


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("support_agent", ["queue", "ticketcategory", "cannedreply"], ["ticket", "calendar", "slapolicy", "agentprofile", "slaclock"]),
        ("supervisor", DESK_MODELS, []),
        (
            "operator",
            ["calendar", "slapolicy", "queue", "ticketcategory", "cannedreply", "agentprofile"],
            ["ticket", "slaclock", "inboundmail", "outboundmail", "slanotification"],
        ),
    ],
)
def test_who_sees_which_desk_page(client, world, role, allowed, refused):
    records(1, world)
    client.force_login(staff(role))
    for name in allowed:
        assert client.get(reverse(f"admin:support_{name}_changelist")).status_code == 200, (role, name)
    for name in refused:
        assert client.get(reverse(f"admin:support_{name}_changelist")).status_code == 403, (role, name)


@pytest.mark.parametrize(
    ("role", "addable", "not_addable"),
    [
        ("operator", ["calendar", "slapolicy", "queue", "ticketcategory", "cannedreply", "agentprofile"], []),
        ("supervisor", [], ["calendar", "slapolicy", "queue", "ticketcategory", "cannedreply", "agentprofile"]),
        ("support_agent", [], ["cannedreply", "queue"]),
    ],
)
def test_only_operators_change_the_desk_configuration(client, world, role, addable, not_addable):
    client.force_login(staff(role))
    for name in addable:
        assert client.get(reverse(f"admin:support_{name}_add")).status_code == 200, (role, name)
    for name in not_addable:
        assert client.get(reverse(f"admin:support_{name}_add")).status_code == 403, (role, name)


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", DESK_MODELS)
def test_desk_lists_cost_the_same_queries_for_1_row_as_for_20(client, world, superuser, name):
    url = reverse(f"admin:support_{name}_changelist")
    records(1, world)
    client.get(url)  # the first request of a session also loads what later ones find cached
    one = _count(client, url)
    records(19, world)
    assert _count(client, url) == one


def test_a_ticket_is_read_only_and_its_conversation_is_escaped(client, world, superuser):
    ticket = ticket_open(language="es", subject="<b>bold</b> subject", body="<script>alert('x')</script>")
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert 'name="_save"' not in html
    response = client.post(reverse("admin:support_ticket_change", args=[ticket.pk]), {"subject": "changed", "status": "solved"})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.status) == ("<b>bold</b> subject", Ticket.Status.OPEN)
    assert client.post(reverse("admin:support_ticket_delete", args=[ticket.pk]), {"post": "yes"}).status_code == 403


def test_supervisors_route_waiting_tickets_from_the_list(client, world):
    spanish = agent_create(languages=["es"])
    waiting = ticket_open(language="es")
    supervisor = staff("supervisor")
    client.force_login(supervisor)
    url = reverse("admin:support_ticket_changelist")
    response = client.post(url, {"action": "route_now", "_selected_action": [waiting.pk]}, follow=True)
    assert response.status_code == 200
    assert "Assigned 1 ticket." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.assignee == spanish
    # an operator has no such action
    client.force_login(staff("operator"))
    other = ticket_open(language="es")
    assert client.get(url).status_code == 403
    other.refresh_from_db()
    assert other.assignee is None


def test_a_calendar_needs_a_real_time_zone_and_a_known_country(client, world, superuser):
    response = client.post(
        reverse("admin:support_calendar_add"),
        {
            "name": "Nowhere",
            "time_zone": "Europe/Atlantis",
            "country": "XX",
            "intervals-TOTAL_FORMS": "0",
            "intervals-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"time_zone", "country"}
    assert not Calendar.objects.filter(name="Nowhere").exists()


def _canned_reply_post(**bodies):
    from config.languages import LANGUAGE_CODES

    data = {"position": "0", "is_active": "on"}
    for code in LANGUAGE_CODES:
        suffix = code.replace("-", "_")
        data[f"title_{suffix}"] = ""
        data[f"body_{suffix}"] = ""
    data.update(bodies)
    return data


def test_canned_replies_only_use_the_four_placeholders(client, world, superuser):
    url = reverse("admin:support_cannedreply_add")
    response = client.post(url, _canned_reply_post(title_en="Hi", body_en="Hello {customer}", body_es="Hola {customer_name"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"body_en", "body_es"}
    assert "{customer}" in errors["body_en"][0]
    assert "Unbalanced braces" in errors["body_es"][0]
    response = client.post(
        url,
        _canned_reply_post(title_en="Hi", body_en="Hello {customer_name}, {amount} {asset} on #{ticket}.", body_es="Hola {customer_name}"),
    )
    assert response.status_code == 302
    reply = CannedReply.objects.get(title_en="Hi")
    assert (reply.body_en, reply.body_es) == ("Hello {customer_name}, {amount} {asset} on #{ticket}.", "Hola {customer_name}")


def test_an_agents_languages_are_checkboxes_and_presence_changes_are_stamped(client, world, superuser):
    agent = agent_create(languages=["en"], presence="offline")
    profile = agent.agent
    AgentProfile.objects.filter(pk=profile.pk).update(presence_changed_at=timezone.now() - timedelta(days=1))
    url = reverse("admin:support_agentprofile_change", args=[profile.pk])
    page = client.get(url).content.decode()
    assert 'type="checkbox" name="languages" value="es"' in page
    before = timezone.now()
    data = {
        "user": agent.pk,
        "display_name": "Ana",
        "languages": ["pt", "es", "en"],
        "capacity": "12",
        "presence": "online",
        "calendar": "",
    }
    assert client.post(url, data).status_code == 302
    profile.refresh_from_db()
    assert (profile.display_name, profile.languages, profile.capacity, profile.presence) == ("Ana", ["en", "es", "pt"], 12, "online")
    assert profile.presence_changed_at >= before
    # only staff can be agents
    customer = UserFactory()
    response = client.post(reverse("admin:support_agentprofile_add"), {**data, "user": customer.pk})
    assert response.status_code == 200 and "user" in response.context["adminform"].form.errors


def test_the_policy_list_is_ordered_by_position_and_says_what_each_applies_to(client, world, superuser):
    from tests.support.factories import STANDARD_TARGETS, policy_create

    calendar = world["calendar"]
    policy_create(name="VIP", position=20, calendar=calendar, targets=STANDARD_TARGETS, tiers=[3, 4, 5])
    policy_create(
        name="Security", position=10, calendar=calendar, targets=STANDARD_TARGETS, categories=[world["categories"]["account_security"]]
    )
    response = client.get(reverse("admin:support_slapolicy_changelist"))
    rows = list(response.context["cl"].result_list)
    assert [p.name for p in rows] == ["Security", "VIP", "standard"]
    html = response.content.decode()
    assert "categories account_security" in html and "tiers 3, 4, 5" in html and "every ticket" in html


def test_agents_need_the_console_role_group():
    roles_sync()
    perms = set(Group.objects.get(name="support_agent").permissions.values_list("codename", flat=True))
    assert {"work_ticket", "view_queue", "view_ticketcategory", "view_cannedreply"} <= perms
    assert not perms & {"view_ticket", "view_message", "supervise_ticket", "change_agentprofile"}


def _calendar_post(calendar, intervals, holidays=()):
    data = {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "country": calendar.country,
        "intervals-TOTAL_FORMS": str(len(intervals)),
        "intervals-INITIAL_FORMS": str(sum(1 for i in intervals if i.get("id"))),
        "holidays-TOTAL_FORMS": str(len(holidays)),
        "holidays-INITIAL_FORMS": "0",
    }
    if calendar.around_the_clock:
        data["around_the_clock"] = "on"
    for n, interval in enumerate(intervals):
        for key, value in interval.items():
            data[f"intervals-{n}-{key}"] = value
        data[f"intervals-{n}-calendar"] = calendar.pk
    for n, holiday in enumerate(holidays):
        for key, value in holiday.items():
            data[f"holidays-{n}-{key}"] = value
        data[f"holidays-{n}-calendar"] = calendar.pk
    return data


def test_saving_a_calendar_recomputes_the_running_clocks_on_it(client, world, superuser, django_capture_on_commit_callbacks):
    from support.services.calendars import calendar_spec
    from support.sla import clock as sla_clock
    from tests.support.factories import STANDARD_TARGETS, policy_create

    office = Calendar.objects.create(name="office", time_zone="Europe/Madrid")
    interval = CalendarInterval.objects.create(calendar=office, weekday=0, start=time(9), end=time(17))
    policy_create(name="madrid", position=1, calendar=office, targets=STANDARD_TARGETS, queues=[Queue.objects.get(language="es")])
    ticket = ticket_open(language="es")
    running = SlaClock.objects.get(ticket=ticket, metric="first_response")
    assert running.policy_version == SlaPolicyVersion.objects.get(policy__name="madrid")
    before = running.due_at
    data = _calendar_post(
        office,
        [{"id": interval.pk, "weekday": "0", "start": "09:00", "end": "17:00"}, {"weekday": "2", "start": "09:00", "end": "17:00"}],
        [{"name": "Company day", "first_day": "2030-01-07", "last_day": "2030-01-07"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("admin:support_calendar_change", args=[office.pk]), data).status_code == 302
    assert office.intervals.count() == 2 and office.holidays.count() == 1
    running.refresh_from_db()
    office = Calendar.objects.get(pk=office.pk)
    assert running.due_at == sla_clock.business_add(calendar_spec(office), running.segment_start, 86400) < before


def test_saving_a_policy_publishes_a_version_only_when_it_changed(client, world, superuser, django_capture_on_commit_callbacks):
    policy = world["policy"]
    targets = list(SlaTarget.objects.filter(policy=policy).order_by("pk"))
    url = reverse("admin:support_slapolicy_change", args=[policy.pk])

    def post(first_response_normal: int):
        data = {
            "name": policy.name,
            "position": policy.position,
            "is_active": "on",
            "calendar": policy.calendar_id,
            "warn_before": "00:30:00",
            "targets-TOTAL_FORMS": str(len(targets)),
            "targets-INITIAL_FORMS": str(len(targets)),
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-0-id": SlaPolicyVersion.objects.get(policy=policy, version=1).pk,
            "versions-0-policy": policy.pk,
        }
        for n, target in enumerate(targets):
            seconds = first_response_normal if (target.priority, target.metric) == ("normal", "first_response") else target.seconds
            data.update(
                {
                    f"targets-{n}-id": target.pk,
                    f"targets-{n}-policy": policy.pk,
                    f"targets-{n}-priority": target.priority,
                    f"targets-{n}-metric": target.metric,
                    f"targets-{n}-seconds": seconds,
                }
            )
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
        return list(SlaPolicyVersion.objects.filter(policy=policy).order_by("version").values_list("version", "created_by_id"))

    assert post(86400) == [(1, None)]  # nothing changed: no new version
    assert post(43200) == [(1, None), (2, superuser.pk)]
    assert SlaPolicyVersion.objects.get(policy=policy, version=2).targets["normal"]["first_response"] == 43200
    policy.refresh_from_db()
    assert policy.version == 2


def test_the_seed_holidays_action_adds_next_years_holidays(client, world, superuser, django_capture_on_commit_callbacks):
    madrid = Calendar.objects.create(name="Madrid", time_zone="Europe/Madrid", country="ES")
    no_country = Calendar.objects.create(name="Nowhere")
    url = reverse("admin:support_calendar_changelist")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"action": "seed_holidays_next_year", "_selected_action": [madrid.pk, no_country.pk]}, follow=True)
    page = response.content.decode()
    year = timezone.now().year + 1
    assert f"Madrid: added {madrid.holidays.count()} holidays for {year}." in page
    assert "Nowhere: The calendar has no country." in page
    assert madrid.holidays.count() >= 8 and {h.first_day.year for h in madrid.holidays.all()} == {year}
    assert len(callbacks) == 1  # one recompute of the clocks on Madrid
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"action": "seed_holidays_next_year", "_selected_action": [madrid.pk]}, follow=True)
    assert f"Madrid: added 0 holidays for {year}." in response.content.decode() and callbacks == []


def _calendar_add(client, *, around_the_clock, intervals=(), holidays=(), country=""):
    data = {
        "name": "Checked",
        "time_zone": "Europe/Madrid",
        "country": country,
        "intervals-TOTAL_FORMS": str(len(intervals)),
        "intervals-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": str(len(holidays)),
        "holidays-INITIAL_FORMS": "0",
    }
    if around_the_clock:
        data["around_the_clock"] = "on"
    for n, (weekday, start, end) in enumerate(intervals):
        data.update({f"intervals-{n}-weekday": str(weekday), f"intervals-{n}-start": start, f"intervals-{n}-end": end})
    for n, (name, day) in enumerate(holidays):
        data.update({f"holidays-{n}-name": name, f"holidays-{n}-first_day": day, f"holidays-{n}-last_day": day})
    return client.post(reverse("admin:support_calendar_add"), data)


def _inline_errors(response) -> list[str]:
    return [str(error) for formset in response.context["inline_admin_formsets"] for error in formset.formset.non_form_errors()]


def test_a_24_7_calendar_cannot_list_intervals_or_holidays_that_say_otherwise(client, world, superuser):
    # The engine and the notifications trust the flag; intervals or holidays contradicting it are refused, not ignored.
    response = _calendar_add(client, around_the_clock=True, intervals=[(0, "09:00", "17:00")])
    assert response.status_code == 200
    assert _inline_errors(response) == ["A 24/7 calendar counts every hour: remove its intervals or untick 24/7."]
    response = _calendar_add(client, around_the_clock=True, holidays=[("New Year", "2027-01-01")])
    assert _inline_errors(response) == ["A 24/7 calendar counts every hour, holidays too: remove its holidays or untick 24/7."]
    response = _calendar_add(client, around_the_clock=True, country="ES")
    assert set(response.context["adminform"].form.errors) == {"country"}
    assert not Calendar.objects.filter(name="Checked").exists()
    # The flag alone, or with the whole week spelled out, is consistent.
    whole_week = [(d, "00:00", "00:00") for d in range(7)]
    assert _calendar_add(client, around_the_clock=True, intervals=whole_week).status_code == 302
    assert Calendar.objects.get(name="Checked").intervals.count() == 7


def test_an_office_calendar_needs_business_time(client, world, superuser):
    response = _calendar_add(client, around_the_clock=False)
    assert response.status_code == 200
    assert _inline_errors(response) == ["Add at least one working interval or tick 24/7: without business time no SLA clock can come due."]
    assert (
        _calendar_add(client, around_the_clock=False, intervals=[(0, "09:00", "17:00")], holidays=[("Fiesta", "2027-01-06")]).status_code
        == 302
    )
    assert (Calendar.objects.get(name="Checked").intervals.count(), Calendar.objects.get(name="Checked").holidays.count()) == (1, 1)
