"""Amounts for people: Babel with an explicit pattern, never Django's number formats.

Crypto amounts are shown with Latin digits in every locale (traders compare them with the
chain, charts and the API), grouped and with the decimal sign of the reader's locale, and
truncated - never rounded up - to the number of places asked for.
"""

import functools
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from babel.numbers import format_decimal
from django.utils import translation

_BABEL_LOCALES = {"zh-hans": "zh_Hans", "zh-hant": "zh_Hant", "es-419": "es_419", "pt-br": "pt_BR", "pt": "pt_PT"}


def babel_locale(language: str | None = None) -> str:
    language = (language or translation.get_language() or "en").lower()
    return _BABEL_LOCALES.get(language, language.replace("-", "_"))


def amount_format(value, places: int = 8, *, language: str | None = None, trim: bool = False) -> str:
    """Format `value` with `places` decimals (truncated) in the reader's locale.

    `trim` drops trailing zeros (keeping at least `min(places, 2)` decimals) for compact tables.
    Raises TypeError for floats: an amount that went through a float is already wrong.
    """
    if isinstance(value, float):
        raise TypeError("amounts must be Decimal, int or str, never float")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    places = max(0, int(places))
    amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    shown = places
    if trim and places:
        keep = min(places, 2)
        text = format(amount, "f")
        decimals = text.split(".")[1].rstrip("0") if "." in text else ""
        shown = max(keep, len(decimals))
    pattern = "#,##0" + ("." + "0" * shown if shown else "")
    return format_decimal(amount, format=pattern, locale=babel_locale(language), decimal_quantization=False, numbering_system="latn")


def percent_format(value, *, min_places: int = 2, max_places: int = 4, signed: bool = False, language: str | None = None) -> str:
    """A fraction as a percentage in the locale's own pattern ('0.075%', '%0,075', '0,075 %'),
    with Latin digits and between `min_places` and `max_places` decimals; `signed` puts a plus
    sign before a positive change ('+2.00%', as a minus comes before a negative one)."""
    import copy

    from babel import Locale

    locale = Locale.parse(babel_locale(language))
    pattern = copy.copy(locale.percent_formats[None])
    pattern.frac_prec = (min_places, max_places)
    value = Decimal(str(value))
    text = pattern.apply(value, locale, numbering_system="latn")
    return "+" + text if signed and value > 0 else text


def amount_text(value, places: int = 18) -> str:
    """An amount as plain text in the reader's locale, trailing zeros dropped (emails, messages)."""
    return amount_format(value, places, trim=True)


def csv_cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (=, +, -, @ and control starts get a ')."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def time_zone_city(zone: str, *, language: str | None = None) -> str:
    """A zone as a reader knows it: its city in the reader's language ('Берлин', 'برلين'); 'UTC' stays."""
    if not zone or zone.upper() in {"UTC", "ETC/UTC"}:
        return "UTC"
    return _zone_city(zone, babel_locale(language))


@functools.lru_cache(maxsize=4096)
def _zone_city(zone: str, locale: str) -> str:
    # Cached: the zone picker names ~430 zones on every render.
    from babel.dates import get_timezone_location

    try:
        return get_timezone_location(zone, locale=locale, return_city=True)
    except (LookupError, ValueError):
        return zone.replace("_", " ")


def time_zone_label(zone: str, *, language: str | None = None) -> str:
    """The zone picker's label: the localized city, then the zone's id ('Берлин (Europe/Berlin)')."""
    city = time_zone_city(zone, language=language)
    return city if city == zone else f"{city} ({zone})"


def datetime_in_zone(value, zone: str) -> str:
    """A moment in the reader's date format (the active language) and in the zone `zone`."""
    from zoneinfo import ZoneInfo

    from django.utils import formats, timezone

    try:
        tz = ZoneInfo(zone or "UTC")
    except (LookupError, ValueError):
        tz = ZoneInfo("UTC")
    return formats.date_format(timezone.localtime(value, tz), "SHORT_DATETIME_FORMAT")


def amount_plain(value) -> str:
    """An exact decimal in plain digits, trailing zeros dropped, never in exponent form
    (`15`, `0`, `0.0005`; `str()` gives `15.000000000000000000`, `0E-18` and `1E+1`)."""
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    if amount.is_zero():
        return "0"
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
