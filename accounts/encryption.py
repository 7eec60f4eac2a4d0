"""Encryption at rest for secrets we must read back: API secrets (HMAC checks) and the TOTP and
recovery-code secrets of allauth's MFA (through accounts.adapter.MFAAdapter).

Fernet (AES-128-CBC + HMAC-SHA256) with keys from settings.FIELD_ENCRYPTION_KEYS, newest first:
MultiFernet encrypts with the first and decrypts with any, so a key rotates by prepending a new
one, running `manage.py secrets_reencrypt`, then removing the old one. The keys are their own
setting, never derived from SECRET_KEY, so rotating SECRET_KEY leaves every secret readable.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "is_encrypted", "keys_check", "legacy_key_from_secret_key", "reencrypt"]

# Every Fernet token starts with its version byte 0x80, "gAAAAA" in base64; base32 TOTP secrets
# and hex recovery seeds never contain a lower-case g.
TOKEN_PREFIX = "gAAAAA"


def keys_check(keys) -> list[str]:
    """The keys as given, or ImproperlyConfigured saying which one is not a Fernet key."""
    keys = [k.strip() for k in keys if k and k.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys, newest first "
            "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)")
    return keys


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys_check(keys)])


def _current_box() -> MultiFernet:
    return _box(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; InvalidToken when no configured key opened it (a key removed too early)."""
    return _current_box().decrypt(token.encode()).decode()


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def reencrypt(token: str, *, extra_keys: tuple[bytes, ...] = ()) -> tuple[str, bool]:
    """(token under the newest key, whether it changed). `extra_keys` are decrypt-only keys (the
    legacy SECRET_KEY-derived key while upgrading)."""
    keys = keys_check(settings.FIELD_ENCRYPTION_KEYS)
    newest = Fernet(keys[0].encode())
    try:
        newest.decrypt(token.encode())
        return token, False
    except InvalidToken:
        pass
    box = MultiFernet([newest, *(Fernet(k.encode()) for k in keys[1:]), *(Fernet(k) for k in extra_keys)])
    return box.rotate(token.encode()).decode(), True


def legacy_key_from_secret_key(secret_key: str) -> bytes:
    """The key API secrets were encrypted with before FIELD_ENCRYPTION_KEYS (HKDF of SECRET_KEY);
    only `secrets_reencrypt --from-secret-key` uses it, to move old rows to the new keys."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"agora-api-secrets", info=b"fernet").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)
