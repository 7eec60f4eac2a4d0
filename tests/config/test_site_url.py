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


def test_make_run_settings_use_port_8123_when_port_is_8123():
    """The settings `make run` loads, in a fresh process with PORT=8123 exported as the Makefile does."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}
    env.update(HOST="127.0.0.1", PORT="8123", DJANGO_SETTINGS_MODULE="config.settings.local")
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == SITE


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
