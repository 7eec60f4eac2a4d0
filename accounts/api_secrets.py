"""Encryption at rest for API secrets (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from settings.API_SECRET_KEYS (Fernet keys, newest first) or, when none are set, one
key derived from SECRET_KEY with HKDF. MultiFernet decrypts with any key and encrypts with the
first, so keys rotate without re-issuing API keys.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derived_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"agora-api-secrets", info=b"fernet").derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    fernet_keys = [k.encode() for k in keys] or [_derived_key(secret_key)]
    return MultiFernet([Fernet(k) for k in fernet_keys])


def _current_box() -> MultiFernet:
    return _box(tuple(settings.API_SECRET_KEYS), settings.SECRET_KEY)


def secret_encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _current_box().decrypt(token.encode()).decode()
