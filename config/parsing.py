"""Reading numbers people and programs type, strictly.

Python's Decimal() accepts far more than a number: "0_1", Arabic-Indic and other Unicode digits,
"NaN", "Infinity", surrounding whitespace. Money must never be read from such input.

`decimal_parse_ascii` is for machines (the API, management commands): ASCII digits, at most one
dot, an optional exponent; nothing else. Range and precision are the caller's rules (they know the
asset or the market); this only says whether the text is a number and which kind of wrong it is.
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
