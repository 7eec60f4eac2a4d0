"""Races that only a real database with row locks can show (run on PostgreSQL in CI)."""
import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import AccountFreeze, ApiKey, SecurityEvent
from tests.conftest import on_postgres
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)"),
]


def run_together(count, target):
    barrier = threading.Barrier(count)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_concurrent_freezes_make_one_freeze_and_one_event():
    user = UserFactory()
    for i in range(3):
        services.api_key_create(user=user, label=f"k{i}")
    errors = run_together(8, lambda i: services.account_freeze(user=user, source=AccountFreeze.Source.SELF))
    assert errors == []
    assert AccountFreeze.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.ACCOUNT_FROZEN).count() == 1
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_key_creation_racing_a_freeze_never_leaves_an_active_key():
    user = UserFactory()

    def act(i):
        if i == 0:
            services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
        else:
            try:
                services.api_key_create(user=user, label=f"bot{i}")
            except Exception:
                pass  # refused because the freeze won the race: that is the point

    assert run_together(6, act) == []
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 0
