"""Development and `make run`: the embedded default unless DATABASE_URL / REDIS_URL are set."""

from .base import *
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# Emails are printed as a framed block (To, Subject, text body) by the worker: see config/mail.py.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="config.mail.ConsoleBannerEmailBackend")
# WebAuthn needs a secure context; http://127.0.0.1 and localhost count as one in browsers.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
