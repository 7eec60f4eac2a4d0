"""Encrypt the TOTP secrets and recovery-code seeds allauth stored in plain text before
accounts.adapter.MFAAdapter (with FIELD_ENCRYPTION_KEYS). Reversible: backwards decrypts them, for
a rollback to code without the adapter (needs the same keys).

Self-contained on purpose: a historical migration must not import application code
(accounts.services, accounts.encryption), which may change or go away after it has run."""

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations

TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so; base32 secrets and hex seeds never contain "g"


def _box() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def _is_encrypted(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def _walk(apps, convert):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=["totp", "recovery_codes"]).order_by("pk"):
        data, changed = convert(authenticator.data)
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def _convert(data, one, wanted):
    data, changed = dict(data), False
    for field in ("secret", "seed"):
        if isinstance(data.get(field), str) and wanted(data[field]):
            data[field], changed = one(data[field]), True
    if isinstance(data.get("migrated_codes"), list) and any(wanted(c) for c in data["migrated_codes"] if isinstance(c, str)):
        data["migrated_codes"] = [one(c) if isinstance(c, str) and wanted(c) else c for c in data["migrated_codes"]]
        changed = True
    return data, changed


def encrypt_plain(apps, schema_editor):
    box = _box()

    # Only plain values change here; already encrypted ones stay as they are.
    _walk(apps, lambda data: _convert(data, lambda v: box.encrypt(v.encode()).decode(), lambda v: not _is_encrypted(v)))


def decrypt_all(apps, schema_editor):
    box = _box()
    _walk(apps, lambda data: _convert(data, lambda v: box.decrypt(v.encode()).decode(), _is_encrypted))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_security_event_totp_locked"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_plain, decrypt_all)]
