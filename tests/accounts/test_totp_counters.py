"""The TOTP attempt limit counts in the database (TotpFailureCounter, under row locks), per user and
per client IP as seen through the trusted proxy, an IPv6 client by its /64."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts import services
from accounts.models import ApiKey, SecurityEvent, TotpFailureCounter
from tests.accounts.test_totp_limit import verify, wrong_code
from tests.conftest import totp_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"


def totp_users(count):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    users = []
    for _ in range(count):
        user, secret = UserFactory(), generate_totp_secret()
        TOTP.activate(user, secret)
        users.append((user, secret))
    return users


def test_counts_are_rows(totp_user):
    user, secret = totp_user
    bad = wrong_code(secret)
    verify(user, bad, ip="203.0.113.9")
    verify(user, bad, ip="203.0.113.9")
    counts = dict(TotpFailureCounter.objects.values_list("scope", "count"))
    assert counts == {f"user:{user.pk}": 2, "ip:203.0.113.9": 2}
    services.totp_verify(user=user, code=totp_code(secret), ip="203.0.113.9", purpose="api_key")
    counts = dict(TotpFailureCounter.objects.values_list("scope", "count"))
    assert counts == {f"user:{user.pk}": 0, "ip:203.0.113.9": 2}  # a right code clears the user, not the IP
    assert TotpFailureCounter.objects.filter(locked_until__isnull=False).count() == 0


class TestBehindTheProxy:
    """Requests reach Agora through one reverse proxy, which appends the client to X-Forwarded-For."""

    def post_key(self, client, user, code, client_ip):
        client.force_login(user)
        return client.post("/en/account/api-keys/", {"label": "bot", "code": code}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_ip)

    def test_two_clients_behind_the_proxy_have_their_own_counts(self, client, settings):
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
        settings.TOTP_FAILURES_PER_IP = 3
        (first, first_secret), (second, second_secret) = totp_users(2)
        outcomes = [self.post_key(client, first, wrong_code(first_secret), "203.0.113.5").status_code for _ in range(3)]
        assert outcomes == [400, 400, 400]
        event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.TOTP_LOCKED)
        assert event.user == first and event.ip == "203.0.113.5" and event.data["locked"] == ["ip"]
        response = self.post_key(client, second, wrong_code(second_secret), "203.0.113.6")
        assert response.status_code == 400 and b"The authenticator code is wrong or was already used" in response.content
        response = self.post_key(client, second, totp_code(second_secret), "203.0.113.6")
        assert response.status_code == 200 and ApiKey.objects.filter(user=second).count() == 1
        counts = dict(TotpFailureCounter.objects.filter(scope__startswith="ip:").values_list("scope", "count"))
        assert counts == {"ip:203.0.113.5": 3, "ip:203.0.113.6": 1}
        assert PROXY not in str(counts)

    def test_without_the_proxy_setting_everyone_is_the_proxy(self, client, settings):
        """What production refuses to start with: every client shares the proxy's count."""
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
        settings.TOTP_FAILURES_PER_IP = 3
        (first, first_secret), (second, second_secret) = totp_users(2)
        for _ in range(3):
            self.post_key(client, first, wrong_code(first_secret), "203.0.113.5")
        response = self.post_key(client, second, totp_code(second_secret), "203.0.113.6")
        assert response.status_code == 400 and b"Too many wrong authenticator codes" in response.content


def test_one_ipv6_64_shares_one_count(settings):
    settings.TOTP_FAILURES_PER_IP = 3
    (first, first_secret), (second, second_secret), (third, third_secret) = totp_users(3)
    verify(first, wrong_code(first_secret), ip="2001:db8:1:2::1")
    verify(first, wrong_code(first_secret), ip="2001:db8:1:2:ffff:ffff:ffff:fffe")
    assert verify(second, wrong_code(second_secret), ip="2001:db8:1:2:aaaa::9").code == "mfa_locked"
    assert list(TotpFailureCounter.objects.filter(scope__startswith="ip:").values_list("scope", "count")) == [("ip:2001:db8:1:2::/64", 3)]
    assert verify(third, totp_code(third_secret), ip="2001:db8:1:2::77").code == "mfa_locked"
    services.totp_verify(user=third, code=totp_code(third_secret), ip="2001:db8:1:3::1", purpose="api_key")  # the next /64 passes


