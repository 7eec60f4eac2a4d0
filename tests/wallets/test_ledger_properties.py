"""Random sequences of ledger operations keep every invariant (Hypothesis stateful test).

A plain-Python model tracks what each account should hold; after every step the database must
agree with the model to the last unit and `ledger_violations()` must be empty.
"""

import uuid
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.factories import UserFactory
from wallets.ledger import InsufficientFunds, hold_place, hold_release, transfer, user_account
from wallets.models import Asset, LedgerAccount
from wallets.selectors import ledger_violations
from wallets.services import ledger_adjust

AMOUNTS = st.integers(min_value=1, max_value=300_000_000).map(lambda units: D(units).scaleb(-8))


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.asset = Asset.objects.get_or_create(symbol="PBT", defaults={"name": "Property coin", "precision": 8})[0]
        self.users = [UserFactory() for _ in range(3)]
        self.accounts = [user_account(user=u, asset=self.asset) for u in self.users]
        self.model = {a.pk: [D(0), D(0)] for a in self.accounts}  # available, locked
        self.keys, self.run = 0, uuid.uuid4().hex  # examples share the test's database: keys must never repeat across them

    def key(self) -> str:
        self.keys += 1
        return f"prop-{self.run}-{self.keys}"

    @rule(i=st.integers(0, 2), amount=AMOUNTS)
    def deposit(self, i, amount):
        ledger_adjust(user=self.users[i], asset=self.asset, amount=amount, reason="deposit", idempotency_key=self.key())
        self.model[self.accounts[i].pk][0] += amount

    def attempt(self, action, affordable: bool, changes: dict) -> None:
        """Run `action`; it must succeed exactly when the model says it is affordable, and then the
        model applies `changes` ({account pk: (available delta, locked delta)})."""
        try:
            action()
        except InsufficientFunds:
            assert not affordable
            return
        assert affordable
        for pk, (available, locked) in changes.items():
            self.model[pk][0] += available
            self.model[pk][1] += locked

    @rule(i=st.integers(0, 2), amount=AMOUNTS)
    def withdraw(self, i, amount):
        account = self.accounts[i]
        self.attempt(
            lambda: ledger_adjust(user=self.users[i], asset=self.asset, amount=-amount, reason="withdraw", idempotency_key=self.key()),
            self.model[account.pk][0] >= amount,
            {account.pk: (-amount, 0)},
        )

    @rule(i=st.integers(0, 2), j=st.integers(0, 2), amount=AMOUNTS)
    def move(self, i, j, amount):
        if i == j:
            return
        source, target = self.accounts[i], self.accounts[j]
        self.attempt(
            lambda: transfer(source=source, target=target, amount=amount, idempotency_key=self.key()),
            self.model[source.pk][0] >= amount,
            {source.pk: (-amount, 0), target.pk: (amount, 0)},
        )

    @rule(i=st.integers(0, 2), amount=AMOUNTS)
    def hold(self, i, amount):
        account = self.accounts[i]
        self.attempt(
            lambda: hold_place(account=account, amount=amount, idempotency_key=self.key()),
            self.model[account.pk][0] >= amount,
            {account.pk: (-amount, amount)},
        )

    @rule(i=st.integers(0, 2), amount=AMOUNTS)
    def release(self, i, amount):
        account = self.accounts[i]
        self.attempt(
            lambda: hold_release(account=account, amount=amount, idempotency_key=self.key()),
            self.model[account.pk][1] >= amount,
            {account.pk: (amount, -amount)},
        )

    @rule(i=st.integers(0, 2), amount=AMOUNTS)
    def retry_is_harmless(self, i, amount):
        key = self.key()
        ledger_adjust(user=self.users[i], asset=self.asset, amount=amount, reason="retried", idempotency_key=key)
        ledger_adjust(user=self.users[i], asset=self.asset, amount=amount, reason="retried", idempotency_key=key)
        self.model[self.accounts[i].pk][0] += amount

    @invariant()
    def database_matches_model_and_ledger_is_sound(self):
        if not hasattr(self, "model"):
            return
        for account in LedgerAccount.objects.filter(pk__in=self.model):
            assert [account.available, account.locked] == self.model[account.pk]
        assert ledger_violations() == []


@pytest.mark.django_db
def test_random_ledger_operations_keep_every_invariant():
    LedgerMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    LedgerMachine.TestCase().runTest()
