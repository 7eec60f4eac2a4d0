"""Encrypt the TOTP secrets and recovery-code seeds allauth stored in plain text before
accounts.adapter.MFAAdapter (with FIELD_ENCRYPTION_KEYS). Reversible: backwards decrypts them, for
a rollback to code without the adapter (needs the same keys)."""

from django.db import migrations


def _walk(apps, convert):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=["totp", "recovery_codes"]).order_by("pk"):
        data, changed = convert(authenticator.data)
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_plain(apps, schema_editor):
    from accounts.services import mfa_data_encrypt

    # Only plain values change here; already encrypted ones stay as they are.
    _walk(apps, lambda data: mfa_data_encrypt(data, box=lambda token: (token, False)))


def decrypt_all(apps, schema_editor):
    from accounts import encryption

    def convert(data):
        data, changed = dict(data), False
        for field in ("secret", "seed"):
            if encryption.is_encrypted(data.get(field)):
                data[field], changed = encryption.decrypt(data[field]), True
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [encryption.decrypt(c) if encryption.is_encrypted(c) else c for c in data["migrated_codes"]]
            changed = True
        return data, changed

    _walk(apps, convert)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_security_event_totp_locked"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_plain, decrypt_all)]
