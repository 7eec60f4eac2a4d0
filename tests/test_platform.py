import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, User
from config.health import heartbeat_record

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_each_part(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))  # details are for staff (tests/test_production_settings.py)
    response = client.get("/healthz")
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "broker", "worker"}
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["worker"]["ok"] is False  # no heartbeat yet
    assert response.status_code == 503 and body["status"] == "degraded"
    heartbeat_record()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["checks"]["worker"]["age_s"] < 5


@pytest.mark.django_db
def test_heartbeat_task_runs_through_celery(celery_app):
    from config.tasks import worker_heartbeat

    worker_heartbeat.delay()
    from django.core.cache import cache

    from config.health import HEARTBEAT_KEY

    assert cache.get(HEARTBEAT_KEY) is not None


@pytest.mark.django_db
def test_security_headers(client):
    response = client.get("/en/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "http" not in csp.replace("'self'", "")  # no external hosts anywhere


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    text = out.getvalue()
    assert "agora-demo-2026" in text and "alice@demo.test" in text and "agent-ar@demo.test" in text
    assert (
        User.objects.filter(email__endswith="@demo.test").count() == 2 + 2 + 14 + 1 + 2 + 4
    )  # traders, the demo maker and taker, agents, supervisor, two operators and the desk's four customers
    alice = User.objects.get(email="alice@demo.test")
    assert alice.check_password("agora-demo-2026") and alice.groups.filter(name="trader").exists()
    assert User.objects.get(email="operator@demo.test").is_staff
    from support.models import Announcement

    assert Announcement.objects.count() == 2
    welcome = Announcement.objects.get(title_en="Welcome to Agora")
    assert welcome.title_de and welcome.title_de != welcome.title_en
    from exchange.models import FeeTier, Market
    from wallets.models import Asset
    from wallets.selectors import custody_violations, ledger_violations

    assert Asset.objects.count() == 12 and Asset.objects.filter(symbol__in=["AGR", "NEO", "GAS"], is_active=True).count() == 3
    assert Market.objects.count() == 12 and {"BTCUSDT", "ETHUSDT", "BNBUSDT", "NEOUSDT", "GASUSDT", "ETHBTC", "BNBBTC", "NEOBTC"} <= set(
        Market.objects.values_list("symbol", flat=True)
    )
    for market in Market.objects.select_related("base", "quote"):
        market.full_clean()  # every market's steps fit its assets' precision
    assert FeeTier.objects.count() == 6
    assert ledger_violations() == [] and custody_violations() == []  # the demo funding is backed on the simulated chains


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
def test_create_api_key_command(user):
    out = StringIO()
    call_command("create_api_key", "--email", user.email, "--permissions", "read,trade", "--without-totp", "--json", stdout=out)
    data = json.loads(out.getvalue())
    api_key = ApiKey.objects.get(key=data["apiKey"])
    from accounts.selectors import api_key_secret

    assert api_key_secret(api_key=api_key) == data["secretKey"]
    assert api_key.permissions == ["read", "trade"]
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", user.email, "--permissions", "read,fly", "--without-totp", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", "nobody@example.test", "--without-totp", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", user.email, "--permissions", "withdraw", "--without-totp", stdout=StringIO())


def test_production_settings_pass_deploy_checks():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 20 + "-production-check-" + "y" * 30,
        "ALLOWED_HOSTS": "agora.example",
        "DATABASE_URL": "postgres://agora@127.0.0.1:5432/agora",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "FIELD_ENCRYPTION_KEYS": "N1ExNzYH8d5Yhd2m3hq3ZgH4f4N9s5XvL6o1m0v3kYA=",
        "SITE_URL": "https://agora.example",
        "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_are_committed():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
async def test_account_websocket_pushes_freeze():
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from accounts.consumers import AccountEventsConsumer
    from accounts.models import AccountFreeze
    from accounts.services import account_freeze
    from tests.factories import UserFactory

    user = await sync_to_async(UserFactory)()
    communicator = WebsocketCommunicator(AccountEventsConsumer.as_asgi(), "/ws/account/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(account_freeze)(user=user, source=AccountFreeze.Source.SELF)
    assert await communicator.receive_json_from(timeout=3) == {"event": "account.frozen"}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_account_websocket_refuses_anonymous():
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth.models import AnonymousUser

    from accounts.consumers import AccountEventsConsumer

    communicator = WebsocketCommunicator(AccountEventsConsumer.as_asgi(), "/ws/account/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected and code == 4401