def test_ipv4_addresses_count_one_by_one_also_when_mapped(totp_user):
    user, secret = totp_user
    verify(user, wrong_code(secret), ip="::ffff:198.51.100.7")
    verify(user, wrong_code(secret), ip="198.51.100.8")
    scopes = sorted(TotpFailureCounter.objects.filter(scope__startswith="ip:").values_list("scope", "count"))
    assert scopes == [("ip:198.51.100.7", 1), ("ip:198.51.100.8", 1)]


EMBEDDED_RACE = """
import json, os, sys, threading
import config.settings.local as s
tmp = sys.argv[1]
# The embedded mode's own file cache (the default LOCATION is the repository's var/cache).
s.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": os.path.join(tmp, "cache")}}
s.EMBEDDED_DIRS = []
s.CELERY_TASK_ALWAYS_EAGER = True
s.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, format_hotp_value, hotp_value
import time
from accounts import services
from accounts.models import SecurityEvent, User
assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
assert settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache")
user = User.objects.create_user(email="embedded@example.com", password="x")
secret = generate_totp_secret()
TOTP.activate(user, secret)
valid = {format_hotp_value(hotp_value(secret, int(time.time()) // 30 + o)) for o in range(-2, 3)}
bad = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)
connection.close()
barrier, outcomes, lock = threading.Barrier(40), [], threading.Lock()
def attempt(i):
    barrier.wait()
    try:
        services.totp_verify(user=user, code=bad, ip=f"198.51.100.{i}", purpose="api_key")
        result = "passed"
    except services.TotpRefused as refused:
        result = refused.code
    except Exception as exc:
        result = repr(exc)
    finally:
        connection.close()
    with lock:
        outcomes.append(result)
threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
for t in threads: t.start()
for t in threads: t.join(120)
print(json.dumps({"outcomes": sorted(outcomes), "events": SecurityEvent.objects.filter(kind="totp_locked").count()}))
"""


@pytest.mark.django_db(transaction=False)
def test_embedded_mode_forty_parallel_wrong_codes_get_four_checks(tmp_path):
    """SQLite in a file and the file cache, as `make run` has them: the cache's add/incr are get +
    set, so the old cache counter let parallel guesses through."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'agora.sqlite3'}", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", EMBEDDED_RACE, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"outcomes": ["mfa_invalid"] * 4 + ["mfa_locked"] * 36, "events": 1}


def test_staff_read_the_counters_and_cannot_edit_them(client, totp_user):
    user, secret = totp_user
    verify(user, wrong_code(secret), ip="203.0.113.9")
    counter = TotpFailureCounter.objects.get(scope=f"user:{user.pk}")
    services.roles_sync()
    supervisor = UserFactory()
    services.role_assign(user=supervisor, role="supervisor")
    client.force_login(supervisor)
    page = client.get("/en/admin/accounts/totpfailurecounter/")
    assert page.status_code == 200 and f"user:{user.pk}".encode() in page.content
    assert client.post(f"/en/admin/accounts/totpfailurecounter/{counter.pk}/change/", {"count": "0"}).status_code == 403
    assert client.post(f"/en/admin/accounts/totpfailurecounter/{counter.pk}/delete/", {"post": "yes"}).status_code == 403
    counter.refresh_from_db()
    assert counter.count == 1


def test_prune_deletes_only_counters_that_no_longer_count(totp_user):
    from datetime import timedelta

    from django.utils import timezone
    from freezegun import freeze_time

    from accounts.tasks import totp_counters_prune_task

    user, secret = totp_user
    [(other, other_secret)] = totp_users(1)
    start = timezone.now()
    with freeze_time(start) as frozen:
        for _ in range(5):
            verify(user, wrong_code(secret), ip="203.0.113.1")  # user locked until start + 15 min
        frozen.tick(timedelta(minutes=10))
        verify(other, wrong_code(other_secret), ip="203.0.113.2")
        frozen.tick(timedelta(minutes=5, seconds=1))
        assert services.totp_counters_prune() == 2  # ip:203.0.113.1 (window passed) and the user (lock ended)
        assert sorted(TotpFailureCounter.objects.values_list("scope", "count")) == [("ip:203.0.113.2", 1), (f"user:{other.pk}", 1)]
        frozen.tick(timedelta(minutes=11))
        totp_counters_prune_task.delay()
        assert not TotpFailureCounter.objects.exists()
