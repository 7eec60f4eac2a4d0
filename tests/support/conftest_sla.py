"""Fixtures of the SLA engine and sweeper tests: a Berlin office desk with its own policy
(`office`) and a clock the test sets (`now`: django.utils.timezone.now, which the services read).
tests/support/test_sla_*.py import them by their function names, now_fixture and office_fixture."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from support.models import SlaClock, SlaEvent
from tests.factories import UserFactory
from tests.support.factories import CalendarFactory, desk, policy_create

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600
# Business seconds: the office policy (Mon-Fri 09:00-17:00 Berlin) a desk test ticket matches first.
OFFICE_TARGETS = {
    "normal": {"first_response": 4 * H, "next_response": 4 * H, "resolution": 16 * H},
    "high": {"first_response": H, "next_response": H, "resolution": 8 * H},
}


def berlin(*args) -> datetime:
    """A Berlin wall time as an aware UTC instant."""
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


class Now:
    """The instant timezone.now() returns while a test runs (set it, or move it forward)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> datetime:
        self.moment = moment
        return moment


@pytest.fixture(name="now")
def now_fixture(monkeypatch):
    current = Now(berlin(2026, 6, 1, 9))
    monkeypatch.setattr(timezone, "now", current)
    return current


@pytest.fixture(name="office")
def office_fixture(db, now):
    """The 14 queues on a Berlin office calendar (Mon-Fri 09:00-17:00), the standard policy at
    position 100 and the office policy (OFFICE_TARGETS, warn 30 min before) at position 10."""
    calendar = CalendarFactory(
        name="Berlin office", time_zone="Europe/Berlin", around_the_clock=False, week={d: [(time(9), time(17))] for d in range(5)}
    )
    built = desk(calendar=calendar)
    built["office_policy"] = policy_create(
        name="office", position=10, calendar=calendar, targets=OFFICE_TARGETS, warn_before=timedelta(minutes=30)
    )
    built["customer"] = UserFactory(language="es", time_zone="Europe/Madrid")
    return built


def clock_of(ticket, metric, cycle=1) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, metric=metric, cycle=cycle)


def events_of(clock) -> list[tuple[str, datetime, int]]:
    return [(e.kind, e.at, e.used_seconds) for e in SlaEvent.objects.filter(clock=clock).order_by("at", "id")]
