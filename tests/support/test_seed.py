"""seed_demo's support desk: the 14 queues on regional calendars with holidays, the policies in
order, categories in 36 languages, canned replies with their placeholders intact, agent profiles,
demo tickets in their SLA states (breached, at risk, pending, fallen back), idempotent."""

import string
from datetime import time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from modeltranslation.utils import build_localized_fieldname

from config.languages import LANGUAGE_CODES, SUPPORT_LANGUAGES
from support.admin import PLACEHOLDERS
from support.models import (
    AgentProfile,
    Calendar,
    CalendarInterval,
    CannedReply,
    Holiday,
    Message,
    Queue,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    Ticket,
    TicketCategory,
)
from support.seed import CANNED_REPLIES
from support.services.routing import ticket_route
from tests.factories import UserFactory
from tests.support.factories import ticket_open

pytestmark = pytest.mark.django_db

ZONES = {
    "en": "UTC",
    "zh": "Asia/Shanghai",
    "ja": "Asia/Tokyo",
    "ko": "Asia/Seoul",
    "ru": "Europe/Moscow",
    "uk": "Europe/Kyiv",
    "es": "Europe/Madrid",
    "pt": "America/Sao_Paulo",
    "fr": "Europe/Paris",
    "de": "Europe/Berlin",
    "tr": "Europe/Istanbul",
    "ar": "Asia/Riyadh",
    "vi": "Asia/Ho_Chi_Minh",
    "id": "Asia/Jakarta",
}


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def ticket(subject: str) -> Ticket:
    return Ticket.objects.select_related("queue", "home_queue", "assignee", "policy_version__policy").get(subject=subject)


def clock(t: Ticket, metric: str = "first_response") -> SlaClock:
    return t.clocks.get(metric=metric, cycle=1)


def test_fourteen_language_queues_on_calendars_in_their_time_zones(seeded):
    queues = {q.language: q for q in Queue.objects.select_related("calendar", "lead")}
    assert sorted(queues) == sorted(SUPPORT_LANGUAGES)
    assert {code: q.calendar.time_zone for code, q in queues.items()} == ZONES
    assert queues["en"].calendar.around_the_clock and queues["en"].fallback_after is None
    assert all(q.fallback_after == timedelta(hours=2) for code, q in queues.items() if code != "en")
    assert {q.lead.email for q in queues.values()} == {"supervisor@demo.test"}
    assert (queues["es"].name, queues["zh"].name, queues["ar"].name) == ("Español", "中文", "العربية")
    # Spanish office hours cross midnight; Arabic works Sunday to Thursday; Japanese has a lunch break.
    es = set(CalendarInterval.objects.filter(calendar=queues["es"].calendar).values_list("weekday", "start", "end"))
    assert {(d, time(8), time(2)) for d in range(5)} | {(5, time(10), time(14))} == es
    ar = CalendarInterval.objects.filter(calendar=queues["ar"].calendar)
    assert sorted(ar.values_list("weekday", flat=True)) == [0, 1, 2, 3, 6]
    ja = CalendarInterval.objects.filter(calendar=queues["ja"].calendar, weekday=0).order_by("start")
    assert list(ja.values_list("start", "end")) == [(time(9), time(12)), (time(13), time(18))]


def test_holidays_are_seeded_per_country_in_english_for_this_year_and_the_next(seeded):
    year = timezone.now().year
    madrid = Calendar.objects.get(name="Español office hours")
    christmas = Holiday.objects.filter(calendar=madrid, name="Christmas Day").values_list("first_day", flat=True)
    assert sorted(day.year for day in christmas) == [year, year + 1]
    assert Holiday.objects.filter(calendar__name="中文 office hours", name__startswith="Chinese New Year").exists()
    assert not Holiday.objects.filter(calendar__around_the_clock=True).exists()
    assert Calendar.objects.exclude(country="").count() == 13


