"""`make messages` (second step): our own catalogs of django-allauth's strings, for all 35 languages.

allauth's shipped catalogs are outside our language gate (a broken placeholder, typos, one plural
form for every count, emails that fall back to English). `locale_allauth/<lang>` overrides every
string a user can meet from allauth: LOCALE_PATHS is searched before any app's catalog, so ours
always win (and `locale/` wins over `locale_allauth/` where a msgid is in both).

Which strings a user can meet is read from the installed allauth itself: the Python modules of
the apps we install (account, mfa, usersessions; not socialaccount, headless or idp) and the
templates of those apps that our `templates/` does not override. Extraction is Django's
makemessages, run on a copy of those files (it writes next to what it reads).

Each run keeps our reviewed translations, seeds a msgid new to us from allauth's own catalog for
that language (marked fuzzy, so the gate fails until someone reviews it), and drops msgids
allauth no longer has.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import allauth
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import to_locale

from config.languages import LANGUAGE_CODES, PLURAL_FORMS

ALLAUTH = Path(allauth.__file__).resolve().parent
# The allauth apps in INSTALLED_APPS whose strings users meet (socialaccount is not installed).
APPS = ["account", "mfa", "usersessions"]
# Template folders those apps render from (allauth/elements are the building blocks of every page).
TEMPLATE_DIRS = ["account", "mfa", "usersessions", "allauth"]
# Our language code -> allauth's locale directory to seed from (None: allauth ships none).
SHIPPED = {"zh-hans": "zh_Hans", "zh-hant": "zh_Hant", "pt-br": "pt_BR", "pt": "pt_PT", "es-419": "es"}


def supplement_root() -> Path:
    return Path(settings.BASE_DIR) / "locale_allauth"


def catalog_path(code: str) -> Path:
    return supplement_root() / to_locale(code) / "LC_MESSAGES" / "django.po"


def overridden_templates() -> set[str]:
    """Template names our templates/ directory provides, so allauth's copy is never rendered."""
    ours = Path(settings.BASE_DIR) / "templates"
    return {p.relative_to(ours).as_posix() for p in ours.rglob("*") if p.is_file()}


def copy_user_facing_source(target: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", "tests", "*.pyc", "locale", "migrations")
    for app in APPS:
        shutil.copytree(ALLAUTH / app, target / app, ignore=skip)
    overridden = overridden_templates()
    for folder in TEMPLATE_DIRS:
        for path in (ALLAUTH / "templates" / folder).rglob("*"):
            name = path.relative_to(ALLAUTH / "templates").as_posix()
            if path.is_file() and name not in overridden:
                (target / "templates" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / "templates" / name)


@cache
def _extracted_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy_user_facing_source(work)
        (work / "locale").mkdir()
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", "en", "-e", "html,txt,py", "--no-obsolete", "--add-location=file"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
        return (work / "locale" / "en" / "LC_MESSAGES" / "django.po").read_bytes()


def user_facing_messages() -> Catalog:
    """Every allauth msgid a user of Agora can meet (a fresh catalog, English, untranslated)."""
    import io

    return read_po(io.BytesIO(_extracted_bytes()))


def key(message) -> tuple[str, str | None]:
    return (message.id if isinstance(message.id, str) else message.id[0], message.context)


def shipped_catalog(code: str) -> Catalog | None:
    name = SHIPPED.get(code, to_locale(code))
    path = ALLAUTH / "locale" / name / "LC_MESSAGES" / "django.po"
    if not path.exists():
        return None
    with path.open("rb") as fh:
        return read_po(fh)


def plural_forms(code: str) -> str:
    from config.management.commands.catalogs_refresh import django_plural_forms

    return django_plural_forms(to_locale(code))


class Command(BaseCommand):
    help = "Create or update locale_allauth/<lang> for every non-English language from the installed allauth."

    def handle(self, *args, **options):
        from config.management.commands.catalogs_refresh import Command as Refresh

        source = user_facing_messages()
        for code in LANGUAGE_CODES:
            if code == "en":
                continue
            path = catalog_path(code)
            ours, header = {}, None
            if path.exists():
                with path.open("rb") as fh:
                    existing = read_po(fh)
                ours, header = {key(m): m for m in existing if m.id}, existing.header_comment
            # A new catalog starts from what users saw until now (allauth's, unflagged); once it is
            # ours, a string allauth adds later is seeded fuzzy, so the gate asks for its review.
            seed_fuzzy = path.exists()
            # Where locale/ has the same msgid it wins at runtime: the override says the same.
            with (Path(settings.LOCALE_PATHS[0]) / to_locale(code) / "LC_MESSAGES" / "django.po").open("rb") as fh:
                main = {key(m): m for m in read_po(fh) if m.id and _filled(m.string) and not m.fuzzy}
            shipped = shipped_catalog(code)
            theirs = {key(m): m for m in shipped if m.id} if shipped else {}
            catalog = Catalog(
                locale=to_locale(code).replace("es_419", "es"),
                project="Agora (allauth strings)",
                language_team=f"Agora {code}",
                header_comment=header or Catalog().header_comment,
                fuzzy=False,
                # Kept, so a run that changes nothing leaves the files unchanged.
                creation_date=existing.creation_date if path.exists() else None,
            )
            catalog.mime_headers = [*catalog.mime_headers, ("Plural-Forms", plural_forms(code))]
            assert catalog.num_plurals == PLURAL_FORMS[code], (code, catalog.num_plurals)
            seeded = kept = empty = 0
            for message in source:
                if not message.id:
                    continue
                k = key(message)
                mine, their = ours.get(k), theirs.get(k)
                string, fuzzy = tuple([""] * PLURAL_FORMS[code]) if message.pluralizable else "", False
                if k in main and main[k].id == message.id:
                    string, fuzzy = main[k].string, False
                    kept += 1
                elif mine is not None and mine.id == message.id and _filled(mine.string):
                    string, fuzzy = mine.string, mine.fuzzy
                    kept += 1
                elif their is not None and their.id == message.id and _filled(their.string) and not their.fuzzy:
                    string, fuzzy = _forms(their.string, PLURAL_FORMS[code]) if message.pluralizable else their.string, seed_fuzzy
                    seeded += 1
                else:
                    empty += 1
                catalog.add(
                    message.id,
                    string,
                    locations=message.locations,
                    flags={"fuzzy"} if fuzzy else set(),
                    auto_comments=message.auto_comments,
                    context=message.context,
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=100, include_previous=False)
            Refresh._set_plural_header(path, plural_forms(code), code)
            self.stdout.write(f"{code:8} kept {kept}, seeded from allauth {seeded}{' (fuzzy)' if seed_fuzzy else ''}, untranslated {empty}")
        self.stdout.write(self.style.SUCCESS(f"locale_allauth: {len(source)} strings × {len(LANGUAGE_CODES) - 1} languages."))


def _filled(string) -> bool:
    strings = string if isinstance(string, tuple) else (string,)
    return all(s.strip() for s in strings)


def _forms(strings: tuple, count: int) -> tuple:
    """A shipped plural entry padded (with empty, so the gate fails) or cut to our number of forms."""
    return tuple(list(strings[:count]) + [""] * (count - len(strings)))
