"""Demo data for development: traders, one support agent per support language, a supervisor and
an operator, all with one development-only password. Idempotent; refuses production settings."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from accounts.services import role_assign
from config.languages import LANGUAGE_CODES, SUPPORT_LANGUAGES

DEMO_PASSWORD = "agora-demo-2026"

# Support queue -> UI language the agent reads the console in.
_AGENT_UI_LANGUAGE = {"zh": "zh-hans", "pt": "pt-br"}

ANNOUNCEMENTS = [
    (
        gettext_noop("Welcome to Agora"),
        gettext_noop("Sign up, secure your account with two-factor authentication and passkeys, and set your anti-phishing code before you deposit."),
    ),
    (
        gettext_noop("Support in your language"),
        gettext_noop("Our support team answers in 14 languages. Priority tickets get a first reply within one hour."),
    ),
]


class Command(BaseCommand):
    help = "Create the demo users and content (development only; safe to run again)."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo refuses to run with production settings.")
        with transaction.atomic():
            people = self._users()
            self._announcements()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Every demo login uses the password: " + DEMO_PASSWORD))
        width = max(len(email) for email, _role in people)
        for email, role in people:
            self.stdout.write(f"  {email.ljust(width)}  {role}")

    def _user(self, email: str, role: str, language: str = "en", **extra) -> tuple[str, str]:
        from allauth.account.models import EmailAddress

        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, language=language, **extra)
        role_assign(user=user, role=role)
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return email, role

    def _users(self) -> list[tuple[str, str]]:
        people = [
            self._user("alice@demo.test", "trader", first_name="Alice", anti_phishing_code="ALICE2026"),
            self._user("bob@demo.test", "trader", language="de", first_name="Bob"),
        ]
        for queue in SUPPORT_LANGUAGES:
            people.append(self._user(f"agent-{queue}@demo.test", "support_agent", language=_AGENT_UI_LANGUAGE.get(queue, queue)))
        people.append(self._user("supervisor@demo.test", "supervisor"))
        people.append(self._user("operator@demo.test", "operator"))
        return people

    def _announcements(self) -> None:
        from support.models import Announcement

        for title, body in ANNOUNCEMENTS:
            translated = {}
            for code in LANGUAGE_CODES:
                suffix = code.replace("-", "_")
                with translation.override(code):
                    translated[f"title_{suffix}"] = gettext(title)
                    translated[f"body_{suffix}"] = gettext(body)
            # Attribute by attribute: the Indonesian columns end in "_id", which update_or_create's
            # defaults would mistake for foreign keys.
            item = Announcement.objects.filter(title_en=title).first() or Announcement()
            for field, value in translated.items():
                setattr(item, field, value)
            item.save()
