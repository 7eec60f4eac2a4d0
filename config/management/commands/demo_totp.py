"""Print the current authenticator code of a demo user (development only): only for an
authenticator on seed_demo's published secret, so it can never reveal a real user's code."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from config.management.commands.seed_demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current two-factor code of a demo user whose authenticator seed_demo set up (development only)."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", default="alice@demo.test")

    def handle(self, *args, email, **options):
        from allauth.mfa import app_settings
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
        from allauth.mfa.utils import decrypt

        if settings.IS_PRODUCTION:
            raise CommandError("demo_totp refuses to run with production settings.")
        user = User.objects.filter(email__iexact=email).first()
        authenticator = user and Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if authenticator is None or decrypt(authenticator.data["secret"]) != DEMO_TOTP_SECRET:
            raise CommandError(f"{email} has no authenticator on the demo secret (run manage.py seed_demo first).")
        now = int(time.time())
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, now // app_settings.TOTP_PERIOD))
        left = app_settings.TOTP_PERIOD - now % app_settings.TOTP_PERIOD
        self.stdout.write(code)
        self.stderr.write(f"valid for {left} more seconds; each code is accepted once, so a second step needs the next one")
