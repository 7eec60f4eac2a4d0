"""Calendars: public holidays seeded from the `holidays` package (English names, ranges, idempotent)
and the stored calendar converted into the SLA arithmetic's pure Calendar."""

from datetime import date, datetime, time

import pytest
from django.utils import timezone

from support.errors import TicketRefused
from support.models import Calendar, CalendarInterval, Holiday
from support.routing_tasks import calendars_holidays_extend_task
from support.services.calendars import calendar_holidays_seed, calendar_spec
from support.sla import clock

pytestmark = pytest.mark.django_db

SPAIN_2026 = [
    ("New Year's Day", date(2026, 1, 1), date(2026, 1, 1)),
    ("Epiphany", date(2026, 1, 6), date(2026, 1, 6)),
    ("Good Friday", date(2026, 4, 3), date(2026, 4, 3)),
    ("Labor Day", date(2026, 5, 1), date(2026, 5, 1)),
    ("Assumption Day", date(2026, 8, 15), date(2026, 8, 15)),
    ("National Day", date(2026, 10, 12), date(2026, 10, 12)),
    ("Immaculate Conception", date(2026, 12, 8), date(2026, 12, 8)),
    ("Christmas Day", date(2026, 12, 25), date(2026, 12, 25)),
]


def rows(calendar):
    return list(calendar.holidays.order_by("first_day", "name").values_list("name", "first_day", "last_day"))


def test_spanish_holidays_in_english_and_idempotent():
    calendar = Calendar.objects.create(name="Madrid", time_zone="Europe/Madrid", country="ES")
    assert calendar_holidays_seed(calendar=calendar, years=[2026]) == 8
    assert rows(calendar) == SPAIN_2026
    assert calendar_holidays_seed(calendar=calendar, years=[2026]) == 0
    assert rows(calendar) == SPAIN_2026


def test_consecutive_days_of_one_holiday_are_one_range_and_staff_edits_stay():
    calendar = Calendar.objects.create(name="Shanghai", time_zone="Asia/Shanghai", country="cn")
    calendar_holidays_seed(calendar=calendar, years=[2026])
    found = rows(calendar)
    assert ("Chinese New Year (Spring Festival)", date(2026, 2, 17), date(2026, 2, 19)) in found
    assert ("National Day", date(2026, 10, 1), date(2026, 10, 3)) in found
    assert ("Chinese New Year's Eve", date(2026, 2, 16), date(2026, 2, 16)) in found
    # Staff shortened the festival; seeding again keeps their edit and adds nothing.
    Holiday.objects.filter(calendar=calendar, name="Chinese New Year (Spring Festival)").update(last_day=date(2026, 2, 18))
    assert calendar_holidays_seed(calendar=calendar, years=[2026]) == 0
    assert calendar.holidays.get(name="Chinese New Year (Spring Festival)").last_day == date(2026, 2, 18)


def test_one_year_at_a_time_gives_the_same_rows_as_both_at_once():
    apart = Calendar.objects.create(name="apart", time_zone="Asia/Riyadh", country="SA")
    together = Calendar.objects.create(name="together", time_zone="Asia/Riyadh", country="SA")
    added = calendar_holidays_seed(calendar=apart, years=[2026]) + calendar_holidays_seed(calendar=apart, years=[2027])
    assert calendar_holidays_seed(calendar=together, years=[2027, 2026]) == added
    assert rows(apart) == rows(together)
    assert ("Eid al-Fitr Holiday", date(2026, 3, 19), date(2026, 3, 22)) in rows(apart)
    assert all(first.year == last.year for _name, first, last in rows(apart))


def test_a_calendar_without_a_country_gets_nothing_and_an_unknown_country_is_refused():
    assert calendar_holidays_seed(calendar=Calendar.objects.create(name="24/7", around_the_clock=True), years=[2026]) == 0
    with pytest.raises(TicketRefused) as refused:
        calendar_holidays_seed(calendar=Calendar.objects.create(name="nowhere", country="QQ"), years=[2026])
    assert refused.value.code == "unknown_country"


def test_the_yearly_top_up_covers_this_year_and_the_next():
    madrid = Calendar.objects.create(name="Madrid", time_zone="Europe/Madrid", country="ES")
    Calendar.objects.create(name="UTC 24/7", around_the_clock=True)
    result = calendars_holidays_extend_task.apply().get()
    year = timezone.now().year
    assert set(result) == {"Madrid"} and result["Madrid"] > 0
    assert {day.year for day in madrid.holidays.values_list("first_day", flat=True)} == {year, year + 1}
    assert calendars_holidays_extend_task.apply().get() == {"Madrid": 0}


def test_holiday_ranges_expand_into_dates():
    calendar = Calendar.objects.create(name="c", time_zone="Asia/Tokyo")
    Holiday.objects.create(calendar=calendar, name="Golden Week", first_day=date(2026, 4, 29), last_day=date(2026, 5, 2))
    Holiday.objects.create(calendar=calendar, name="New Year", first_day=date(2026, 12, 31), last_day=date(2027, 1, 1))
    assert calendar_spec(calendar).holidays == {
        date(2026, 4, 29),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 5, 2),
        date(2026, 12, 31),
        date(2027, 1, 1),
    }


def test_calendar_spec_is_the_pure_calendar_the_sla_arithmetic_takes():
    calendar = Calendar.objects.create(name="Madrid", time_zone="Europe/Madrid")
    CalendarInterval.objects.create(calendar=calendar, weekday=0, start=time(8), end=time(2))  # Monday 08:00 -> Tuesday 02:00
    CalendarInterval.objects.create(calendar=calendar, weekday=4, start=time(9), end=time(14))
    Holiday.objects.create(calendar=calendar, name="Day off", first_day=date(2027, 1, 4), last_day=date(2027, 1, 4))
    spec = calendar_spec(calendar)
    assert isinstance(spec, clock.Calendar)
    utc = datetime.fromisoformat
    # Friday 2027-01-01 13:00 Madrid (12:00 UTC) + 1 business hour: 14:00 Friday. Then Monday the 4th is
    # a holiday, so 2 h from Friday 13:00 runs out on Friday the 8th at 10:00 Madrid.
    assert clock.business_add(spec, utc("2027-01-01T12:00:00+00:00"), 3600) == utc("2027-01-01T13:00:00+00:00")
    assert clock.business_add(spec, utc("2027-01-01T12:00:00+00:00"), 2 * 3600) == utc("2027-01-08T09:00:00+00:00")
    # Monday the 11th 23:00 Madrid + 2 h runs past midnight, inside the interval, to Tuesday 01:00.
    assert clock.business_add(spec, utc("2027-01-11T22:00:00+00:00"), 2 * 3600) == utc("2027-01-12T00:00:00+00:00")


def test_a_24_7_calendar_counts_every_hour_even_on_holidays():
    calendar = Calendar.objects.create(name="always", time_zone="UTC", around_the_clock=True, country="ES")
    Holiday.objects.create(calendar=calendar, name="Christmas Day", first_day=date(2026, 12, 25), last_day=date(2026, 12, 25))
    spec = calendar_spec(calendar)
    start = datetime.fromisoformat("2026-12-24T12:00:00+00:00")
    assert clock.business_seconds(spec, start, datetime.fromisoformat("2026-12-26T12:00:00+00:00")) == 48 * 3600
