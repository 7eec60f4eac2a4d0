"""Business-time arithmetic of the SLA clocks: pure Python and zoneinfo, exact, no Django.

Public API (tests and outside checks call it; support/sla/engine.py is the only Django caller):

- `Calendar(tz, week, holidays=frozenset())`: an IANA zone; `week` maps a weekday (0 = Monday) to
  `(start, end)` pairs of LOCAL wall times; `holidays` are local dates without business time.
- `business_add(calendar, start, seconds, pauses=())`: the aware UTC instant at which `seconds` of
  business time have passed after `start`, not counting the pause intervals.
- `business_seconds(calendar, start, end, pauses=())`: business seconds in [start, end) outside the
  pauses.
- `business_next(calendar, at)`: `at` when it is business time, else the start of the next
  business interval (when a held notification may go out).

Rules (also in docs/architecture.md, "SLA engine (issue 10)"):

- An interval starts on a local date whose weekday is its key. If `end > start` it ends the same
  local date; if `end <= start` it ends at `end` on the NEXT local date (Fri 22:00-02:00 ends Sat
  02:00). So `00:00-00:00` is the whole local day (23 h or 25 h on DST change days) and
  `09:00-09:00` is 24 h of wall time from 09:00.
- Business time is the union of the intervals that START on a non-holiday local date. A holiday
  drops every interval starting on it; the tail of a midnight-crossing interval that started the
  day before still counts. Overlapping intervals count once.
- Intervals are built per local date, then converted to UTC: a wall time inside a spring-forward
  gap is the first instant after the gap (the transition); an ambiguous fall-back time is the
  first occurrence (fold=0). An interval whose two ends land on the same instant is empty.
- Pauses are aware intervals subtracted from business time (they may overlap, be unordered or
  reach before `start`).
- `business_seconds` counts exactly and floors to whole seconds (with whole-second inputs it is
  exact and additive).
- `business_add(a, 0) == a` even outside business time; for s > 0 it is the earliest instant t
  with `business_seconds(a, t) == s` (inside or at the end of a business interval, never at the
  start of the next one). It searches at most `HORIZON` (2 years) past the last pause and raises
  `BusinessTimeNotFound` beyond, so a calendar without business time cannot loop forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = ["HORIZON", "BusinessTimeNotFound", "Calendar", "business_add", "business_next", "business_seconds"]

HORIZON = timedelta(days=731)
_CHUNK = timedelta(days=7)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)

Span = tuple[datetime, datetime]


class BusinessTimeNotFound(ValueError):
    """The calendar has no (or not enough) business time within the search horizon."""


class Calendar:
    """Weekly business intervals in local wall time of `tz`, minus holidays (immutable)."""

    __slots__ = ("tz", "week", "holidays", "_zone")

    def __init__(self, tz: str, week: Mapping[int, Iterable[tuple[time, time]]], holidays: Iterable[date] = frozenset()):
        zone = ZoneInfo(tz)
        normalised = {}
        for weekday, spans in week.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6, got {weekday!r}")
            spans = tuple(sorted(set(spans)))
            for start, end in spans:
                for t in (start, end):
                    if not isinstance(t, time) or t.tzinfo is not None or t.microsecond:
                        raise ValueError("interval times are naive local wall times in whole seconds")
            if spans:
                normalised[weekday] = spans
        object.__setattr__(self, "tz", tz)
        object.__setattr__(self, "week", MappingProxyType(normalised))
        object.__setattr__(self, "holidays", frozenset(holidays))
        object.__setattr__(self, "_zone", zone)

    def __setattr__(self, name, value):
        raise AttributeError("Calendar is immutable")

    def __eq__(self, other):
        if not isinstance(other, Calendar):
            return NotImplemented
        return (self.tz, self.week, self.holidays) == (other.tz, other.week, other.holidays)

    def __hash__(self):
        return hash((self.tz, tuple(sorted(self.week.items())), self.holidays))

    def __repr__(self):
        return f"Calendar({self.tz!r}, {self.week!r}, {len(self.holidays)} holidays)"

    @classmethod
    def always(cls, tz: str = "UTC") -> Calendar:
        """24/7: every local day is business time from midnight to midnight."""
        return cls(tz, {d: [(time(0), time(0))] for d in range(7)})

    @property
    def is_empty(self) -> bool:
        return not self.week

    # -- conversion -------------------------------------------------------------------------

    def to_utc(self, local: datetime) -> datetime:
        """A naive local wall time as an aware UTC instant (gap: the transition; fold: the first)."""
        zone = self._zone
        first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if first.astimezone(zone).replace(tzinfo=None) == local:
            return first  # exists; when ambiguous, fold=0 is the first occurrence
        # In a gap: the answer is the transition, the earliest instant whose wall time is past `local`.
        other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
        lo, hi = min(first, other), max(first, other)  # wall(lo) < local < wall(hi)
        while hi - lo > _SECOND:
            mid = lo + timedelta(seconds=(hi - lo) // _SECOND // 2)
            if mid.astimezone(zone).replace(tzinfo=None) > local:
                hi = mid
            else:
                lo = mid
        return hi

    # -- queries ----------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays

    def intervals(self, start: datetime, end: datetime) -> list[Span]:
        """Merged business intervals (aware UTC) overlapping [start, end), clipped to it."""
        start, end = _utc(start), _utc(end)
        if start >= end:
            return []
        # An interval starting on local date D ends before D+2 00:00 local, so one starting the day
        # before the window's first local date can still overlap it.
        day = start.astimezone(self._zone).date() - _DAY
        last = end.astimezone(self._zone).date()
        pieces = []
        while day <= last:
            if day not in self.holidays:
                for span_start, span_end in self.week.get(day.weekday(), ()):
                    end_day = day if span_end > span_start else day + _DAY
                    s = max(self.to_utc(datetime.combine(day, span_start)), start)
                    e = min(self.to_utc(datetime.combine(end_day, span_end)), end)
                    if s < e:
                        pieces.append((s, e))
            day += _DAY
        return _merge(pieces)


def business_seconds(calendar: Calendar, start: datetime, end: datetime, pauses: Sequence[Span] = ()) -> int:
    """Whole business seconds in [start, end) outside the pauses (floored)."""
    start, end = _utc(start), _utc(end)
    if start > end:
        raise ValueError("start is after end")
    pieces = _subtract(calendar.intervals(start, end), _pauses(pauses, start))
    return sum((e - s for s, e in pieces), timedelta()) // _SECOND


def business_add(calendar: Calendar, start: datetime, seconds: int, pauses: Sequence[Span] = ()) -> datetime:
    """The earliest instant by which `seconds` of business time outside the pauses have passed."""
    start = _utc(start)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError(f"seconds must be a non-negative integer, got {seconds!r}")
    if seconds == 0:
        return start
    if calendar.is_empty:
        raise BusinessTimeNotFound("the calendar has no business intervals")
    paused = _pauses(pauses, start)
    remaining = timedelta(seconds=seconds)
    cursor = start
    limit = max([start] + [e for _, e in paused]) + HORIZON
    while cursor < limit:
        chunk_end = min(cursor + _CHUNK, limit)
        for s, e in _subtract(calendar.intervals(cursor, chunk_end), paused):
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        cursor = chunk_end
    raise BusinessTimeNotFound(f"{seconds} business seconds do not fit within {HORIZON.days} days of {start.isoformat()}")


def business_next(calendar: Calendar, at: datetime) -> datetime:
    """`at` when it falls in business time, else the start of the next business interval."""
    at = _utc(at)
    if calendar.is_empty:
        raise BusinessTimeNotFound("the calendar has no business intervals")
    cursor, limit = at, at + HORIZON
    while cursor < limit:
        pieces = calendar.intervals(cursor, min(cursor + _CHUNK, limit))
        if pieces:
            return pieces[0][0]
        cursor += _CHUNK
    raise BusinessTimeNotFound(f"no business time within {HORIZON.days} days of {at.isoformat()}")


def _utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def _merge(pieces: list[Span]) -> list[Span]:
    pieces.sort()
    merged: list[Span] = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _pauses(pauses: Sequence[Span], start: datetime) -> list[Span]:
    """Pauses as merged aware UTC spans, without the parts before `start` (they cannot matter)."""
    spans = []
    for a, b in pauses:
        a, b = max(_utc(a), start), _utc(b)
        if a < b:
            spans.append((a, b))
    return _merge(spans)


def _subtract(pieces: list[Span], pauses: list[Span]) -> list[Span]:
    """Sorted disjoint `pieces` minus sorted disjoint `pauses`."""
    if not pauses:
        return pieces
    out: list[Span] = []
    i = 0
    for s, e in pieces:
        while i < len(pauses) and pauses[i][1] <= s:
            i += 1
        j = i
        while s < e and j < len(pauses) and pauses[j][0] < e:
            ps, pe = pauses[j]
            if ps > s:
                out.append((s, ps))
            s = max(s, pe)
            j += 1
        if s < e:
            out.append((s, e))
    return out
