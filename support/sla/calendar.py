"""Business-calendar arithmetic for SLA clocks: pure Python, exact, no Django.

Rules (also in docs/architecture.md, "SLA business calendars"):

- A `WeeklyInterval(weekday, start, end)` is in LOCAL wall time of the calendar's zone, starting
  on local dates whose weekday is `weekday` (0 = Monday). If `end > start` it ends the same local
  date; if `end <= start` it ends at `end` on the NEXT local date (Fri 22:00-02:00 ends Sat
  02:00). So `00:00-00:00` is the whole local day (midnight to next midnight: 23 h or 25 h on
  DST change days) and `09:00-09:00` is 24 h of wall time from 09:00.
- Business time is the union of the intervals that START on a non-holiday local date. A holiday
  drops every interval starting on it; the tail of a midnight-crossing interval that started the
  day before still counts (nothing else is subtracted). Overlapping intervals count once.
- Local wall times become UTC with zoneinfo: a time that does not exist (spring-forward gap) is
  the first instant after the gap (the transition instant); an ambiguous time (fall back) is the
  first occurrence (fold=0). An interval whose two ends land on the same instant is empty.
- `business_seconds(a, b)` counts exactly and floors to whole seconds (with whole-second inputs,
  which the callers use, it is exact and additive).
- `add_business_seconds(a, 0) == a`; for s > 0 it is the earliest instant t with
  `business_seconds(a, t) == s` (always inside or at the end of a business interval, never at the
  start of the next one). It searches at most `HORIZON` (2 years) ahead and raises
  `BusinessTimeNotFound` beyond, so a calendar with no business time cannot loop forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HORIZON = timedelta(days=731)
_CHUNK = timedelta(days=7)
_DAY = timedelta(days=1)


class BusinessTimeNotFound(ValueError):
    """The calendar has no (or not enough) business time within the search horizon."""


@dataclass(frozen=True)
class WeeklyInterval:
    weekday: int
    start: time
    end: time

    def __post_init__(self):
        if not (isinstance(self.weekday, int) and 0 <= self.weekday <= 6):
            raise ValueError(f"weekday must be 0 (Monday) to 6, got {self.weekday!r}")
        for t in (self.start, self.end):
            if t.tzinfo is not None or t.microsecond:
                raise ValueError("interval times are naive local wall times in whole seconds")

    def local_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Naive local start and end of this interval when it starts on `day`."""
        end_day = day if self.end > self.start else day + _DAY
        return datetime.combine(day, self.start), datetime.combine(end_day, self.end)


@dataclass(frozen=True)
class Holiday:
    first: date
    last: date

    def __post_init__(self):
        if self.last < self.first:
            raise ValueError("a holiday's last date is before its first")

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class BusinessCalendar:
    tz: str
    weekly: tuple[WeeklyInterval, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_weekday: tuple[tuple[WeeklyInterval, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "weekly", tuple(self.weekly))
        object.__setattr__(self, "holidays", tuple(self.holidays))
        object.__setattr__(self, "_zone", ZoneInfo(self.tz))
        object.__setattr__(self, "_by_weekday", tuple(tuple(w for w in self.weekly if w.weekday == d) for d in range(7)))

    @classmethod
    def always(cls, tz: str = "UTC") -> BusinessCalendar:
        """24/7: every local day is business time from midnight to midnight."""
        return cls(tz=tz, weekly=[WeeklyInterval(d, time(0), time(0)) for d in range(7)])

    # -- conversion -------------------------------------------------------------------------

    def _to_utc(self, local: datetime) -> datetime:
        zone = self._zone
        first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if first.astimezone(zone).replace(tzinfo=None) == local:
            return first  # exists; when ambiguous, fold=0 is the first occurrence
        # In a gap: the answer is the transition, the earliest instant whose wall time is past `local`.
        other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
        lo, hi = min(first, other), max(first, other)  # wall(lo) < local < wall(hi)
        while hi - lo > timedelta(seconds=1):
            mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=1) // 2)
            if mid.astimezone(zone).replace(tzinfo=None) > local:
                hi = mid
            else:
                lo = mid
        return hi

    # -- queries ----------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return any(day in h for h in self.holidays)

    def intervals(self, start_utc: datetime, end_utc: datetime) -> list[tuple[datetime, datetime]]:
        """Merged business intervals (aware UTC) overlapping [start_utc, end_utc), clipped to it."""
        start_utc, end_utc = _utc(start_utc), _utc(end_utc)
        if start_utc >= end_utc:
            return []
        # An interval starting on local date D ends before D+2 00:00 local, so one starting the day
        # before the window's first local date can still overlap it.
        day = start_utc.astimezone(self._zone).date() - _DAY
        last = end_utc.astimezone(self._zone).date()
        pieces = []
        while day <= last:
            if not self.is_holiday(day):
                for w in self._by_weekday[day.weekday()]:
                    local_start, local_end = w.local_bounds(day)
                    s, e = max(self._to_utc(local_start), start_utc), min(self._to_utc(local_end), end_utc)
                    if s < e:
                        pieces.append((s, e))
            day += _DAY
        pieces.sort()
        merged: list[tuple[datetime, datetime]] = []
        for s, e in pieces:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged

    def business_seconds(self, start_utc: datetime, end_utc: datetime) -> int:
        start_utc, end_utc = _utc(start_utc), _utc(end_utc)
        if start_utc > end_utc:
            raise ValueError("start is after end")
        total = sum((e - s for s, e in self.intervals(start_utc, end_utc)), timedelta())
        return total // timedelta(seconds=1)

    def add_business_seconds(self, start_utc: datetime, seconds: int) -> datetime:
        """The due time: the earliest instant by which `seconds` of business time have elapsed."""
        start_utc = _utc(start_utc)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative integer, got {seconds!r}")
        if seconds == 0:
            return start_utc
        if not self.weekly:
            raise BusinessTimeNotFound("the calendar has no business intervals")
        remaining = timedelta(seconds=seconds)
        cursor, limit = start_utc, start_utc + HORIZON
        while cursor < limit:
            chunk_end = min(cursor + _CHUNK, limit)
            for s, e in self.intervals(cursor, chunk_end):
                if remaining <= e - s:
                    return s + remaining
                remaining -= e - s
            cursor = chunk_end
        raise BusinessTimeNotFound(f"{seconds} business seconds do not fit within {HORIZON.days} days of {start_utc.isoformat()}")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)
