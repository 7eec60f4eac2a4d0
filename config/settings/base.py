"""Settings shared by every environment; everything that differs is read from the environment.

Embedded default (no variables set): SQLite in WAL mode, a file-system Celery broker, an
in-memory channel layer and a file cache, so `make run` needs no servers. `DATABASE_URL`
switches to PostgreSQL; `REDIS_URL` makes Redis the Celery broker, the channel layer and the cache.
"""

import os
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.languages import LANGUAGE_CODES, UI_LANGUAGES

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form gets a translated page (templates/errors/csrf.html), not Django's English one.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

INSTALLED_APPS = [
    "daphne",
    "modeltranslation",  # before admin, so translated fields show there
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "auditlog",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "config",
    "accounts",
    "wallets",
    "exchange",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before the locale middleware: an unprefixed URL is redirected by the signed-in user's saved
    # language first (request.user is lazy, so this costs nothing on prefixed URLs).
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.locale.AgoraLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.FrozenAccountMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "accounts.middleware.DeviceCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.agora",
            ],
            "builtins": ["config.templatetags.agora"],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
# SQLite: WAL so readers never block the writer, IMMEDIATE transactions so two writers queue on
# the busy timeout instead of failing with "database is locked" on lock upgrade.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'agora.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, channel layer ------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    # A file cache is shared by the web, worker and beat processes of `make run`.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}
    # The file-system transport needs no server: each message is a file in var/celery/.
    # (A host part, though unused: without one kombu warns "No hostname was supplied" on every connect.)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Folders the embedded mode writes to. Importing settings creates nothing: config.apps creates
# these when Django starts (manage.py, daphne, the worker), see config/embedded.py.
EMBEDDED_DIRS = [VAR_DIR] if EMBEDDED else []
if not REDIS_URL:
    EMBEDDED_DIRS += [VAR_DIR / "celery" / "queue", VAR_DIR / "celery" / "control"]

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CHAIN_BLOCK_SECONDS = env.float("CHAIN_BLOCK_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "config.tasks.worker_heartbeat", "schedule": 15.0},
    # The simulated chains mine a block and every chain is scanned (deposits, confirmations).
    "chain-tick": {"task": "wallets.tasks.chain_tick", "schedule": CHAIN_BLOCK_SECONDS},
    "withdrawals-broadcast-pending": {"task": "wallets.tasks.withdrawals_broadcast_pending", "schedule": 60.0},
    "holdings-snapshot": {"task": "wallets.tasks.holdings_snapshot_task", "schedule": crontab(minute=0, hour=0)},
    "reconciliation": {"task": "wallets.tasks.reconciliation_task", "schedule": crontab(minute=15, hour="*/6")},
    "fee-tiers": {"task": "exchange.tasks.fee_tiers_recompute_task", "schedule": crontab(minute=10, hour=0)},
    "totp-counters-prune": {"task": "accounts.tasks.totp_counters_prune_task", "schedule": crontab(minute=40)},
    # Support desk: waiting tickets are routed (and fall back to English) every 30 s; calendars get
    # next year's public holidays monthly (idempotent), so a new year never starts without them.
    "support-route-pending": {"task": "support.routing_tasks.tickets_route_pending_task", "schedule": 30.0},
    "support-holidays-extend": {
        "task": "support.routing_tasks.calendars_holidays_extend_task",
        "schedule": crontab(minute=20, hour=3, day_of_month=1),
    },
}
# /healthz answers everyone with only {"status": ...}; staff, and requests with this token in the
# X-Healthz-Token header (monitoring), get every check's detail. Empty: staff only.
HEALTHZ_TOKEN = env("HEALTHZ_TOKEN", default="")
# /healthz calls a worker dead when its last heartbeat is older than this.
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=60)

# --- Auth and accounts -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:security"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Agora] "
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_ADAPTER = "accounts.adapter.MFAAdapter"  # TOTP secrets encrypted at rest
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Agora"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=False)
USERSESSIONS_TRACK_ACTIVITY = True
# The client's IP (login history, rate limits, the TOTP attempt limit per IP) comes from allauth's
# get_client_ip: REMOTE_ADDR unless one of these says which proxy header to trust. Behind a reverse
# proxy REMOTE_ADDR is the proxy for everyone, so production requires one of them.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("ALLAUTH_TRUSTED_CLIENT_IP_HEADER", default="").strip() or None

