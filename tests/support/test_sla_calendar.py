"""Business-calendar arithmetic of the SLA clocks (support/sla/calendar.py): exact examples for
the rules in docs/architecture.md "SLA business calendars", then Hypothesis properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.sla.calendar import BusinessCalendar, BusinessTimeNotFound, Holiday, WeeklyInterval

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = 3600


def local(zone, *args, fold=0):
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def office(tz="Europe/Berlin", holidays=()):
    """Mon-Fri 09:00-17:00."""
    return BusinessCalendar(tz, [WeeklyInterval(d, time(9), time(17)) for d in range(5)], list(holidays))


# -- exact examples -----------------------------------------------------------------------------


def test_two_business_hours_from_monday_16_are_due_tuesday_10_local():
    cal = office()
    start = local(BERLIN, 2026, 6, 1, 16)  # Monday
    due = cal.add_business_seconds(start, 2 * H)
    assert due == local(BERLIN, 2026, 6, 2, 10)
    assert due == utc(2026, 6, 2, 8)  # CEST
    assert cal.business_seconds(start, due) == 2 * H


def test_friday_1630_ticket_with_one_hour_target_is_due_monday_0930():
    cal = office()
    start = local(BERLIN, 2026, 6, 5, 16, 30)
    assert cal.add_business_seconds(start, H) == local(BERLIN, 2026, 6, 8, 9, 30)


def test_due_at_the_exact_end_of_an_interval_is_that_end_not_the_next_morning():
    cal = office()
    start = local(BERLIN, 2026, 6, 1, 16)
    assert cal.add_business_seconds(start, H) == local(BERLIN, 2026, 6, 1, 17)


def test_zero_seconds_is_the_start_even_outside_business_time():
    cal = office()
    saturday = local(BERLIN, 2026, 6, 6, 12)
    assert cal.add_business_seconds(saturday, 0) == saturday
    assert cal.add_business_seconds(saturday, 1) == local(BERLIN, 2026, 6, 8, 9, 0, 1)


def test_holidays_are_skipped_single_dates_and_ranges():
    cal = office(holidays=[Holiday(date(2026, 6, 2), date(2026, 6, 2)), Holiday(date(2026, 6, 4), date(2026, 6, 5))])
    start = local(BERLIN, 2026, 6, 1, 16)
    # Mon 16-17 (1 h), Tue holiday, Wed 09-17 (8 h), Thu+Fri holiday, Mon 09:00 + 1 h
    assert cal.add_business_seconds(start, 10 * H) == local(BERLIN, 2026, 6, 8, 10)
    assert cal.business_seconds(local(BERLIN, 2026, 6, 1, 0), local(BERLIN, 2026, 6, 8, 0)) == 16 * H
    assert cal.intervals(local(BERLIN, 2026, 6, 1), local(BERLIN, 2026, 6, 6)) == [
        (local(BERLIN, 2026, 6, 1, 9), local(BERLIN, 2026, 6, 1, 17)),
        (local(BERLIN, 2026, 6, 3, 9), local(BERLIN, 2026, 6, 3, 17)),
    ]


def test_midnight_crossing_interval_runs_into_the_next_day():
    cal = BusinessCalendar("Europe/Berlin", [WeeklyInterval(4, time(22), time(2))], [])  # Fri 22:00-Sat 02:00
    start = local(BERLIN, 2026, 6, 5, 12)
    assert cal.intervals(start, start + timedelta(days=2)) == [(local(BERLIN, 2026, 6, 5, 22), local(BERLIN, 2026, 6, 6, 2))]
    assert cal.add_business_seconds(start, 3 * H) == local(BERLIN, 2026, 6, 6, 1)
    assert cal.add_business_seconds(start, 4 * H + 1) == local(BERLIN, 2026, 6, 12, 22, 0, 1)
    saturday_1am = local(BERLIN, 2026, 6, 6, 1)  # a window that opens inside Friday night's tail
    assert cal.intervals(saturday_1am, saturday_1am + timedelta(hours=5)) == [(saturday_1am, local(BERLIN, 2026, 6, 6, 2))]
    assert cal.add_business_seconds(saturday_1am, 1800) == local(BERLIN, 2026, 6, 6, 1, 30)


def test_holiday_drops_intervals_starting_on_it_but_keeps_the_tail_of_one_started_before():
    weekly = [WeeklyInterval(4, time(22), time(2)), WeeklyInterval(5, time(22), time(2))]  # Fri and Sat nights
    cal = BusinessCalendar("Europe/Berlin", weekly, [Holiday(date(2026, 6, 6), date(2026, 6, 6))])  # Saturday
    window = (local(BERLIN, 2026, 6, 5), local(BERLIN, 2026, 6, 8))
    # Friday's night runs into the holiday and is kept whole; Saturday's night starts on it and is dropped.
    assert cal.intervals(*window) == [(local(BERLIN, 2026, 6, 5, 22), local(BERLIN, 2026, 6, 6, 2))]
    assert cal.business_seconds(*window) == 4 * H


def test_overlapping_intervals_count_once_and_touching_ones_merge():
    weekly = [WeeklyInterval(0, time(9), time(13)), WeeklyInterval(0, time(12), time(17)), WeeklyInterval(0, time(17), time(18))]
    cal = BusinessCalendar("UTC", weekly, [])
    assert cal.intervals(utc(2026, 6, 1), utc(2026, 6, 2)) == [(utc(2026, 6, 1, 9), utc(2026, 6, 1, 18))]
    assert cal.business_seconds(utc(2026, 6, 1), utc(2026, 6, 2)) == 9 * H


def test_midnight_to_midnight_is_the_whole_day_and_equal_times_are_24_hours():
    day = BusinessCalendar("UTC", [WeeklyInterval(0, time(0), time(0))], [])
    assert day.intervals(utc(2026, 5, 31), utc(2026, 6, 3)) == [(utc(2026, 6, 1), utc(2026, 6, 2))]
    nine = BusinessCalendar("UTC", [WeeklyInterval(0, time(9), time(9))], [])
    assert nine.intervals(utc(2026, 5, 31), utc(2026, 6, 3)) == [(utc(2026, 6, 1, 9), utc(2026, 6, 2, 9))]


def test_intervals_are_clipped_to_the_window():
    cal = office("UTC")
    assert cal.intervals(utc(2026, 6, 1, 10), utc(2026, 6, 2, 12)) == [
        (utc(2026, 6, 1, 10), utc(2026, 6, 1, 17)),
        (utc(2026, 6, 2, 9), utc(2026, 6, 2, 12)),
    ]
    assert cal.business_seconds(utc(2026, 6, 1, 10), utc(2026, 6, 2, 12)) == 10 * H


def test_always_equals_wall_clock_in_any_zone():
    for tz in ("UTC", "Europe/Berlin", "America/New_York"):
        cal = BusinessCalendar.always(tz)
        a, b = utc(2026, 3, 1, 5, 17, 3), utc(2026, 11, 15, 23, 59, 59)
        assert cal.business_seconds(a, b) == int((b - a).total_seconds())
        assert cal.add_business_seconds(a, 12_345_678) == a + timedelta(seconds=12_345_678)
        assert cal.intervals(a, b) == [(a, b)]


def test_berlin_dst_days_of_a_24_7_calendar_are_23_and_25_hours():
    cal = BusinessCalendar.always("Europe/Berlin")
    assert cal.business_seconds(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == 23 * H
    assert cal.business_seconds(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == 25 * H
    assert cal.business_seconds(local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 29)) == 24 * H


def test_berlin_spring_forward_gap_start_is_the_first_instant_after_the_gap():
    # 02:00-03:00 does not exist on 2026-03-29; 01:00 CET = 00:00 UTC, 04:00 CEST = 02:00 UTC.
    cal = BusinessCalendar("Europe/Berlin", [WeeklyInterval(6, time(1), time(4))], [])
    window = (utc(2026, 3, 28), utc(2026, 3, 30))
    assert cal.intervals(*window) == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]
    assert cal.business_seconds(*window) == 2 * H
    in_gap = BusinessCalendar("Europe/Berlin", [WeeklyInterval(6, time(2, 30), time(5))], [])
    assert in_gap.intervals(*window) == [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))]  # starts 03:00 CEST
    empty = BusinessCalendar("Europe/Berlin", [WeeklyInterval(6, time(2, 10), time(2, 50))], [])
    assert empty.intervals(*window) == []


def test_berlin_fall_back_ambiguous_time_is_the_first_occurrence():
    # 02:00-03:00 happens twice on 2026-10-25: first in CEST (00:00-01:00 UTC), then CET.
    cal = BusinessCalendar("Europe/Berlin", [WeeklyInterval(6, time(2, 30), time(4))], [])
    window = (utc(2026, 10, 24), utc(2026, 10, 26))
    assert cal.intervals(*window) == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))]
    assert cal.business_seconds(*window) == int(2.5 * H)


def test_new_york_transitions():
    spring = BusinessCalendar("America/New_York", [WeeklyInterval(6, time(1), time(4))], [])
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 01:00 EST = 06:00 UTC, 04:00 EDT = 08:00 UTC.
    assert spring.intervals(utc(2026, 3, 7), utc(2026, 3, 10)) == [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))]
    gap = BusinessCalendar("America/New_York", [WeeklyInterval(6, time(2, 15), time(3, 30))], [])
    assert gap.intervals(utc(2026, 3, 7), utc(2026, 3, 10)) == [(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))]
    fall = BusinessCalendar("America/New_York", [WeeklyInterval(6, time(1, 30), time(3))], [])
    # 2026-11-01: 01:00-02:00 happens twice; 01:30 is the EDT one (05:30 UTC); 03:00 EST = 08:00 UTC.
    assert fall.intervals(utc(2026, 10, 31), utc(2026, 11, 3)) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))]
    assert fall.business_seconds(utc(2026, 10, 31), utc(2026, 11, 3)) == int(2.5 * H)
    always = BusinessCalendar.always("America/New_York")
    assert always.business_seconds(local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9)) == 23 * H
    assert always.business_seconds(local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == 25 * H


def test_errors():
    cal = office()
    with pytest.raises(ValueError, match="start is after end"):
        cal.business_seconds(utc(2026, 6, 2), utc(2026, 6, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.business_seconds(datetime(2026, 6, 1), utc(2026, 6, 2))
    with pytest.raises(ValueError, match="non-negative"):
        cal.add_business_seconds(utc(2026, 6, 1), -1)
    with pytest.raises(BusinessTimeNotFound, match="no business intervals"):
        BusinessCalendar("UTC", [], []).add_business_seconds(utc(2026, 6, 1), 1)
    everything_off = office(holidays=[Holiday(date(2026, 1, 1), date(2030, 12, 31))])
    with pytest.raises(BusinessTimeNotFound, match="within 731 days"):
        everything_off.add_business_seconds(utc(2026, 6, 1), 1)
    with pytest.raises(ValueError, match="weekday"):
        WeeklyInterval(7, time(9), time(17))
    with pytest.raises(ValueError, match="before its first"):
        Holiday(date(2026, 6, 2), date(2026, 6, 1))


def test_adding_a_day_of_business_time_walks_days_not_seconds():
    cal = office(holidays=[Holiday(date(2026, 6, d), date(2026, 6, d)) for d in range(2, 30, 3)])
    calls = []
    original = cal._to_utc
    object.__setattr__(cal, "_to_utc", lambda moment: calls.append(moment) or original(moment))
    due = cal.add_business_seconds(local(BERLIN, 2026, 6, 1, 16), 24 * H)
    assert due == local(BERLIN, 2026, 6, 9, 16)  # Mon 1 h, (Tue off), Wed 8, Thu 8, (Fri, Mon off), Tue 7 h
    assert len(calls) < 100  # two conversions per interval per local day, never per minute or second


# -- properties ---------------------------------------------------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"])
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.sampled_from([0, 0, 0, 7]))
INTERVALS = st.builds(WeeklyInterval, st.integers(0, 6), TIMES, TIMES)
DAYS = st.dates(date(2025, 12, 1), date(2027, 3, 1))
HOLIDAYS = st.builds(lambda a, n: Holiday(a, a + timedelta(days=n)), DAYS, st.integers(0, 10))
CALENDARS = st.builds(BusinessCalendar, ZONES, st.lists(INTERVALS, min_size=0, max_size=5), st.lists(HOLIDAYS, max_size=3)) | ZONES.map(
    BusinessCalendar.always
)
MOMENTS = st.integers(0, 400 * 86400).map(lambda s: utc(2026, 1, 1) + timedelta(seconds=s))
SECONDS = st.integers(0, 30 * 86400)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, s=SECONDS)
def test_add_then_count_gives_back_the_seconds_and_is_the_earliest_instant(cal, a, s):
    try:
        due = cal.add_business_seconds(a, s)
    except BusinessTimeNotFound:
        assert s > 0
        assert cal.business_seconds(a, a + timedelta(days=731)) < s
        return
    assert due >= a
    assert cal.business_seconds(a, due) == s
    if s > 0:
        assert cal.business_seconds(a, due - timedelta(seconds=1)) == s - 1


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, s1=SECONDS, s2=SECONDS)
def test_add_is_monotonic_in_seconds(cal, a, s1, s2):
    s1, s2 = sorted((s1, s2))
    try:
        later = cal.add_business_seconds(a, s2)
    except BusinessTimeNotFound:
        return
    assert cal.add_business_seconds(a, s1) <= later


@PROPERTY
@given(cal=CALENDARS, moments=st.lists(MOMENTS, min_size=3, max_size=3))
def test_business_seconds_is_additive_and_never_exceeds_wall_seconds(cal, moments):
    a, b, c = sorted(moments)
    assert cal.business_seconds(a, b) + cal.business_seconds(b, c) == cal.business_seconds(a, c)
    assert 0 <= cal.business_seconds(a, c) <= (c - a) // timedelta(seconds=1)
    pieces = cal.intervals(a, c)
    assert all(a <= s < e <= c for s, e in pieces)
    assert all(e1 < s2 for (_, e1), (s2, _) in zip(pieces, pieces[1:]))  # merged: disjoint, gaps between
    wide = cal.intervals(a - timedelta(days=3), c + timedelta(days=3))  # a narrow window sees what a wide one does
    assert pieces == [(max(s, a), min(e, c)) for s, e in wide if max(s, a) < min(e, c)]
