"""One term per concept per language (docs/glossary.toml, explained in docs/glossary.md)."""

import re
import tomllib
from pathlib import Path

import pytest

from config.languages import LANGUAGE_CODES
from tests.test_catalogs import DOMAINS, entries, load

GLOSSARY = tomllib.loads((Path(__file__).resolve().parent.parent / "docs" / "glossary.toml").read_text(encoding="utf-8"))
CASES = [(concept, code) for concept, spec in GLOSSARY.items() for code in spec if code != "en"]


def test_glossary_names_real_languages():
    assert {code for _concept, code in CASES} <= set(LANGUAGE_CODES)


@pytest.mark.parametrize(("concept", "code"), CASES, ids=[f"{c}-{code}" for c, code in CASES])
def test_one_term_per_concept(concept, code):
    spec = GLOSSARY[concept]
    source, rule = re.compile(spec["en"], re.IGNORECASE), spec[code]
    forbidden = [re.compile(re.escape(word), re.IGNORECASE) for word in rule.get("forbid", [])]
    if "forbid_pattern" in rule:
        forbidden.append(re.compile(rule["forbid_pattern"]))
    checked, problems = 0, []
    for domain in DOMAINS:
        for _message, ids, strings in entries(load(code, domain)):
            if not any(source.search(text) for text in ids):
                continue
            checked += 1
            for text in strings:
                if rule["term"].lower() not in text.lower():
                    problems.append(f"{ids[0]!r}: {text!r} lacks {rule['term']!r}")
                problems += [f"{ids[0]!r}: {text!r} uses {p.pattern!r}" for p in forbidden if p.search(text)]
    assert checked, f"no entry matches {spec['en']!r}: the glossary entry is stale"
    assert not problems, "\n".join(problems)