# Secrets we must read back (API secrets for HMAC checks, TOTP and recovery-code secrets) are
# encrypted with these Fernet keys, newest first: the first encrypts, all decrypt
# (accounts/encryption.py; rotate with `manage.py secrets_reencrypt`, docs/deployment.md). They are
# their own setting, never derived from SECRET_KEY. Production requires them; the default is a
# fixed development key, public in this file, for development and tests only.
DEV_FIELD_ENCRYPTION_KEY = "iW5n8WTFSvWRTQ0Xs7mm7-j0iKno2OYg3IeGCKczYuM="
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[DEV_FIELD_ENCRYPTION_KEY])
# TOTP codes the product checks itself (API-key creation, withdrawals; allauth's login has its own
# limits): this many wrong codes lock those checks for the user, or for the IP across users, for
# TOTP_LOCKOUT_SECONDS, and each lock-out is a security event. The right code is refused while locked.
TOTP_FAILURES_PER_USER = env.int("TOTP_FAILURES_PER_USER", default=5)
TOTP_FAILURES_PER_IP = env.int("TOTP_FAILURES_PER_IP", default=20)
TOTP_LOCKOUT_SECONDS = env.int("TOTP_LOCKOUT_SECONDS", default=15 * 60)
# A self-service freeze link in an email stays valid this long (and only until the account is
# next frozen): a week covers reading mail late; a longer life only helps a thief holding old mail.
FREEZE_LINK_MAX_AGE = 7 * 24 * 3600
# Withdrawals are locked this long after a password, email or MFA change.
SECURITY_WITHDRAWAL_LOCK_HOURS = 24

# --- Exchange ----------------------------------------------------------------------------------------
# True: an accepted order is matched in the process that accepted it (tests). False: the engine
# process (`manage.py run_engine`, started by `make run`) applies it.
ENGINE_INLINE = env.bool("ENGINE_INLINE", default=False)
# Users who choose to pay trading fees in the platform token (Asset.is_platform_token) pay this
# much less, valued at the last USDT prices, while they hold enough of it.
FEE_TOKEN_DISCOUNT_PERCENT = env("FEE_TOKEN_DISCOUNT_PERCENT", default="25")
if not 0 <= Decimal(FEE_TOKEN_DISCOUNT_PERCENT) < 100:
    raise ImproperlyConfigured("FEE_TOKEN_DISCOUNT_PERCENT must be at least 0 and below 100")
# Valuations in USDT (estimates, fee tiers, fees paid in the platform token) use the last hour's
# volume-weighted price, kept within this much of the asset's reference price (operators keep
# reference prices current), so trading with oneself at an absurd price cannot move them far.
PRICE_REFERENCE_BAND_PERCENT = env("PRICE_REFERENCE_BAND_PERCENT", default="20")

# --- Wallets -----------------------------------------------------------------------------------------
# Chain code -> adapter class; "*" is the default. A real node is configured per chain, e.g.
# CHAIN_ADAPTERS='{"*": "wallets.chains.simulated.SimulatedChain", "BTC": "myorg.chains.BitcoinRpc"}'.
CHAIN_ADAPTERS = env.json("CHAIN_ADAPTERS", default={"*": "wallets.chains.simulated.SimulatedChain"})
# A new address-book entry can be used for withdrawals after this many hours.
WITHDRAWAL_ADDRESS_COOLING_HOURS = env.int("WITHDRAWAL_ADDRESS_COOLING_HOURS", default=24)
# Fund recovery costs this share of the recovered amount (rounded up to the asset's precision).
FUND_RECOVERY_FEE_PERCENT = env("FUND_RECOVERY_FEE_PERCENT", default="5")

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [(code, name) for code, name, _plurals in UI_LANGUAGES]
LANGUAGES_BIDI = ["ar", "ur"]
# Our catalogs first; then our reviewed catalogs of django-allauth's strings (all 35 languages,
# `manage.py catalogs_allauth`). LOCALE_PATHS beat every app's catalog, so allauth's never show.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_allauth"]
LANGUAGE_COOKIE_NAME = "agora_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# A constant, not derived: changing it generates migrations (one column per language per field).
MODELTRANSLATION_LANGUAGES = (
    "en",
    "zh-hans",
    "zh-hant",
    "ja",
    "ko",
    "ru",
    "uk",
    "es",
    "es-419",
    "pt-br",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "pl",
    "cs",
    "sk",
    "ro",
    "hu",
    "bg",
    "el",
    "sv",
    "da",
    "lv",
    "lt",
    "sl",
    "tr",
    "ar",
    "vi",
    "id",
    "th",
    "ms",
    "kk",
    "az",
    "ur",
)
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = {
    "default": ("en",),
    "es-419": ("es", "en"),
    "es": ("es-419", "en"),
    "pt": ("pt-br", "en"),
    "pt-br": ("pt", "en"),
    "zh-hant": ("zh-hans", "en"),
    "zh-hans": ("zh-hant", "en"),
    "kk": ("ru", "en"),
    "uk": ("en",),
    "az": ("tr", "en"),
}
assert tuple(LANGUAGE_CODES) == MODELTRANSLATION_LANGUAGES

