"""Races that only a real database with row locks can show (run on PostgreSQL in CI)."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import AccountFreeze, ApiKey, SecurityEvent
from tests.conftest import on_postgres, run_concurrently
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)"),
]


def test_concurrent_freezes_make_one_freeze_and_one_event():
    user = UserFactory()
    for i in range(3):
        services.api_key_create(totp_waived_by_operator=True, user=user, label=f"k{i}")
    outcomes = run_concurrently(8, lambda i: services.account_freeze(user=user, source=AccountFreeze.Source.SELF))
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert AccountFreeze.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.ACCOUNT_FROZEN).count() == 1
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_key_creation_racing_a_freeze_never_leaves_an_active_key():
    user = UserFactory()

    def act(i):
        if i == 0:
            return services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
        return services.api_key_create(totp_waived_by_operator=True, user=user, label=f"bot{i}")  # refused once the freeze has won

    assert not [o for o in run_concurrently(6, act, expected=(ValidationError,)) if isinstance(o, Exception)]
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 0
