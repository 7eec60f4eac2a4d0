from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (API secrets, TOTP secrets, recovery-code seeds) with the newest "
        "FIELD_ENCRYPTION_KEYS key, so older keys can be removed. Safe to run again; prints counts and "
        "exits non-zero when a secret cannot be read with the configured keys."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-secret-key",
            action="store_true",
            help="also open API secrets encrypted before FIELD_ENCRYPTION_KEYS existed (key derived from SECRET_KEY "
            "and SECRET_KEY_FALLBACKS); run once when upgrading",
        )

    def handle(self, *args, from_secret_key: bool, **options):
        legacy = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS) if from_secret_key else ()
        counts = secrets_reencrypt(legacy_secret_keys=legacy)
        for kind, label in (("api_keys", "API secrets"), ("mfa", "MFA secrets")):
            c = counts[kind]
            self.stdout.write(f"{label}: {c['reencrypted']} re-encrypted, {c['current']} already current, {c['unreadable']} unreadable")
        unreadable = sum(c["unreadable"] for c in counts.values())
        if unreadable:
            raise CommandError(f"{unreadable} secret(s) could not be read with FIELD_ENCRYPTION_KEYS; keep the old key until they can")