# --- Static files, email -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Agora <no-reply@agora.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Uploaded files (support attachments). Never served from a URL of their own: the support views
# stream each one to the ticket's participants only.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Support desk ------------------------------------------------------------------------------------
# A solved ticket can be reopened by its customer this many days after it was solved.
SUPPORT_REOPEN_DAYS = env.int("SUPPORT_REOPEN_DAYS", default=7)
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
SUPPORT_ATTACHMENTS_PER_MESSAGE = env.int("SUPPORT_ATTACHMENTS_PER_MESSAGE", default=5)
# Replies by email go to support+<signed ticket token>@SUPPORT_MAIL_DOMAIN; the MTA pipes them to
# `manage.py support_mail_inbound`.
SUPPORT_MAIL_DOMAIN = env("SUPPORT_MAIL_DOMAIN", default="support.agora.example")
SUPPORT_FROM_EMAIL = env("SUPPORT_FROM_EMAIL", default="Agora Support <support@support.agora.example>")
# An inbound mail larger than this (whole message, as the MTA hands it over) is refused unread.
SUPPORT_MAIL_MAX_BYTES = env.int("SUPPORT_MAIL_MAX_BYTES", default=25 * 1024 * 1024)
# The From header proves nothing: with this set (the authserv-id our MTA writes in its
# Authentication-Results header, e.g. "mx.agora.example"), inbound mail must pass DMARC, or DKIM /
# SPF for the From domain, by that header, or it is refused. Empty: not checked (no MTA in `make run`).
SUPPORT_MAIL_AUTHSERV_ID = env("SUPPORT_MAIL_AUTHSERV_ID", default="")
# The sweeper runs this often and looks this far ahead (seconds).
SUPPORT_SLA_SWEEP_SECONDS = env.float("SUPPORT_SLA_SWEEP_SECONDS", default=30.0)
# Clocks one sweep batch (one transaction) locks at most.
SUPPORT_SLA_SWEEP_BATCH = env.int("SUPPORT_SLA_SWEEP_BATCH", default=500)
# A breach still open this long after it happened is escalated to the head of support.
SUPPORT_SLA_ESCALATE_AFTER_SECONDS = env.int("SUPPORT_SLA_ESCALATE_AFTER_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["support-sla-sweep"] = {"task": "support.tasks.sla_sweep", "schedule": SUPPORT_SLA_SWEEP_SECONDS}


def site_url_default(environ) -> str:
    """http://HOST:PORT from the environment, for a process started on its own (a wildcard bind
    address is linked as 127.0.0.1). `make run` exports SITE_URL itself: honcho gives each of its
    processes a different PORT, so the worker would otherwise link to web's port + 100."""
    host = environ.get("HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{environ.get('PORT') or '8000'}"


# Every absolute link in an email (ours and allauth's, the freeze link) starts with this, never
# with whatever host a request came in on: emails are rendered in the worker, with no request.
SITE_URL = env("SITE_URL", default=site_url_default(os.environ)).rstrip("/")
SITE_NAME = "Agora"

# --- Security headers ----------------------------------------------------------------------------------
# No external hosts at all: every script, style, font and image is served by us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- REST ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {"TITLE": "Agora API", "VERSION": "1.0.0"}

AUDITLOG_INCLUDE_ALL_MODELS = False

# LOG_LEVEL: our code and everything else. TASK_LOG_LEVEL: the lines Celery writes for every task
# run and every beat send ("received", "succeeded in", "Sending due task"); beat fires every few
# seconds, so at INFO they are most of the log. Failures are logged at ERROR and always show.
# Celery uses this configuration as is (config/celery.py), whatever the worker's --loglevel says.
LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
TASK_LOG_LEVEL = env("TASK_LOG_LEVEL", default="WARNING").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config also prints the "django" logger itself when DEBUG is on, so every
        # warning showed twice; its records go to the root handler only (mail_admins goes too: ADMINS is unset).
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": TASK_LOG_LEVEL},
        "celery.worker.strategy": {"level": TASK_LOG_LEVEL},
        "celery.beat": {"level": TASK_LOG_LEVEL},
    },
}

# Roles staff and customers are given; permissions are synced by accounts.services.roles_sync.
ROLE_LABELS = {
    "trader": _("Trader"),
    "support_agent": _("Support agent"),
    "supervisor": _("Supervisor"),
    "operator": _("Operator"),
}
IS_PRODUCTION = False
