"""Production settings refuse to start without their servers and keys; no settings module creates
folders when imported; /healthz tells the public only the status."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.health import heartbeat_record
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 20 + "-production-check-" + "y" * 30,
    "ALLOWED_HOSTS": "agora.example",
    "DATABASE_URL": "postgres://agora@127.0.0.1:5432/agora",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "FIELD_ENCRYPTION_KEYS": KEY,
    "SITE_URL": "https://agora.example",
    "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
}
OURS = set(PRODUCTION) | {"DJANGO_ALLOW_ASYNC_UNSAFE", "ALLAUTH_TRUSTED_CLIENT_IP_HEADER"}


def run(env: dict, code: str = "from django.conf import settings; settings.DATABASES; print('started')"):
    base = {k: v for k, v in os.environ.items() if k not in OURS}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True)


def test_production_starts_with_everything_set():
    result = run(PRODUCTION)
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DATABASE_URL", "ImproperlyConfigured: DATABASE_URL is not set: production needs PostgreSQL"),
        ("REDIS_URL", "ImproperlyConfigured: REDIS_URL is not set: production needs Redis"),
        ("FIELD_ENCRYPTION_KEYS", "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS is not set: production needs the Fernet keys"),
        ("SECRET_KEY", "ImproperlyConfigured: Set the SECRET_KEY environment variable"),
        ("SITE_URL", "ImproperlyConfigured: SITE_URL is not set: production needs the public https address"),
        ("ALLAUTH_TRUSTED_PROXY_COUNT", "ImproperlyConfigured: ALLAUTH_TRUSTED_PROXY_COUNT (the number of reverse proxies"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    result = run({k: v for k, v in PRODUCTION.items() if k != missing})
    assert result.returncode == 1 and "started" not in result.stdout
    assert message in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"DATABASE_URL": "sqlite:////tmp/agora.sqlite3"}, "DATABASE_URL must point at PostgreSQL in production"),
        ({"FIELD_ENCRYPTION_KEYS": "iW5n8WTFSvWRTQ0Xs7mm7-j0iKno2OYg3IeGCKczYuM="}, "holds the public development key"),
        ({"FIELD_ENCRYPTION_KEYS": f"{KEY},short"}, "FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key"),
        ({"SITE_URL": "http://agora.example"}, "SITE_URL must be an https:// address in production, not 'http://agora.example'"),
        ({"SITE_URL": "https://127.0.0.1:8000"}, "SITE_URL must be the public address, not a loopback host (127.0.0.1)"),
        ({"SITE_URL": "https://localhost"}, "SITE_URL must be the public address, not a loopback host (localhost)"),
        ({"SITE_URL": "https://[::1]/"}, "SITE_URL must be the public address, not a loopback host (::1)"),
        ({"ALLAUTH_TRUSTED_PROXY_COUNT": "0"}, "ALLAUTH_TRUSTED_PROXY_COUNT (the number of reverse proxies"),
    ],
)
def test_production_refuses_unsafe_values(override, message):
    result = run({**PRODUCTION, **override})
    assert result.returncode == 1 and message in result.stderr.strip().splitlines()[-1]


PRINT_CLIENT_IP_SETTINGS = (
    "from django.conf import settings; from allauth import app_settings;"
    " print(settings.SITE_URL, app_settings.TRUSTED_PROXY_COUNT, app_settings.TRUSTED_CLIENT_IP_HEADER)"
)


def test_production_reads_the_proxy_settings_and_site_url_from_the_environment():
    result = run({**PRODUCTION, "ALLAUTH_TRUSTED_PROXY_COUNT": "2"}, PRINT_CLIENT_IP_SETTINGS)
    assert result.returncode == 0 and result.stdout.strip() == "https://agora.example 2 None", result.stderr
    header_only = {k: v for k, v in PRODUCTION.items() if k != "ALLAUTH_TRUSTED_PROXY_COUNT"}
    result = run({**header_only, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": "X-Real-IP"}, PRINT_CLIENT_IP_SETTINGS)
    assert result.returncode == 0 and result.stdout.strip() == "https://agora.example 0 X-Real-IP", result.stderr


def test_development_defaults_to_remote_addr():
    result = run({"DJANGO_SETTINGS_MODULE": "config.settings.local"}, PRINT_CLIENT_IP_SETTINGS)
    assert result.returncode == 0 and result.stdout.strip() == "http://127.0.0.1:8000 0 None", result.stderr


NO_MKDIR = """
import os, pathlib, importlib
def refuse(*args, **kwargs):
    raise AssertionError(f"created a folder on import: {args[:1]}")
pathlib.Path.mkdir = refuse
os.makedirs = os.mkdir = refuse
importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
print("started")
"""


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.test", "config.settings.production"])
def test_importing_settings_creates_no_folder(module):
    env = {**PRODUCTION, "DJANGO_SETTINGS_MODULE": module} if module.endswith("production") else {"DJANGO_SETTINGS_MODULE": module}
    result = run(env, NO_MKDIR)
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


def test_django_start_creates_the_embedded_folders(tmp_path, settings):
    from config.embedded import embedded_dirs_create

    settings.EMBEDDED_DIRS = [tmp_path / "var", tmp_path / "var" / "celery" / "queue"]
    embedded_dirs_create()
    assert (tmp_path / "var" / "celery" / "queue").is_dir()


class TestHealthz:
    pytestmark = pytest.mark.django_db

    def test_public_gets_only_the_status(self, client):
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json() == {"status": "degraded"}
        heartbeat_record()
        response = client.get("/healthz")
        assert response.status_code == 200 and response.json() == {"status": "ok"}

    def test_token_shows_details(self, client, settings):
        settings.HEALTHZ_TOKEN = "monitor-0123456789abcdef"
        heartbeat_record()
        assert client.get("/healthz", headers={"X-Healthz-Token": "monitor-0123456789abcdeX"}).json() == {"status": "ok"}
        body = client.get("/healthz", headers={"X-Healthz-Token": "monitor-0123456789abcdef"}).json()
        assert body["status"] == "ok" and set(body["checks"]) == {"database", "cache", "broker", "worker"}

    def test_no_token_configured_means_no_token_works(self, client, settings):
        settings.HEALTHZ_TOKEN = ""
        assert client.get("/healthz", headers={"X-Healthz-Token": ""}).json() == {"status": "degraded"}

    def test_staff_see_details_traders_do_not(self, client):
        client.force_login(UserFactory())
        assert client.get("/healthz").json() == {"status": "degraded"}
        client.force_login(UserFactory(is_staff=True))
        body = client.get("/healthz").json()
        assert body["status"] == "degraded" and body["checks"]["worker"]["ok"] is False