def test_policies_come_in_position_order_with_their_targets_and_calendars(seeded):
    policies = list(SlaPolicy.objects.order_by("position").select_related("calendar"))
    names = [p.name for p in policies]
    assert names[:3] == ["Account security", "VIP", "Fund recovery"]
    assert names[3:-1] == [f"Standard · {code}" for code in SUPPORT_LANGUAGES if code != "en"]
    assert names[-1] == "Standard"
    by_name = {p.name: p for p in policies}
    assert by_name["Account security"].calendar.around_the_clock and by_name["VIP"].calendar.around_the_clock
    assert by_name["VIP"].tiers == [1, 2, 3, 4, 5]
    assert list(by_name["Account security"].categories.values_list("slug", flat=True)) == ["account_security"]
    assert by_name["Standard · es"].calendar.time_zone == "Europe/Madrid"
    assert list(by_name["Standard · es"].queues.values_list("language", flat=True)) == ["es"]

    def first(policy, priority):
        return SlaTarget.objects.get(policy=by_name[policy], priority=priority, metric="first_response").seconds

    assert (first("Standard", "normal"), first("Standard", "high"), first("Standard · de", "normal")) == (86400, 3600, 86400)
    assert (first("VIP", "normal"), first("Account security", "normal")) == (3600, 3600)
    assert SlaTarget.objects.filter(policy=by_name["Fund recovery"], metric="periodic_update", priority="normal").get().seconds == 86400
    assert not SlaTarget.objects.filter(metric="periodic_update").exclude(policy=by_name["Fund recovery"]).exists()
    versions = SlaPolicyVersion.objects.filter(policy__in=policies)
    assert versions.count() == len(policies) and set(versions.values_list("version", flat=True)) == {1}
    assert versions.get(policy=by_name["VIP"]).targets["normal"]["first_response"] == 3600


def test_six_categories_named_in_all_36_languages(seeded):
    categories = list(TicketCategory.objects.order_by("position"))
    assert [c.slug for c in categories] == ["deposit", "withdrawal", "trading", "account_security", "fund_recovery", "other"]
    for category in categories:
        for code in LANGUAGE_CODES:
            assert getattr(category, build_localized_fieldname("name", code)), (category.slug, code)
    withdrawal = TicketCategory.objects.get(slug="withdrawal")
    expected = {"en": "Withdrawal", "es": "Retirada", "es-419": "Retiro", "pt-br": "Saque", "ja": "出金", "de": "Auszahlung", "ar": "سحب"}
    for code, name in expected.items():
        with translation.override(code):
            assert withdrawal.name == name
    # a translation, not a copy of the English, wherever the language has its own word
    copies = [
        code
        for code in LANGUAGE_CODES
        if code != "en" and withdrawal.name_en == getattr(withdrawal, build_localized_fieldname("name", code))
    ]
    assert copies == []


