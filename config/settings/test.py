"""pytest: SQLite by default, PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI)."""

from .base import *
from .base import REDIS_URL

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run in-process; they still go through the same task code and on_commit dispatch.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
EMBEDDED_DIRS = []  # the test database and broker need no folders
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    # Keep test keys apart from anything a developer runs against the same Redis.
    CACHES["default"]["KEY_PREFIX"] = "agora-test"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
SITE_URL = "http://testserver"  # fixed: `make test` exports SITE_URL for make run; tests that need another set it themselves
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
MFA_TOTP_TOLERANCE = 1  # the browser test signs in with the next code after activating with the current one
# Orders are matched in the test's own process right after they commit (the engine's embedded
# mode); the engine process and its failover are tested on their own.
ENGINE_INLINE = True
