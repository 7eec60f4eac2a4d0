"""`make messages`: extract every UI, email and JavaScript string into all 36 catalogs, with the
plural rules Django itself uses for each language, and the English catalog filled from source."""

from pathlib import Path

import django
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import to_locale

from config.languages import LANGUAGE_CODES

IGNORE = [".venv/*", "staticfiles/*", "tests/*", "var/*", "node_modules/*", "docs/*"]
DOMAINS = ["django", "djangojs"]
# Django ships no catalog for these; take the plural rule of the nearest one.
PLURAL_SOURCE = {"es_419": "es"}


def catalog_path(code: str, domain: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / to_locale(code) / "LC_MESSAGES" / f"{domain}.po"


def django_plural_forms(locale: str) -> str:
    import gettext

    source = Path(django.__file__).parent / "conf" / "locale" / PLURAL_SOURCE.get(locale, locale) / "LC_MESSAGES" / "django.mo"
    with source.open("rb") as fh:
        info = gettext.GNUTranslations(fh).info()
    return " ".join(info.get("plural-forms", "nplurals=2; plural=(n != 1);").split())


class Command(BaseCommand):
    help = "Refresh locale/ catalogs from the source (both domains, all languages)."

    def handle(self, *args, **options):
        locales = [to_locale(code) for code in LANGUAGE_CODES]
        for domain in DOMAINS:
            extra = {"extensions": ["html", "txt", "py"]} if domain == "django" else {}
            call_command(
                "makemessages",
                locale=locales,
                domain=domain,
                ignore_patterns=IGNORE,
                no_obsolete=True,
                add_location="file",
                verbosity=0,
                **extra,
            )
        for code in LANGUAGE_CODES:
            locale = to_locale(code)
            plural = django_plural_forms(locale)
            for domain in DOMAINS:
                path = catalog_path(code, domain)
                with path.open("rb") as fh:
                    catalog = read_po(fh, locale=locale.replace("es_419", "es"))
                catalog.project, catalog.language_team = "Agora", f"Agora {code}"
                for message in catalog:
                    # "#| msgid" (the old source of a fuzzy guess) comes back from Babel as a user comment.
                    previous = [c for c in message.user_comments if c.startswith("| ")]
                    if previous:
                        message.user_comments = [c for c in message.user_comments if not c.startswith("| ")]
                        if code == "en":
                            message.flags.add("fuzzy")
                if code == "en":
                    for message in catalog:
                        # English is the source: a fuzzy entry holds makemessages' guess from a similar old string.
                        stale = (
                            "fuzzy" in message.flags
                            or not message.string
                            or (isinstance(message.string, tuple) and not all(message.string))
                        )
                        if message.id and stale:
                            message.string = message.id
                        message.flags.discard("fuzzy")
                with path.open("wb") as fh:
                    write_po(fh, catalog, width=100, include_previous=False)
                self._set_plural_header(path, plural, code)
        self.stdout.write(self.style.SUCCESS(f"{len(LANGUAGE_CODES)} languages × {len(DOMAINS)} domains refreshed."))

    @staticmethod
    def _set_plural_header(path: Path, plural: str, code: str) -> None:
        """Replace Language and Plural-Forms in the header (write_po may wrap or drop them)."""
        lines = path.read_text(encoding="utf-8").splitlines()
        out, in_header, skipping = [], True, False
        for line in lines:
            if in_header and line == "" and any(kept.startswith("msgid") for kept in out):
                in_header = False
            if in_header:
                if line.startswith("#, fuzzy"):
                    continue
                if line.startswith(('"Plural-Forms:', '"Language:')):
                    skipping = True  # also drops the wrapped tail of a long value
                    continue
                if skipping and line.startswith('"') and not line.split(":", 1)[0][1:].replace("-", "").isalpha():
                    continue
                skipping = False
            out.append(line)
            if in_header and line.startswith('"Content-Transfer-Encoding:'):
                out.append(f'"Language: {to_locale(code)}\\n"')
                out.append(f'"Plural-Forms: {plural}\\n"')
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
