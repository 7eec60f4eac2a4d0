"""Template helpers available in every template (registered as a builtin)."""

from decimal import Decimal

from babel.lists import format_list
from django import template
from django.utils.html import format_html
from django.utils.translation import pgettext

from config.formatting import amount_format, amount_text, babel_locale, percent_format, time_zone_city

register = template.Library()


@register.filter(name="amount")
def amount_filter(value, places=8):
    """{{ balance|amount:8 }} -> '1,234.50000000' in the reader's locale, isolated for RTL."""
    if value is None or value == "":
        return ""
    return format_html('<bdi class="num" dir="ltr">{}</bdi>', amount_format(value, int(places)))


@register.filter(name="amount_signed")
def amount_signed_filter(value, places=8):
    """{{ row.amount|amount_signed:8 }} -> '+1.50000000' for a credit: the plus sign inside the isolated
    number (outside it, right-to-left text would show '1.50000000+')."""
    if value is None or value == "":
        return ""
    sign = "+" if Decimal(str(value)) > 0 else ""
    return format_html('<bdi class="num" dir="ltr">{}{}</bdi>', sign, amount_format(value, int(places)))


@register.simple_tag(name="colon")
def colon_tag(label):
    """{% colon label %} -> 'Available:' in the reader's punctuation ('Disponible :', '可用：')."""
    return pgettext("label before a value", "%(label)s:") % {"label": label}


@register.simple_tag(name="list_join")
def list_join_tag(*items):
    """{% list_join a b c %} or {% list_join items %} -> 'a, b and c' in the reader's language (Babel's list
    patterns); empty items dropped."""
    if len(items) == 1 and isinstance(items[0], (list, tuple)):
        items = items[0]
    shown = [str(item) for item in items if item not in (None, "")]
    return format_list(shown, locale=babel_locale()) if shown else ""


@register.filter(name="tz_name")
def tz_name_filter(zone):
    """{{ user.time_zone|tz_name }} -> 'Берлин': the zone's city in the reader's language."""
    return time_zone_city(zone)


@register.filter(name="ltr")
def ltr_filter(value):
    """Addresses, hashes, IPs and codes keep left-to-right order inside RTL text."""
    return format_html('<bdi dir="ltr">{}</bdi>', value)


@register.filter(name="amount_plain")
def amount_plain_filter(value, places=18):
    """Plain text (emails, CSV): locale-formatted, trailing zeros dropped."""
    if value is None or value == "":
        return ""
    return amount_text(value, int(places))


@register.filter(name="percent")
def percent_filter(value, places=None):
    """{{ 0.00075|percent }} -> '0.075%' in the reader's locale (a fraction in, a percentage out);
    2 to 4 decimals, exactly `places` (|percent:2), or a range (|percent:"0-2")."""
    if value is None or value == "":
        return ""
    return format_html('<bdi class="num" dir="ltr">{}</bdi>', percent_format(value, **_places(places)))


@register.filter(name="change_percent")
def change_percent_filter(value, places=2):
    """{{ 0.02|change_percent }} -> '+2.00%': a price change, its sign inside the isolated number
    (outside it, right-to-left text would show '2.00%+')."""
    if value is None or value == "":
        return ""
    return format_html('<bdi class="num" dir="ltr">{}</bdi>', percent_format(value, signed=True, **_places(places)))


def _places(places) -> dict:
    if places is None:
        return {}
    low, _sep, high = str(places).partition("-")
    return {"min_places": int(low), "max_places": int(high or low)}
