"""Template helpers available in every template (registered as a builtin)."""
from django import template
from django.utils.html import format_html

from config.formatting import amount_format, amount_text

register = template.Library()


@register.filter(name="amount")
def amount_filter(value, places=8):
    """{{ balance|amount:8 }} -> '1,234.50000000' in the reader's locale, isolated for RTL."""
    if value is None or value == "":
        return ""
    return format_html('<bdi class="num" dir="ltr">{}</bdi>', amount_format(value, int(places)))


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
