"""Production: every secret from the environment, HTTPS everywhere. Passes `check --deploy`.

Refuses to start (ImproperlyConfigured) without PostgreSQL, Redis, the encryption keys, the public
https SITE_URL or the trusted-proxy setting: the embedded fallbacks (SQLite, the file broker, the
public development key, 127.0.0.1, REMOTE_ADDR as the client) are for development.
"""

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from accounts.encryption import keys_check

from .base import *
from .base import ALLAUTH_TRUSTED_CLIENT_IP_HEADER, ALLAUTH_TRUSTED_PROXY_COUNT, DATABASES, DEV_FIELD_ENCRYPTION_KEY, env


def _required(name: str, what: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: production needs {what}.")
    return value


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_required("DATABASE_URL", "PostgreSQL (DATABASE_URL=postgres://user:password@host:5432/agora), never SQLite")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production: SQLite is the development mode")
_required("REDIS_URL", "Redis for Celery, the cache and the channel layer (REDIS_URL=redis://host:6379/0), never the file broker")
_required("FIELD_ENCRYPTION_KEYS", "the Fernet keys that encrypt API and TOTP secrets, newest first (comma-separated)")
FIELD_ENCRYPTION_KEYS = keys_check(env.list("FIELD_ENCRYPTION_KEYS"))
if DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds the public development key: generate your own (docs/deployment.md)")

if ALLAUTH_TRUSTED_PROXY_COUNT < 1 and not ALLAUTH_TRUSTED_CLIENT_IP_HEADER:
    raise ImproperlyConfigured(
        "ALLAUTH_TRUSTED_PROXY_COUNT (the number of reverse proxies in front of Agora) or ALLAUTH_TRUSTED_CLIENT_IP_HEADER"
        " (the header your proxy puts the client's IP in) is not set: behind a proxy every request would have the proxy's IP,"
        " and the per-IP limits would become one limit for the whole exchange"
    )
SITE_URL = _required("SITE_URL", "the public https address of the site for links in emails (SITE_URL=https://agora.example)").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme != "https" or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an https:// address in production, not {SITE_URL!r}")
if _site.hostname == "localhost" or _site.hostname.endswith(".localhost") or _is_loopback(_site.hostname):
    raise ImproperlyConfigured(f"SITE_URL must be the public address, not a loopback host ({_site.hostname})")

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_AGE = 12 * 3600
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
IS_PRODUCTION = True
