"""The customer pages' and support emails' strings follow the catalog rules before any catalog
exists (tests/test_catalogs.py checks the catalogs after `make messages`): a short ambiguous word
carries a context, a sentence with a count has plural forms."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract
from django.utils.translation.template import templatize

from tests.test_catalogs import AMBIGUOUS, COUNT_LIKE

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = [
    "support/views/customer.py",
    "support/forms.py",
    "support/selectors/customer.py",
    "support/services/attachments.py",
    "support/services/recovery.py",
    "support/services/notify.py",
    "support/services/mail_inbound.py",
    "support/mail.py",
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "templates/support").glob("*.html")),
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "templates/emails").glob("support_*")),
]
# Besides the project's list: words these pages use as a label whose translation depends on what it names.
LOCAL_AMBIGUOUS = {"support", "you", "newer", "older", "reply", "subject", "reference", "category"}
KEYWORDS = {
    "gettext": None,
    "_": None,
    "gettext_lazy": None,
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def strings(relative: str):
    text = (ROOT / relative).read_text()
    if not relative.endswith(".py"):
        text = templatize(text, origin=relative)
    for _line, message, _comments, context in extract("python", io.BytesIO(text.encode()), keywords=KEYWORDS):
        yield message, context


@pytest.mark.parametrize("relative", SOURCES)
def test_short_ambiguous_words_have_a_context_and_counts_have_plurals(relative):
    found = list(strings(relative))
    if "translate" in (ROOT / relative).read_text():
        assert found, f"nothing extracted from {relative}"  # the extraction failed, not the rules
    bare = [m for m, context in found if isinstance(m, str) and m.strip().lower() in AMBIGUOUS | LOCAL_AMBIGUOUS and not context]
    assert not bare, f"{relative}: give these a context: {bare}"
    singular = [m for m, _context in found if isinstance(m, str) and COUNT_LIKE.search(m)]
    assert not singular, f"{relative}: use ngettext / blocktranslate count for: {singular}"
