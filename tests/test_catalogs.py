"""The language gate: every catalog compiles and is complete, faithful and really translated.

Fails on: a catalog that does not compile, an untranslated or fuzzy entry, an empty plural form,
a wrong number of plural forms, a placeholder or HTML tag that differs from the source, or a
sentence left in English. Prints each language's share of entries identical to the source.
"""

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from config.languages import LANGUAGE_CODES, PLURAL_FORMS

LOCALE = Path(__file__).resolve().parent.parent / "locale"
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")
WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def to_locale(code: str) -> str:
    from django.utils.translation import to_locale as django_to_locale

    return django_to_locale(code)


def catalog_file(code: str, domain: str) -> Path:
    return LOCALE / to_locale(code) / "LC_MESSAGES" / f"{domain}.po"


def load(code: str, domain: str, root: Path = LOCALE):
    with (root / to_locale(code) / "LC_MESSAGES" / f"{domain}.po").open("rb") as fh:
        return read_po(fh)


def entries(catalog):
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        yield message, ids, strings


def is_sentence(text: str) -> bool:
    """Three or more words: a brand name or a symbol may stay as it is, a sentence may not."""
    return len(WORD.findall(TAG.sub(" ", PLACEHOLDER.sub(" ", text)))) >= 3


CASES = [(code, domain) for code in LANGUAGE_CODES for domain in DOMAINS]
# django-allauth's own strings are under the same gate in tests/test_catalogs_allauth.py.


@pytest.mark.parametrize(("code", "domain"), CASES, ids=[f"{c}-{d}" for c, d in CASES])
def test_catalog_compiles(code, domain):
    path = catalog_file(code, domain)
    assert path.exists(), f"{path} is missing: run `make messages`"
    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("code", "domain"), CASES, ids=[f"{c}-{d}" for c, d in CASES])
def test_catalog_complete_and_faithful(code, domain):
    check_catalog(code, domain, LOCALE)


def check_catalog(code: str, domain: str, root: Path) -> None:
    catalog = load(code, domain, root)
    problems = []
    expected_plurals = PLURAL_FORMS[code]
    assert catalog.num_plurals == expected_plurals, f"{code}: {catalog.num_plurals} plural forms, expected {expected_plurals}"
    for message, ids, strings in entries(catalog):
        where = f"{code}/{domain}: {ids[0]!r}"
        if message.fuzzy:
            problems.append(f"{where} is fuzzy")
        if message.pluralizable and len(strings) != expected_plurals:
            problems.append(f"{where} has {len(strings)} plural forms, expected {expected_plurals}")
        if not all(s.strip() for s in strings):
            problems.append(f"{where} is untranslated or has an empty plural form")
            continue
        # A singular form may use the singular source's placeholders, any form the plural's.
        allowed = {tuple(sorted(Counter(PLACEHOLDER.findall(source)).items())) for source in ids}
        source_tags = Counter(TAG.findall(ids[-1]))
        plural_source = tuple(sorted(Counter(PLACEHOLDER.findall(ids[-1])).items()))
        for text in strings:
            found = PLACEHOLDER.findall(text)
            if message.pluralizable and code != "en" and tuple(sorted(Counter(found).items())) != plural_source:
                # Form 0 also serves 21, 31... in Slavic and Baltic languages: every form keeps every number.
                problems.append(f"{where}: a plural form {text!r} lacks placeholders of {ids[-1]!r}")
            elif tuple(sorted(Counter(found).items())) not in allowed:
                problems.append(f"{where}: placeholders {sorted(found)} differ from the source")
            if Counter(TAG.findall(text)) != source_tags:
                problems.append(f"{where}: HTML tags {sorted(TAG.findall(text))} differ from the source")
        if code != "en" and strings[0] == ids[0] and is_sentence(ids[0]):
            problems.append(f"{where} is left in English")
    assert not problems, "\n".join(problems)


def test_identical_share_report(capsys):
    """Prints, per language, the share of entries identical to the English source."""
    lines = []
    for code in LANGUAGE_CODES:
        if code == "en":
            continue
        total = same = 0
        for domain in DOMAINS:
            for _message, ids, strings in entries(load(code, domain)):
                total += 1
                same += strings[0] == ids[0]
        share = same / total if total else 0.0
        lines.append(f"{code:8} {same:4}/{total:<4} identical to source ({share:.1%})")
        assert share < 0.10, f"{code}: {share:.1%} of entries are identical to the English source"
    with capsys.disabled():
        print("\nCatalog gate: share of entries identical to the source\n" + "\n".join(lines))


# Short words whose translation depends on what they name: each use carries a context
# (`pgettext`, `{% translate "X" context "..." %}`), so "Market" the trading pair and "Market" the
# order type can be translated differently. Keep adding words here as they appear.
AMBIGUOUS = {
    "market",
    "limit",
    "buy",
    "sell",
    "open",
    "closed",
    "change",
    "trade",
    "deposit",
    "withdraw",
    "withdrawal",
    "read",
    "on",
    "off",
    "transfer",
    "from",
    "to",
    "cancel",
    "cancelled",
    "rejected",
    "expired",
    "filled",
    "accepted",
    "pending",
    "completed",
    "processing",
    "sending",
    "submitted",
    "credited",
    "recovered",
    "seen",
    "confirming",
    "compensation",
    "refund",
    "airdrop",
    "fork",
    "distribution",
    "adjustment",
    "regular",
    "fee",
    "amount",
    "price",
    "total",
    "type",
    "side",
    "status",
    "available",
    "suspended",
    "trading",
    "halted",
    "break",
    "revoked",
}
# A number in a sentence needs the language's plural forms (ngettext, {% blocktranslate count %}).
COUNT_LIKE = re.compile(r"%\((count|n|places|number|days|hours|minutes|seconds|required)\)[sd]")


def test_short_ambiguous_words_have_a_context():
    bare = sorted(
        ids[0]
        for domain in DOMAINS
        for message, ids, _strings in entries(load("en", domain))
        if ids[0].strip().lower() in AMBIGUOUS and not message.context
    )
    assert not bare, f"give these a context (pgettext / translate ... context): {bare}"


def test_sentences_with_a_count_are_plural_entries():
    singular_only = sorted(
        ids[0]
        for domain in DOMAINS
        for message, ids, _strings in entries(load("en", domain))
        if not message.pluralizable and COUNT_LIKE.search(ids[0])
    )
    assert not singular_only, f"use ngettext / blocktranslate count for: {singular_only}"
