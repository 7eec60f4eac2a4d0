"""The catalogs hold every string the source has: a string added to the code or a template
without `make messages` would reach users in English while the catalog gate stayed green.

Extraction runs on a copy of the source (makemessages writes into the locale directory next to
the files it reads, so running it here would rewrite the real catalogs)."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_catalogs import DOMAINS, load

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    "locale",
    "locale_allauth",
    "var",
    "node_modules",
    "staticfiles",
    "__pycache__",
    "*.mo",
    ".pytest_cache",
    ".hypothesis",
    "test-results",
    "docs",
)
EXTRACT = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
import django
django.setup()
from django.core.management import call_command
from config.management.commands.catalogs_refresh import IGNORE
call_command("makemessages", locale=["en"], domain="django", extensions=["html", "txt", "py"], ignore_patterns=IGNORE,
             no_obsolete=True, verbosity=0)
call_command("makemessages", locale=["en"], domain="djangojs", ignore_patterns=IGNORE, no_obsolete=True, verbosity=0)
"""


def keys(catalog) -> set[tuple[str, str | None]]:
    return {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}


def test_every_source_string_is_in_the_catalogs(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP, symlinks=True)
    (source / "locale").mkdir()
    (source / "locale_allauth").mkdir()
    subprocess.run([sys.executable, "-c", EXTRACT], cwd=source, check=True, capture_output=True, text=True)
    for domain in DOMAINS:
        extracted, ours = keys(load("en", domain, source / "locale")), keys(load("en", domain))
        missing = sorted(extracted - ours, key=str)
        stale = sorted(ours - extracted, key=str)
        assert not missing, f"{domain}: {len(missing)} source strings are in no catalog (run `make messages`): {missing[:10]}"
        assert not stale, f"{domain}: {len(stale)} catalog entries no longer in the source (run `make messages`): {stale[:10]}"
