"""Races on one balance, on PostgreSQL: never overdrawn, never deadlocked."""

from decimal import Decimal as D

import pytest

from tests.conftest import on_postgres, run_concurrently
from tests.factories import UserFactory
from wallets.ledger import InsufficientFunds, hold_place, transfer, user_account
from wallets.models import Asset, Journal
from wallets.selectors import ledger_violations
from wallets.services import ledger_adjust

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)"),
]


def race(count, target):
    return run_concurrently(count, target, expected=(InsufficientFunds,))


def test_many_concurrent_holds_never_overdraw():
    asset = Asset.objects.create(symbol="CCY", name="Race coin", precision=8)
    user = UserFactory()
    ledger_adjust(user=user, asset=asset, amount=D("5"), reason="fund", idempotency_key="fund")
    account = user_account(user=user, asset=asset)
    outcomes = race(16, lambda i: hold_place(account=account, amount=D("1"), idempotency_key=f"hold-{i}"))
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    assert sum(isinstance(o, Journal) for o in outcomes) == 5 and outcomes.count("refused") == 11
    account.refresh_from_db()
    assert (account.available, account.locked) == (D("0"), D("5"))
    assert ledger_violations() == []


def test_crossing_transfers_do_not_deadlock_and_conserve_money():
    asset = Asset.objects.create(symbol="XFR", name="Transfer coin", precision=8)
    alice, bob = UserFactory(), UserFactory()
    for user in (alice, bob):
        ledger_adjust(user=user, asset=asset, amount=D("10"), reason="fund", idempotency_key=f"fund-{user.pk}")
    a, b = user_account(user=alice, asset=asset), user_account(user=bob, asset=asset)

    def act(i):
        source, target = (a, b) if i % 2 else (b, a)
        return transfer(source=source, target=target, amount=D("0.1"), idempotency_key=f"x-{i}")

    outcomes = race(20, act)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.available + b.available == D("20")
    assert a.available == D("10") and b.available == D("10")  # 10 each way
    assert ledger_violations() == []


def test_same_key_posted_concurrently_applies_once():
    asset = Asset.objects.create(symbol="IDM", name="Idempotent coin", precision=8)
    user = UserFactory()
    outcomes = race(8, lambda i: ledger_adjust(user=user, asset=asset, amount=D("1"), reason="retry storm", idempotency_key="one-key"))
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert Journal.objects.filter(idempotency_key="one-key").count() == 1
    assert user_account(user=user, asset=asset).available == D("1")
