"""Business calendars: public holidays from the `holidays` package, and the conversion of a stored
calendar into the pure calendar the SLA clock arithmetic takes (support.sla.clock.Calendar)."""

from datetime import date, timedelta

import holidays as holiday_data
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from support.errors import TicketRefused
from support.models import Calendar, Holiday

_ENGLISH = ("en_US", "en_GB")


def _country_holidays(country: str, year: int):
    """The country's public holidays of one year, named in English where the package has English."""
    try:
        probe = holiday_data.country_holidays(country)
    except NotImplementedError:
        raise TicketRefused("unknown_country", _("No public holidays are known for the country code %(code)s.") % {"code": country})
    supported = getattr(probe, "supported_languages", ()) or ()
    language = next((code for code in _ENGLISH if code in supported), None)
    return holiday_data.country_holidays(country, years=[year], language=language)


def _ranges(days: dict[date, list[str]]) -> list[tuple[str, date, date]]:
    """Consecutive days with the same name become one range (a week-long Spring Festival is one row)."""
    by_name: dict[str, list[date]] = {}
    for day in sorted(days):
        for name in days[day]:
            by_name.setdefault(name[:200], []).append(day)
    ranges = []
    for name, dates in by_name.items():
        first = last = dates[0]
        for day in dates[1:]:
            if day == last + timedelta(days=1):
                last = day
                continue
            ranges.append((name, first, last))
            first = last = day
        ranges.append((name, first, last))
    return sorted(ranges, key=lambda r: (r[1], r[0]))


@transaction.atomic
def calendar_holidays_seed(*, calendar: Calendar, years) -> int:
    """Add the public holidays of `calendar.country` for each of `years` (names in English where
    the package has them). Idempotent: a holiday already there (same first day and name) is kept
    as it is, also when staff edited its last day; nothing is deleted. Ranges never cross a new
    year, so seeding one year at a time gives the same rows as seeding them together. Returns how
    many holidays were added (0 for a calendar without a country)."""
    if not calendar.country:
        return 0
    added = 0
    for year in sorted(set(years)):
        found = _country_holidays(calendar.country.upper(), year)
        days = {day: found.get_list(day) for day in found}
        for name, first, last in _ranges(days):
            _holiday, created = Holiday.objects.get_or_create(calendar=calendar, first_day=first, name=name, defaults={"last_day": last})
            added += created
    return added


def calendars_holidays_extend(*, years_ahead: int = 1) -> dict[str, int]:
    """Seed this year's and the next `years_ahead` years' holidays on every calendar with a country
    (the yearly top-up a periodic task runs, so calendars never run out of holidays)."""
    this_year = timezone.now().year
    years = range(this_year, this_year + years_ahead + 1)
    result = {}
    for calendar in Calendar.objects.exclude(country="").order_by("pk"):
        result[calendar.name] = calendar_holidays_seed(calendar=calendar, years=years)
    return result


def calendar_spec(calendar: Calendar):
    """The stored calendar as the SLA arithmetic's pure `support.sla.clock.Calendar(tz, week,
    holidays)`: weekday -> [(start, end)] in local wall time, holiday ranges expanded into dates; a
    24/7 calendar is every whole day with no holidays (every hour counts). One implementation: the
    engine's `calendar_build`, which the clocks themselves use. Reads the calendar's intervals and
    holidays (prefetch them for many calendars)."""
    from support.sla.engine import calendar_build

    return calendar_build(calendar)
