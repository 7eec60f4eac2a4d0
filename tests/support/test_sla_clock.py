"""Business-time arithmetic of the SLA clocks (support/sla/clock.py, the issue's public API):
exact instants for the rules in docs/architecture.md "SLA engine (issue 10)", then Hypothesis
properties of business_add against business_seconds, with and without pauses."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.sla.clock import BusinessTimeNotFound, Calendar, business_add, business_next, business_seconds

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = 3600


def local(zone, *args, fold=0):
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def office(tz="Europe/Berlin", holidays=frozenset()):
    """Mon-Fri 09:00-17:00."""
    return Calendar(tz, {d: [(time(9), time(17))] for d in range(5)}, holidays)


def days(first, last):
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# -- the scenarios ----------------------------------------------------------------------


def test_friday_evening_plus_one_business_hour_skips_a_monday_holiday():
    cal = office(holidays={date(2026, 5, 25)})  # Whit Monday
    friday_evening = local(BERLIN, 2026, 5, 22, 19)
    assert business_add(cal, friday_evening, H) == local(BERLIN, 2026, 5, 26, 10) == utc(2026, 5, 26, 8)
    late_afternoon = local(BERLIN, 2026, 5, 22, 16, 30)  # half an hour on Friday, the rest on Tuesday
    assert business_add(cal, late_afternoon, H) == utc(2026, 5, 26, 7, 30)
    assert business_seconds(cal, friday_evening, utc(2026, 5, 26, 8)) == H
    without_holiday = office()
    assert business_add(without_holiday, friday_evening, H) == utc(2026, 5, 25, 8)


@pytest.mark.parametrize(
    "tz, start, due, due_wall",
    [
        # Berlin springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): 24 h later reads 13:00.
        ("Europe/Berlin", utc(2026, 3, 28, 11), utc(2026, 3, 29, 11), (2026, 3, 29, 13)),
        # Berlin falls back on 2026-10-25 (03:00 CEST -> 02:00 CET): 24 h later reads 11:00.
        ("Europe/Berlin", utc(2026, 10, 24, 10), utc(2026, 10, 25, 10), (2026, 10, 25, 11)),
        # New York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT).
        ("America/New_York", utc(2026, 3, 7, 17), utc(2026, 3, 8, 17), (2026, 3, 8, 13)),
        # New York falls back on 2026-11-01 (02:00 EDT -> 01:00 EST).
        ("America/New_York", utc(2026, 10, 31, 16), utc(2026, 11, 1, 16), (2026, 11, 1, 11)),
    ],
)
def test_24_hours_on_a_24_7_calendar_across_dst_is_24_real_hours(tz, start, due, due_wall):
    cal = Calendar.always(tz)
    assert business_add(cal, start, 24 * H) == due
    assert due.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(*due_wall)
    assert business_seconds(cal, start, due) == 24 * H


def test_office_hours_follow_the_local_wall_clock_across_dst():
    cal = office("America/New_York")
    friday = local(NEW_YORK, 2026, 3, 6, 16)  # EST
    assert business_add(cal, friday, 2 * H) == local(NEW_YORK, 2026, 3, 9, 10) == utc(2026, 3, 9, 14)  # EDT


def test_a_night_shift_crossing_midnight():
    cal = Calendar("Europe/Berlin", {d: [(time(20), time(4))] for d in range(5)})  # Mon-Fri 20:00-04:00 next day
    tuesday_23 = local(BERLIN, 2026, 6, 2, 23)
    assert business_add(cal, tuesday_23, 5 * H) == local(BERLIN, 2026, 6, 3, 4)  # the end of the shift, not the next start
    assert business_add(cal, tuesday_23, 5 * H + 60) == local(BERLIN, 2026, 6, 3, 20, 1)
    saturday_2 = local(BERLIN, 2026, 6, 6, 2)  # inside Friday night's tail
    assert business_add(cal, saturday_2, H) == local(BERLIN, 2026, 6, 6, 3)
    assert business_add(cal, saturday_2, 3 * H) == local(BERLIN, 2026, 6, 8, 21)  # 2 h Saturday, then Monday 20:00 + 1 h


def test_pauses_are_not_counted():
    cal = office()
    monday_10 = local(BERLIN, 2026, 6, 1, 10)
    lunch = (local(BERLIN, 2026, 6, 1, 12), local(BERLIN, 2026, 6, 1, 14))
    # Mon 10-12 (2 h) and 14-17 (3 h), Tue 09-12 (3 h)
    assert business_add(cal, monday_10, 8 * H, pauses=[lunch]) == local(BERLIN, 2026, 6, 2, 12)
    assert business_seconds(cal, monday_10, local(BERLIN, 2026, 6, 2, 12), pauses=[lunch]) == 8 * H
    overnight = (local(BERLIN, 2026, 6, 1, 17), local(BERLIN, 2026, 6, 2, 9))  # outside business time: no effect
    assert business_add(cal, monday_10, 8 * H, pauses=[overnight, lunch]) == local(BERLIN, 2026, 6, 2, 12)
    # Unordered, overlapping, and one reaching before the start.
    messy = [(local(BERLIN, 2026, 6, 1, 13), local(BERLIN, 2026, 6, 1, 14)), lunch, (utc(2026, 5, 1), local(BERLIN, 2026, 6, 1, 11))]
    assert business_add(cal, monday_10, 8 * H, pauses=messy) == local(BERLIN, 2026, 6, 2, 13)
    assert business_seconds(cal, monday_10, local(BERLIN, 2026, 6, 2, 13), pauses=messy) == 8 * H
    # A pause ending exactly at the due instant pushes it to the next business second.
    assert business_add(cal, monday_10, H, pauses=[(local(BERLIN, 2026, 6, 1, 10), local(BERLIN, 2026, 6, 1, 17))]) == local(
        BERLIN, 2026, 6, 2, 10
    )


def test_a_pause_longer_than_the_horizon_still_finds_the_due_time():
    cal = Calendar.always()
    start = utc(2026, 1, 1)
    three_years = (start, utc(2029, 1, 1))
    assert business_add(cal, start, 60, pauses=[three_years]) == utc(2029, 1, 1, 0, 1)


def test_business_next_is_now_inside_business_time_else_the_next_opening():
    cal = office(holidays={date(2026, 6, 8)})
    assert business_next(cal, local(BERLIN, 2026, 6, 5, 11)) == local(BERLIN, 2026, 6, 5, 11)
    assert business_next(cal, local(BERLIN, 2026, 6, 5, 17)) == local(BERLIN, 2026, 6, 9, 9)  # Friday close, Monday off
    assert business_next(Calendar.always("Asia/Tokyo"), utc(2026, 6, 6, 3, 4, 5)) == utc(2026, 6, 6, 3, 4, 5)
    with pytest.raises(BusinessTimeNotFound):
        business_next(Calendar("UTC", {}), utc(2026, 6, 1))


# -- the calendar's rules -----------------------------------------------------------------------


def test_two_business_hours_from_monday_16_are_due_tuesday_10_local():
    cal = office()
    start = local(BERLIN, 2026, 6, 1, 16)  # Monday
    due = business_add(cal, start, 2 * H)
    assert due == local(BERLIN, 2026, 6, 2, 10) == utc(2026, 6, 2, 8)  # CEST
    assert business_seconds(cal, start, due) == 2 * H


def test_due_at_the_exact_end_of_an_interval_is_that_end_not_the_next_morning():
    assert business_add(office(), local(BERLIN, 2026, 6, 1, 16), H) == local(BERLIN, 2026, 6, 1, 17)


def test_zero_seconds_is_the_start_even_outside_business_time():
    cal = office()
    saturday = local(BERLIN, 2026, 6, 6, 12)
    assert business_add(cal, saturday, 0) == saturday
    assert business_add(cal, saturday, 1) == local(BERLIN, 2026, 6, 8, 9, 0, 1)


def test_holidays_are_skipped():
    cal = office(holidays={date(2026, 6, 2)} | days(date(2026, 6, 4), date(2026, 6, 5)))
    start = local(BERLIN, 2026, 6, 1, 16)
    # Mon 16-17 (1 h), Tue holiday, Wed 09-17 (8 h), Thu+Fri holiday, Mon 09:00 + 1 h
    assert business_add(cal, start, 10 * H) == local(BERLIN, 2026, 6, 8, 10)
    assert business_seconds(cal, local(BERLIN, 2026, 6, 1, 0), local(BERLIN, 2026, 6, 8, 0)) == 16 * H
    assert cal.intervals(local(BERLIN, 2026, 6, 1), local(BERLIN, 2026, 6, 6)) == [
        (local(BERLIN, 2026, 6, 1, 9), local(BERLIN, 2026, 6, 1, 17)),
        (local(BERLIN, 2026, 6, 3, 9), local(BERLIN, 2026, 6, 3, 17)),
    ]


def test_midnight_crossing_interval_runs_into_the_next_day():
    cal = Calendar("Europe/Berlin", {4: [(time(22), time(2))]})  # Fri 22:00-Sat 02:00
    start = local(BERLIN, 2026, 6, 5, 12)
    assert cal.intervals(start, start + timedelta(days=2)) == [(local(BERLIN, 2026, 6, 5, 22), local(BERLIN, 2026, 6, 6, 2))]
    assert business_add(cal, start, 3 * H) == local(BERLIN, 2026, 6, 6, 1)
    assert business_add(cal, start, 4 * H + 1) == local(BERLIN, 2026, 6, 12, 22, 0, 1)
    saturday_1am = local(BERLIN, 2026, 6, 6, 1)  # a window that opens inside Friday night's tail
    assert cal.intervals(saturday_1am, saturday_1am + timedelta(hours=5)) == [(saturday_1am, local(BERLIN, 2026, 6, 6, 2))]
    assert business_add(cal, saturday_1am, 1800) == local(BERLIN, 2026, 6, 6, 1, 30)


def test_holiday_drops_intervals_starting_on_it_but_keeps_the_tail_of_one_started_before():
    cal = Calendar("Europe/Berlin", {4: [(time(22), time(2))], 5: [(time(22), time(2))]}, {date(2026, 6, 6)})  # Saturday off
    window = (local(BERLIN, 2026, 6, 5), local(BERLIN, 2026, 6, 8))
    # Friday's night runs into the holiday and is kept whole; Saturday's night starts on it and is dropped.
    assert cal.intervals(*window) == [(local(BERLIN, 2026, 6, 5, 22), local(BERLIN, 2026, 6, 6, 2))]
    assert business_seconds(cal, *window) == 4 * H


def test_overlapping_intervals_count_once_and_touching_ones_merge():
    cal = Calendar("UTC", {0: [(time(9), time(13)), (time(12), time(17)), (time(17), time(18))]})
    assert cal.intervals(utc(2026, 6, 1), utc(2026, 6, 2)) == [(utc(2026, 6, 1, 9), utc(2026, 6, 1, 18))]
    assert business_seconds(cal, utc(2026, 6, 1), utc(2026, 6, 2)) == 9 * H


def test_midnight_to_midnight_is_the_whole_day_and_equal_times_are_24_hours():
    day = Calendar("UTC", {0: [(time(0), time(0))]})
    assert day.intervals(utc(2026, 5, 31), utc(2026, 6, 3)) == [(utc(2026, 6, 1), utc(2026, 6, 2))]
    nine = Calendar("UTC", {0: [(time(9), time(9))]})
    assert nine.intervals(utc(2026, 5, 31), utc(2026, 6, 3)) == [(utc(2026, 6, 1, 9), utc(2026, 6, 2, 9))]


def test_intervals_are_clipped_to_the_window():
    cal = office("UTC")
    assert cal.intervals(utc(2026, 6, 1, 10), utc(2026, 6, 2, 12)) == [
        (utc(2026, 6, 1, 10), utc(2026, 6, 1, 17)),
        (utc(2026, 6, 2, 9), utc(2026, 6, 2, 12)),
    ]
    assert business_seconds(cal, utc(2026, 6, 1, 10), utc(2026, 6, 2, 12)) == 10 * H


def test_always_equals_wall_clock_in_any_zone():
    for tz in ("UTC", "Europe/Berlin", "America/New_York"):
        cal = Calendar.always(tz)
        a, b = utc(2026, 3, 1, 5, 17, 3), utc(2026, 11, 15, 23, 59, 59)
        assert business_seconds(cal, a, b) == int((b - a).total_seconds())
        assert business_add(cal, a, 12_345_678) == a + timedelta(seconds=12_345_678)
        assert cal.intervals(a, b) == [(a, b)]


def test_berlin_dst_days_of_a_24_7_calendar_are_23_and_25_hours():
    cal = Calendar.always("Europe/Berlin")
    assert business_seconds(cal, local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == 23 * H
    assert business_seconds(cal, local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == 25 * H
    assert business_seconds(cal, local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 29)) == 24 * H


def test_berlin_spring_forward_gap_start_is_the_first_instant_after_the_gap():
    # 02:00-03:00 does not exist on 2026-03-29; 01:00 CET = 00:00 UTC, 04:00 CEST = 02:00 UTC.
    cal = Calendar("Europe/Berlin", {6: [(time(1), time(4))]})
    window = (utc(2026, 3, 28), utc(2026, 3, 30))
    assert cal.intervals(*window) == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]
    assert business_seconds(cal, *window) == 2 * H
    in_gap = Calendar("Europe/Berlin", {6: [(time(2, 30), time(5))]})
    assert in_gap.intervals(*window) == [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))]  # starts 03:00 CEST
    empty = Calendar("Europe/Berlin", {6: [(time(2, 10), time(2, 50))]})
    assert empty.intervals(*window) == []


def test_berlin_fall_back_ambiguous_time_is_the_first_occurrence():
    # 02:00-03:00 happens twice on 2026-10-25: first in CEST (00:00-01:00 UTC), then CET.
    cal = Calendar("Europe/Berlin", {6: [(time(2, 30), time(4))]})
    window = (utc(2026, 10, 24), utc(2026, 10, 26))
    assert cal.intervals(*window) == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))]
    assert business_seconds(cal, *window) == int(2.5 * H)


def test_new_york_transitions():
    spring = Calendar("America/New_York", {6: [(time(1), time(4))]})
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 01:00 EST = 06:00 UTC, 04:00 EDT = 08:00 UTC.
    assert spring.intervals(utc(2026, 3, 7), utc(2026, 3, 10)) == [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))]
    gap = Calendar("America/New_York", {6: [(time(2, 15), time(3, 30))]})
    assert gap.intervals(utc(2026, 3, 7), utc(2026, 3, 10)) == [(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))]
    fall = Calendar("America/New_York", {6: [(time(1, 30), time(3))]})
    # 2026-11-01: 01:00-02:00 happens twice; 01:30 is the EDT one (05:30 UTC); 03:00 EST = 08:00 UTC.
    assert fall.intervals(utc(2026, 10, 31), utc(2026, 11, 3)) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))]
    assert business_seconds(fall, utc(2026, 10, 31), utc(2026, 11, 3)) == int(2.5 * H)
    always = Calendar.always("America/New_York")
    assert business_seconds(always, local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9)) == 23 * H
    assert business_seconds(always, local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)) == 25 * H


def test_errors():
    cal = office()
    with pytest.raises(ValueError, match="start is after end"):
        business_seconds(cal, utc(2026, 6, 2), utc(2026, 6, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds(cal, datetime(2026, 6, 1), utc(2026, 6, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        business_add(cal, utc(2026, 6, 1), 60, pauses=[(datetime(2026, 6, 1), utc(2026, 6, 2))])
    with pytest.raises(ValueError, match="non-negative"):
        business_add(cal, utc(2026, 6, 1), -1)
    with pytest.raises(ValueError, match="non-negative"):
        business_add(cal, utc(2026, 6, 1), 1.5)
    with pytest.raises(BusinessTimeNotFound, match="no business intervals"):
        business_add(Calendar("UTC", {}), utc(2026, 6, 1), 1)
    everything_off = office(holidays=days(date(2026, 1, 1), date(2030, 12, 31)))
    with pytest.raises(BusinessTimeNotFound, match="within 731 days"):
        business_add(everything_off, utc(2026, 6, 1), 1)
    with pytest.raises(ValueError, match="weekday"):
        Calendar("UTC", {7: [(time(9), time(17))]})
    with pytest.raises(ValueError, match="whole seconds"):
        Calendar("UTC", {0: [(time(9, 0, 0, 500), time(17))]})
    with pytest.raises(AttributeError, match="immutable"):
        cal.tz = "UTC"


def test_calendars_compare_by_value():
    assert office() == office()
    assert hash(office()) == hash(office())
    assert office() != office(holidays={date(2026, 6, 1)})
    assert Calendar("UTC", {0: [(time(9), time(17)), (time(9), time(17))], 1: []}) == Calendar("UTC", {0: [(time(9), time(17))]})


def test_adding_a_day_of_business_time_walks_days_not_seconds(monkeypatch):
    cal = office(holidays={date(2026, 6, d) for d in range(2, 30, 3)})
    calls = []
    original = Calendar.to_utc
    monkeypatch.setattr(Calendar, "to_utc", lambda self, moment: calls.append(moment) or original(self, moment))
    due = business_add(cal, local(BERLIN, 2026, 6, 1, 16), 24 * H)
    assert due == local(BERLIN, 2026, 6, 9, 16)  # Mon 1 h, (Tue off), Wed 8, Thu 8, (Fri, Mon off), Tue 7 h
    assert len(calls) < 100  # two conversions per interval per local day, never per minute or second


# -- properties ---------------------------------------------------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"])
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.sampled_from([0, 0, 0, 7]))
WEEKS = st.dictionaries(st.integers(0, 6), st.lists(st.tuples(TIMES, TIMES), min_size=1, max_size=2), max_size=5)
DAYS = st.dates(date(2025, 12, 1), date(2027, 3, 1))
HOLIDAYS = st.lists(st.builds(lambda a, n: days(a, a + timedelta(days=n)), DAYS, st.integers(0, 10)), max_size=3).map(
    lambda ranges: set().union(*ranges)
)
CALENDARS = st.builds(Calendar, ZONES, WEEKS, HOLIDAYS) | ZONES.map(Calendar.always)
MOMENTS = st.integers(0, 400 * 86400).map(lambda s: utc(2026, 1, 1) + timedelta(seconds=s))
SECONDS = st.integers(0, 30 * 86400)
PAUSES = st.lists(st.tuples(MOMENTS, st.integers(1, 10 * 86400)).map(lambda p: (p[0], p[0] + timedelta(seconds=p[1]))), max_size=4)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, s=SECONDS, pauses=PAUSES)
def test_add_then_count_gives_back_the_seconds_and_is_the_earliest_instant(cal, a, s, pauses):
    try:
        due = business_add(cal, a, s, pauses)
    except BusinessTimeNotFound:
        assert s > 0
        assert business_seconds(cal, a, max([a] + [e for _, e in pauses]) + timedelta(days=731), pauses) < s
        return
    assert due >= a
    assert business_seconds(cal, a, due, pauses) == s
    if s > 0:
        assert business_seconds(cal, a, due - timedelta(seconds=1), pauses) == s - 1
        assert business_add(cal, a, s) <= due  # pauses only ever push the due time later


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, b=MOMENTS, pauses=PAUSES)
def test_pauses_subtract_exactly_their_business_time(cal, a, b, pauses):
    a, b = sorted((a, b))
    # Inclusion-exclusion over the merged pauses, clipped to [a, b).
    merged = []
    for ps, pe in sorted((max(ps, a), min(pe, b)) for ps, pe in pauses):
        if ps >= pe:
            continue
        if merged and ps <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pe))
        else:
            merged.append((ps, pe))
    paused = sum(business_seconds(cal, ps, pe) for ps, pe in merged)
    assert business_seconds(cal, a, b, pauses) == business_seconds(cal, a, b) - paused


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, s1=SECONDS, s2=SECONDS, pauses=PAUSES)
def test_add_is_monotonic_in_seconds(cal, a, s1, s2, pauses):
    s1, s2 = sorted((s1, s2))
    try:
        later = business_add(cal, a, s2, pauses)
    except BusinessTimeNotFound:
        return
    assert business_add(cal, a, s1, pauses) <= later


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS, s1=SECONDS, s2=SECONDS)
def test_adding_in_two_steps_is_adding_once(cal, a, s1, s2):
    """What the engine relies on when a clock is paused and resumed: banked seconds plus a new
    segment from the instant the first part was used up give the same due time."""
    try:
        whole = business_add(cal, a, s1 + s2)
    except BusinessTimeNotFound:
        return
    assert business_add(cal, business_add(cal, a, s1), s2) == whole


@PROPERTY
@given(cal=CALENDARS, moments=st.lists(MOMENTS, min_size=3, max_size=3))
def test_business_seconds_is_additive_and_never_exceeds_wall_seconds(cal, moments):
    a, b, c = sorted(moments)
    assert business_seconds(cal, a, b) + business_seconds(cal, b, c) == business_seconds(cal, a, c)
    assert 0 <= business_seconds(cal, a, c) <= (c - a) // timedelta(seconds=1)
    pieces = cal.intervals(a, c)
    assert all(a <= s < e <= c for s, e in pieces)
    assert all(e1 < s2 for (_, e1), (s2, _) in zip(pieces, pieces[1:]))  # merged: disjoint, gaps between
    wide = cal.intervals(a - timedelta(days=3), c + timedelta(days=3))  # a narrow window sees what a wide one does
    assert pieces == [(max(s, a), min(e, c)) for s, e in wide if max(s, a) < min(e, c)]


@PROPERTY
@given(cal=CALENDARS, a=MOMENTS)
def test_business_next_is_the_first_business_instant(cal, a):
    try:
        opening = business_next(cal, a)
    except BusinessTimeNotFound:
        assert business_seconds(cal, a, a + timedelta(days=731)) == 0
        return
    assert opening >= a
    assert business_seconds(cal, a, opening) == 0
    assert business_seconds(cal, opening, opening + timedelta(seconds=1)) == 1  # intervals are whole seconds long
