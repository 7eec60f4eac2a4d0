"""Random sequences of deposits (some scanned twice), withdrawals (broadcast, cancelled, or internal
transfers), holds, releases and distributions keep every invariant: the database agrees with a
plain-Python model to the last unit, the ledger balances, and custody equals the simulated chain."""

from datetime import date, timedelta
from decimal import Decimal as D
from itertools import count

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.conftest import totp_code
from tests.factories import UserFactory
from wallets.chains import chain_adapter
from wallets.chains.simulated import address_format
from wallets.ledger import hold_place, hold_release, user_account
from wallets.models import Asset, ChainCursor, Network, Payout, Withdrawal
from wallets.selectors import custody_violations, ledger_violations
from wallets.services import (
    WithdrawalRefused,
    chain_scan,
    deposit_address_for,
    holdings_snapshot_take,
    payout_approve,
    payout_execute,
    payout_preview,
    reconciliation_run,
    reconciliation_surplus_book,
    withdrawal_broadcast,
    withdrawal_cancel,
    withdrawal_request,
)

UNITS = st.integers(min_value=100_000, max_value=200_000_000)  # 0.001 .. 2 in 1e-8 units
FEE = D("0.0001")
DAYS = count()


def amount_of(units: int) -> D:
    return D(units).scaleb(-8)


class WalletMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        self.asset, _ = Asset.objects.get_or_create(symbol="PWB", defaults={"name": "Property wallet coin", "precision": 8})
        self.network, _ = Network.objects.get_or_create(
            asset=self.asset,
            code="NEO3",
            defaults={
                "name": "Property chain",
                "confirmations": 1,
                "withdrawal_fee": FEE,
                "withdrawal_min": D("0.001"),
                "withdrawal_max": D("100"),
            },
        )
        self.chain = chain_adapter("NEO3")
        self.users, self.secrets, self.addresses = [], [], []
        for _ in range(3):
            user = UserFactory()
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
            self.users.append(user)
            self.secrets.append(secret)
            self.addresses.append(deposit_address_for(user=user, network=self.network).address)
        self.accounts = [user_account(user=u, asset=self.asset) for u in self.users]
        self.model = [[D(0), D(0)] for _ in self.users]
        self.pending: list[tuple[int, int, D]] = []  # (withdrawal id, user index, amount)
        self.keys = count()

    @rule(i=st.integers(0, 2), units=UNITS, rescan=st.booleans())
    def deposit(self, i, units, rescan):
        amount = amount_of(units)
        self.chain.mine(token="PWB", to_address=self.addresses[i], amount=amount, from_address="outside")
        chain_scan(chain="NEO3")
        if rescan:  # the scanner reads the same blocks again: nothing is credited twice
            ChainCursor.objects.filter(chain="NEO3").update(scanned_height=0)
            chain_scan(chain="NEO3")
        self.model[i][0] += amount

    @rule(i=st.integers(0, 2), j=st.integers(0, 2), units=UNITS, internal=st.booleans())
    def withdraw(self, i, j, units, internal):
        amount = amount_of(units)
        if internal and i == j:
            return
        address = self.addresses[j] if internal else address_format("NEO3", bytes([j + 1]) * 20)
        cache.clear()  # each request gets a fresh TOTP code (allauth refuses a code twice)
        try:
            withdrawal = withdrawal_request(
                user=self.users[i],
                network=self.network,
                address=address,
                amount=amount,
                mfa_code=totp_code(self.secrets[i]),
                idempotency_key=f"w-{next(self.keys)}",
            )
        except WithdrawalRefused as refused:
            assert refused.code == "insufficient_balance" and self.model[i][0] < amount
            return
        assert self.model[i][0] >= amount
        self.model[i][0] -= amount
        if internal:
            assert withdrawal.status == "completed" and withdrawal.fee == 0
            self.model[j][0] += amount
        else:
            assert withdrawal.status == "queued" and withdrawal.fee == FEE
            self.model[i][1] += amount
            self.pending.append((withdrawal.pk, i, amount))

    @precondition(lambda self: getattr(self, "pending", None))
    @rule(pick=st.integers(0, 100), cancel=st.booleans())
    def settle(self, pick, cancel):
        pk, i, amount = self.pending.pop(pick % len(self.pending))
        if cancel:
            withdrawal_cancel(withdrawal=Withdrawal.objects.get(pk=pk), user=self.users[i])
            self.model[i][0] += amount
        else:
            withdrawal_broadcast(withdrawal_id=pk)
            withdrawal_broadcast(withdrawal_id=pk)  # a retried task
        self.model[i][1] -= amount

    @rule(i=st.integers(0, 2), units=UNITS, release=st.booleans())
    def order_hold(self, i, units, release):
        amount = amount_of(units)
        if self.model[i][0] < amount:
            return
        key = f"order-{self.users[i].pk}-{next(self.keys)}"
        hold_place(account=self.accounts[i], amount=amount, idempotency_key=key)
        self.model[i][0] -= amount
        self.model[i][1] += amount
        if release:
            hold_release(account=self.accounts[i], amount=amount, idempotency_key=key + "-release")
            self.model[i][0] += amount
            self.model[i][1] -= amount

    @rule(units=UNITS)
    def distribute_accrued_surplus(self, units):
        """Tokens accrue in custody; reconciliation finds the surplus; it is shared pro rata by holdings."""
        pool = amount_of(units)
        holdings = [available + locked for available, locked in self.model]
        if not any(holdings):
            return
        self.chain.mine(token="PWB", to_address=self.chain.hot_wallet(), amount=pool, from_address="staking")
        chain_scan(chain="NEO3")  # reconciliation measures the chain at the scanner's height
        line = reconciliation_run(trigger="manual").lines.get(network=self.network)
        assert line.difference == pool
        operator, approver = UserFactory(), UserFactory()
        payout = reconciliation_surplus_book(line=line, by=operator)
        day = date(2030, 1, 1) + timedelta(days=next(DAYS))
        holdings_snapshot_take(day=day)
        Payout.objects.filter(pk=payout.pk).update(period_start=day, period_end=day)
        payout_approve(payout=payout_preview(payout=payout), by=approver)
        payout_execute(payout_id=payout.pk)
        # Expected shares: floor(pool x holding / all holdings) in units, over every holder of the asset that day.
        from wallets.models import HoldingSnapshot

        everyone = dict(HoldingSnapshot.objects.filter(day=day, asset=self.asset).values_list("user_id", "total"))
        scale = D(10) ** 8
        total_units = sum(int(v * scale) for v in everyone.values())
        for index, user in enumerate(self.users):
            if user.pk in everyone:
                self.model[index][0] += D(units * int(everyone[user.pk] * scale) // total_units).scaleb(-8)

    @invariant()
    def everything_agrees(self):
        if not hasattr(self, "model"):
            return
        for account, (available, locked) in zip(self.accounts, self.model):
            account.refresh_from_db()
            assert (account.available, account.locked) == (available, locked)
        assert ledger_violations() == []
        assert custody_violations() == []


@pytest.mark.django_db
def test_random_wallet_operations_keep_every_invariant():
    WalletMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    WalletMachine.TestCase().runTest()
