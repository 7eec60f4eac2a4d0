"""Secrets at rest: their own keys (FIELD_ENCRYPTION_KEYS), rotation, re-encryption, MFA secrets."""

import importlib
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts import encryption, selectors, services
from accounts.models import ApiKey
from tests.conftest import totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def make_key(user, label="bot"):
    return services.api_key_create(user=user, label=label, totp_waived_by_operator=True)


def test_rotating_secret_key_leaves_api_secrets_readable(user, settings):
    api_key, secret = make_key(user)
    old_secret_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-completely-new-secret-key-0123456789-abcdefghijklmnopqrstuv"
    settings.SECRET_KEY_FALLBACKS = [old_secret_key]
    assert selectors.api_key_secret(api_key=ApiKey.objects.get(pk=api_key.pk)) == secret


def test_new_key_first_reads_old_then_reencrypt_moves_everything(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    users = [UserFactory() for _ in range(3)]
    made = [make_key(u) for u in users]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    totp_secret = generate_totp_secret()
    TOTP.activate(users[0], totp_secret)

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    for api_key, secret in made:
        assert selectors.api_key_secret(api_key=ApiKey.objects.get(pk=api_key.pk)) == secret  # old ciphertexts still open
    out = StringIO()
    call_command("secrets_reencrypt", stdout=out)
    assert out.getvalue().splitlines() == [
        "API secrets: 3 re-encrypted, 0 already current, 0 unreadable",
        "MFA secrets: 1 re-encrypted, 0 already current, 0 unreadable",
    ]
    out = StringIO()
    call_command("secrets_reencrypt", stdout=out)  # idempotent
    assert out.getvalue().splitlines() == [
        "API secrets: 0 re-encrypted, 3 already current, 0 unreadable",
        "MFA secrets: 0 re-encrypted, 1 already current, 0 unreadable",
    ]
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key is removed
    for api_key, secret in made:
        assert selectors.api_key_secret(api_key=ApiKey.objects.get(pk=api_key.pk)) == secret
    services.totp_verify(user=users[0], code=totp_code(totp_secret), ip=None, purpose="test")


def test_removing_a_key_too_early_is_reported(user, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    make_key(user)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    out = StringIO()
    with pytest.raises(CommandError, match="1 secret"):
        call_command("secrets_reencrypt", stdout=out)
    assert "API secrets: 0 re-encrypted, 0 already current, 1 unreadable" in out.getvalue()


def test_upgrade_from_the_secret_key_derived_key(user, settings):
    legacy = Fernet(encryption.legacy_key_from_secret_key(settings.SECRET_KEY))
    api_key, secret = make_key(user)
    ApiKey.objects.filter(pk=api_key.pk).update(secret_encrypted=legacy.encrypt(secret.encode()).decode())
    with pytest.raises(CommandError):
        call_command("secrets_reencrypt", stdout=StringIO())
    out = StringIO()
    call_command("secrets_reencrypt", "--from-secret-key", stdout=out)
    assert "API secrets: 1 re-encrypted, 0 already current, 0 unreadable" in out.getvalue()
    assert selectors.api_key_secret(api_key=ApiKey.objects.get(pk=api_key.pk)) == secret


def test_a_bad_key_setting_says_which(settings):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        encryption.keys_check([NEW, "not-a-key"])
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is empty"):
        encryption.keys_check([])


class TestTotpSecrets:
    def test_database_row_holds_no_plain_secret(self, totp_user):
        from allauth.mfa.models import Authenticator
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

        user, secret = totp_user
        row = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        assert row.data["secret"] != secret and row.data["secret"].startswith("gAAAAA")
        assert secret not in str(row.data)
        assert encryption.decrypt(row.data["secret"]) == secret
        codes = RecoveryCodes.activate(user)
        seed_row = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
        assert seed_row.data["seed"].startswith("gAAAAA")
        assert RecoveryCodes(seed_row).validate_code(codes.generate_codes()[0])

    def test_login_with_totp_works(self, client, totp_user):
        user, secret = totp_user
        response = client.post("/en/auth/login/", {"login": user.email, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/en/auth/2fa/authenticate/"
        response = client.post("/en/auth/2fa/authenticate/", {"code": totp_code(secret)})
        assert response.status_code == 302 and response["Location"] == "/en/account/security/"
        assert client.get("/en/account/security/").status_code == 200

    def test_migration_imports_no_application_code(self):
        """A later change to accounts.services or accounts.encryption must not break the historical
        migration: it imports only Django and cryptography."""
        import ast
        from pathlib import Path

        source = Path(importlib.import_module("accounts.migrations.0005_mfa_secrets_encrypted").__file__).read_text()
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
        assert imported == {"cryptography.fernet", "django.conf", "django.db"}

    def test_migration_encrypts_plain_secrets(self, user):
        from allauth.mfa.models import Authenticator
        from django.apps import apps

        migration = importlib.import_module("accounts.migrations.0005_mfa_secrets_encrypted")
        plain = Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
        seed = Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "ab12" * 20, "used_mask": 0})
        migration.encrypt_plain(apps, None)
        plain.refresh_from_db()
        seed.refresh_from_db()
        assert plain.data["secret"].startswith("gAAAAA") and encryption.decrypt(plain.data["secret"]) == "JBSWY3DPEHPK3PXP"
        assert encryption.decrypt(seed.data["seed"]) == "ab12" * 20 and seed.data["used_mask"] == 0
        before = dict(plain.data)
        migration.encrypt_plain(apps, None)  # a second run leaves encrypted values alone
        plain.refresh_from_db()
        assert plain.data == before
        migration.decrypt_all(apps, None)
        plain.refresh_from_db()
        assert plain.data == {"secret": "JBSWY3DPEHPK3PXP"}
