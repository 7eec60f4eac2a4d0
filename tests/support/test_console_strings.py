"""The console's strings follow the catalog rules before any catalog exists (as the customer pages'
do, with the same extraction): a short ambiguous word carries a context, a count has plural forms."""

from pathlib import Path

import pytest

from tests.support.test_customer_strings import ROOT, strings
from tests.test_catalogs import AMBIGUOUS, COUNT_LIKE

SOURCES = [
    "support/views/console.py",
    "support/forms_console.py",
    "support/selectors/console.py",
    "support/selectors/context.py",
    "support/services/canned.py",
    "support/services/security.py",
    "support/templatetags/support_console.py",
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "templates/console").glob("*.html")),
]
# Labels and buttons of the console whose translation depends on what they name (a noun or a verb).
CONSOLE_AMBIGUOUS = {"view", "message", "action", "reply", "filter", "insert", "send", "assign", "state", "category", "tier", "priority"}


@pytest.mark.parametrize("relative", SOURCES)
def test_console_strings_have_contexts_and_plurals(relative):
    found = list(strings(relative))
    if "translate" in (ROOT / relative).read_text() or "gettext" in (ROOT / relative).read_text():
        assert found, f"nothing extracted from {relative}"
    bare = sorted({m for m, context in found if isinstance(m, str) and m.strip().lower() in AMBIGUOUS | CONSOLE_AMBIGUOUS and not context})
    assert not bare, f"{relative}: give these a context: {bare}"
    singular = [m for m, _context in found if isinstance(m, str) and COUNT_LIKE.search(m)]
    assert not singular, f"{relative}: use ngettext / blocktranslate count for: {singular}"


def test_every_console_source_is_checked():
    assert all(Path(ROOT / relative).exists() for relative in SOURCES)
