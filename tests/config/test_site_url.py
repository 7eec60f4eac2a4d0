"""Every email link uses the configured site URL (SITE_URL, by default http://HOST:PORT as `make
run` exports them), never port 8000 nor the host a request came in on."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core import mail

from accounts.models import SecurityEvent
from config.settings.base import site_url_default
from tests.factories import UserFactory

SITE = "http://127.0.0.1:8123"


def test_default_site_url_follows_host_and_port():
    assert site_url_default({"HOST": "127.0.0.1", "PORT": "8123"}) == SITE
    assert site_url_default({"PORT": "8123"}) == SITE
    assert site_url_default({}) == "http://127.0.0.1:8000"
    assert site_url_default({"HOST": "0.0.0.0", "PORT": "9001"}) == "http://127.0.0.1:9001"
    assert site_url_default({"HOST": "::1", "PORT": "8123"}) == "http://[::1]:8123"
    assert site_url_default({"HOST": "localhost", "PORT": "8123"}) == "http://localhost:8123"


def _site_url_in(env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _clean_env(**extra) -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT", "MAKEFLAGS", "MAKELEVEL")} | extra


def test_production_refuses_to_start_without_site_url():
    env = _clean_env(
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="agora.example",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL="postgres://agora@127.0.0.1:5432/agora",
        REDIS_URL="redis://127.0.0.1:6379/0",
        FIELD_ENCRYPTION_KEYS="N1ExNzYH8d5Yhd2m3hq3ZgH4f4N9s5XvL6o1m0v3kYA=",
        ALLAUTH_TRUSTED_PROXY_COUNT="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SITE_URL" in result.stderr


def test_settings_alone_use_port_8123_when_port_is_8123():
    assert _site_url_in(_clean_env(HOST="127.0.0.1", PORT="8123")) == SITE


def test_every_make_run_process_links_to_the_port_web_serves():
    """`PORT=8123 make run`: the environment the Makefile exports, then honcho's own per-process
    environment for each Procfile entry (it gives the worker PORT=8223, beat 8323, ...)."""
    from honcho.environ import expand_processes, parse_procfile

    base = django_settings.BASE_DIR
    dump = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-env: ; @env -0", "print-env"],
        env=_clean_env(PORT="8123"),
        cwd=base,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    make_env = dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)
    assert make_env["SITE_URL"] == SITE
    processes = expand_processes(parse_procfile((base / "Procfile").read_text()).processes, env=make_env)
    ports = {p.name: p.env["PORT"] for p in processes}
    assert ports["web.1"] == "8123" and ports["worker.1"] == "8223"  # honcho's numbering, as seen in make run
    for name in ("web.1", "worker.1", "beat.1"):
        env = next(p.env for p in processes if p.name == name)
        assert _site_url_in(env) == SITE, name


@pytest.mark.django_db
def test_allauth_confirmation_link_uses_site_url_not_request_host(client, settings):
    settings.SITE_URL = SITE
    response = client.post(
        "/en/auth/signup/", {"email": "new@example.test", "password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert links, mail.outbox[0].body
    assert all(link == SITE or link.startswith(SITE + "/") for link in links), links
    assert any(link.startswith(SITE + "/en/auth/confirm-email/") for link in links), links
    assert "testserver" not in mail.outbox[0].body


@pytest.mark.django_db
def test_allauth_password_reset_link_uses_site_url(client, settings):
    settings.SITE_URL = SITE
    user = UserFactory()
    response = client.post("/en/auth/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert any(link.startswith(SITE + "/en/auth/password/reset/key/") for link in links), links
    assert all(link == SITE or link.startswith(SITE + "/") for link in links), links


@pytest.mark.django_db
def test_unknown_account_reset_mail_links_use_site_url(client, settings):
    settings.SITE_URL = SITE
    response = client.post("/en/auth/password/reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert links and all(link == SITE or link.startswith(SITE + "/") for link in links), links


@pytest.mark.django_db
def test_security_email_freeze_link_uses_site_url(settings):
    from accounts.tasks import security_event_notify

    settings.SITE_URL = SITE
    user = UserFactory()
    event = SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED)
    security_event_notify(event.pk)
    message = mail.outbox[0]
    assert re.search(re.escape(SITE) + r"/en/account/freeze/link/\S+", message.body)
    html = message.alternatives[0][0]
    assert f'href="{SITE}/en/account/freeze/link/' in html