def _placeholders(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_canned_replies_in_the_support_languages_with_placeholders_intact(seeded):
    replies = {r.title_en: r for r in CannedReply.objects.all()}
    assert len(replies) == len(CANNED_REPLIES) == 4
    columns = ["en", "zh-hans", "zh-hant", "ja", "ko", "ru", "uk", "es", "es-419", "pt", "pt-br", "fr", "de", "tr", "ar", "vi", "id"]
    for reply in replies.values():
        english = _placeholders(reply.body_en)
        assert english and english <= set(PLACEHOLDERS)
        for column in columns:
            title, body = (
                getattr(reply, build_localized_fieldname("title", column)),
                getattr(reply, build_localized_fieldname("body", column)),
            )
            assert title and body, (reply.title_en, column)
            assert _placeholders(body) == english, (reply.title_en, column)
            if column != "en":
                assert body != reply.body_en
    review = replies["Withdrawal under review"]
    assert (review.set_status, review.category.slug, review.is_macro) == ("waiting", "withdrawal", True)
    assert replies["Solved — anything else?"].set_status == "solved"
    assert not replies["Greeting"].is_macro
    with translation.override("kk"):  # no Kazakh column: the Russian one (the kk fallback), not English
        assert review.title == "Вывод на проверке"


def test_agents_are_online_in_their_languages_and_the_supervisor_heads_support(seeded):
    profiles = {p.user.email: p for p in AgentProfile.objects.select_related("user")}
    for code in SUPPORT_LANGUAGES:
        profile = profiles[f"agent-{code}@demo.test"]
        assert profile.languages == [code] and profile.capacity == 20
        assert profile.presence == ("away" if code == "ja" else "online")
        assert profile.user.has_perm("support.work_ticket") and profile.user.check_password("agora-demo-2026")
    head = profiles["supervisor@demo.test"]
    assert head.is_head_of_support and head.presence == "online" and head.user.has_perm("support.supervise_ticket")


def test_the_demo_tickets_show_every_sla_state(seeded):
    now = timezone.now()
    assert Ticket.objects.count() == 6

    breached = ticket("Mi retiro de USDT sigue pendiente")
    assert (breached.language, breached.queue.language, breached.assignee.email) == ("es-419", "es", "agent-es@demo.test")
    assert breached.policy_version.policy.name == "Standard · es"
    assert clock(breached).state == SlaClock.State.BREACHED
    assert SlaEvent.objects.filter(clock=clock(breached), kind="breach").count() == 1

    at_risk = ticket("BTC 充值还没有到账")
    assert (at_risk.tier, at_risk.policy_version.policy.name, at_risk.queue.language) == (3, "VIP", "zh")
    running = clock(at_risk)
    assert running.state == SlaClock.State.RUNNING and running.warned_at is not None
    assert now < running.due_at <= now + timedelta(minutes=11)
    assert SlaEvent.objects.filter(clock=running, kind="warn").count() == 1

    pending = ticket("Limit-Order nur teilweise ausgeführt")
    assert (pending.status, pending.assignee.email) == (Ticket.Status.PENDING, "agent-de@demo.test")
    reply = pending.messages.get(kind=Message.Kind.AGENT)
    assert not reply.internal and reply.created_at < now - timedelta(hours=23)
    assert clock(pending).state == SlaClock.State.FULFILLED
    assert pending.created_at < now - timedelta(days=1, hours=23)

    fallen = ticket("API キーの権限について")
    assert (fallen.language, fallen.queue.language, fallen.home_queue.language) == ("ja", "en", "ja")
    assert fallen.fallback_at is not None and fallen.assignee.agent.languages == ["en"]
    assert fallen.messages.get(event="fallback").data == {"from": "ja", "to": "en", "reason": "no_agent_online"}

    kazakh = ticket("Аккаунтқа бөгде кіру туралы хат")
    assert (kazakh.language, kazakh.queue.language, kazakh.assignee.email) == ("kk", "ru", "agent-ru@demo.test")
    assert kazakh.policy_version.policy.name == "Account security"

    assert ticket("ETH deposit not showing yet").policy_version.policy.name == "Standard"


def test_seeding_twice_changes_nothing(seeded):
    models = [
        Calendar,
        CalendarInterval,
        Holiday,
        Queue,
        SlaPolicy,
        SlaTarget,
        SlaPolicyVersion,
        TicketCategory,
        CannedReply,
        AgentProfile,
        Ticket,
        Message,
        SlaClock,
        SlaEvent,
    ]
    before = {model.__name__: model.objects.count() for model in models}
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert {model.__name__: model.objects.count() for model in models} == before
    for email in ("carmen@demo.test", "liwei@demo.test", "kenji@demo.test", "aigerim@demo.test"):
        assert email in seeded and email in out.getvalue()
    assert out.getvalue().count("carmen@demo.test") == 1


def test_a_new_ticket_after_the_seed_routes_to_the_seeded_agents(seeded):
    spanish = ticket_open(customer=UserFactory(language="es-419"), category="withdrawal", subject="¿Dónde está mi retiro?")
    ticket_route(ticket=spanish)
    assert spanish.assignee.email == "agent-es@demo.test"
    japanese = ticket_open(customer=UserFactory(language="ja"), category="other", subject="質問")
    result = ticket_route(ticket=japanese)
    assert result.fell_back == "no_agent_online" and japanese.queue.language == "en"
