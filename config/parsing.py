"""Reading numbers people and programs type, strictly.

Python's Decimal() accepts far more than a number: "0_1", Arabic-Indic and other Unicode digits,
"NaN", "Infinity", surrounding whitespace. Money must never be read from such input.

`decimal_parse_ascii` is for machines (the API, management commands): ASCII digits, at most one
dot, an optional exponent; nothing else. Range and precision are the caller's rules (they know the
asset or the market); this only says whether the text is a number and which kind of wrong it is.

`decimal_parse_locale` is for people (web forms): the same strictness, but in the notation of the
reader's locale through Babel's strict `parse_decimal` ("0,05" in German, "1 000,5" in French).
"""

import re
from decimal import Decimal, InvalidOperation

from config.errors import AppError

ASCII_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII)
MAX_LENGTH = 64
MAX_ADJUSTED = 17  # every amount is NUMERIC(36, 18): at most 18 digits before the point


class NumberInvalid(AppError):
    """`code` says what is wrong: empty, not_a_number, negative, not_finite, too_large or too_long."""

    code = "not_a_number"


def decimal_parse_ascii(value) -> Decimal:
    """The Decimal an API client meant, or NumberInvalid. Accepts str (and int, Decimal, which are
    exact); refuses floats (already rounded), signs other than a leading minus (reported as
    negative), separators, spaces and any non-ASCII digit."""
    if isinstance(value, bool) or isinstance(value, float):
        raise NumberInvalid("not_a_number")
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise NumberInvalid("not_finite")
        value = str(value)
    if not isinstance(value, str) or value == "":
        raise NumberInvalid("empty" if value in ("", None) else "not_a_number")
    if len(value) > MAX_LENGTH:
        raise NumberInvalid("too_long")
    negative = value.startswith("-")
    body = value[1:] if negative else value
    if not ASCII_DECIMAL.fullmatch(body):
        raise NumberInvalid("not_a_number")
    try:
        number = Decimal(body)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise NumberInvalid("not_a_number")
    if not number.is_finite():
        raise NumberInvalid("not_finite")
    if negative and number != 0:
        raise NumberInvalid("negative")
    if number and number.adjusted() > MAX_ADJUSTED:
        raise NumberInvalid("too_large")
    return number


_NOT_FINITE_WORDS = {"nan", "snan", "inf", "infinity"}
_SPACES = {" ", "\u00a0", "\u202f"}  # a typed space stands for the no-break space some locales group with


def decimal_parse_locale(value, *, locale: str | None = None) -> Decimal:
    """The Decimal a person typed in their locale's notation, or NumberInvalid with the kind of
    wrong (empty, not_a_number, negative, not_finite, too_large, too_long). `locale` is a Django
    language code (default: the active language). Only ASCII digits, the locale's decimal and
    group signs (grouped correctly: Babel's strict mode), a leading sign and an exponent are read:
    "0_1", Arabic-Indic digits and the other things Decimal() accepts are not numbers here. A
    German "0.05" is refused (the dot groups thousands there), not read as 5."""
    from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

    from config.formatting import babel_locale

    if isinstance(value, Decimal):
        return decimal_parse_ascii(value)
    if not isinstance(value, str):
        raise NumberInvalid("not_a_number")
    text = value.strip()
    if text == "":
        raise NumberInvalid("empty")
    if len(text) > MAX_LENGTH:
        raise NumberInvalid("too_long")
    if text.lower().lstrip("+-") in _NOT_FINITE_WORDS:
        raise NumberInvalid("not_finite")
    where = babel_locale(locale)
    decimal_sign, group_sign = get_decimal_symbol(where), get_group_symbol(where)
    if group_sign in _SPACES:
        text = "".join(group_sign if c in _SPACES else c for c in text)
    negative = text.startswith(("-", "\u2212"))
    body = text[1:] if text[:1] in ("-", "+", "\u2212") else text
    mantissa, has_exponent, exponent = body.replace("E", "e").partition("e")
    if has_exponent and not (exponent.lstrip("+-").isascii() and exponent.lstrip("+-").isdigit() and len(exponent.lstrip("+-")) <= 4):
        raise NumberInvalid("not_a_number")
    if not mantissa or any(not ("0" <= c <= "9") and c not in (decimal_sign, group_sign) for c in mantissa):
        raise NumberInvalid("not_a_number")
    try:
        number = parse_decimal(mantissa, locale=where, strict=True)
    except NumberFormatError:
        raise NumberInvalid("not_a_number")
    if exponent:
        number = number.scaleb(int(exponent))
    if negative and number != 0:
        raise NumberInvalid("negative")
    if number and number.adjusted() > MAX_ADJUSTED:
        raise NumberInvalid("too_large")
    return number
