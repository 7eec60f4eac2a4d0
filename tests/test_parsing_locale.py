"""config.parsing.decimal_parse_locale: numbers people type in their locale's notation, strictly."""

from decimal import Decimal as D

import pytest

from config.parsing import NumberInvalid, decimal_parse_locale


@pytest.mark.parametrize(
    "text, locale, expected",
    [
        ("0,05", "de", D("0.05")),
        ("1.000,5", "de", D("1000.5")),
        ("0.05", "en", D("0.05")),
        ("1,000.5", "en", D("1000.5")),
        ("1 000,5", "fr", D("1000.5")),  # a typed space for French's narrow no-break space
        ("1\u202f000,5", "fr", D("1000.5")),
        ("0,5", "ru", D("0.5")),
        ("0.5", "ar", D("0.5")),  # Arabic with Latin digits, as amounts are shown
        (" 2 ", "en", D("2")),
        ("+2", "en", D("2")),
        ("1e-3", "en", D("0.001")),
        ("-0", "en", D("0")),
    ],
)
def test_reads_the_locales_notation(text, locale, expected):
    assert decimal_parse_locale(text, locale=locale) == expected


@pytest.mark.parametrize(
    "text, locale, code",
    [
        ("", "en", "empty"),
        ("   ", "en", "empty"),
        ("abc", "en", "not_a_number"),
        ("0_1", "en", "not_a_number"),  # Decimal() and Babel both read 1
        ("١٢", "ar", "not_a_number"),  # Babel reads 12
        ("0.05", "de", "not_a_number"),  # the dot groups thousands in German
        ("1,5", "en", "not_a_number"),
        ("1,00.5", "en", "not_a_number"),
        ("1e", "en", "not_a_number"),
        ("1e99999", "en", "not_a_number"),
        ("NaN", "en", "not_finite"),
        ("-Infinity", "en", "not_finite"),
        ("inf", "de", "not_finite"),
        ("-1", "en", "negative"),
        ("\u22121", "en", "negative"),
        ("1e400", "en", "too_large"),
        ("1" * 19, "en", "too_large"),
        ("1" * 65, "en", "too_long"),
    ],
)
def test_refuses_each_kind_of_wrong_with_its_code(text, locale, code):
    with pytest.raises(NumberInvalid) as info:
        decimal_parse_locale(text, locale=locale)
    assert info.value.code == code


def test_uses_the_active_language_by_default():
    from django.utils import translation

    with translation.override("de"):
        assert decimal_parse_locale("0,05") == D("0.05")
    with translation.override("en"):
        with pytest.raises(NumberInvalid):
            decimal_parse_locale("0,05")
