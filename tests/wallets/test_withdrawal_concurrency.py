"""Concurrent withdrawals and order holds against one balance, on PostgreSQL: never overdrawn,
never deadlocked, the daily limit never exceeded together."""

from decimal import Decimal as D

import pytest

from tests.conftest import on_postgres, run_concurrently
from tests.factories import UserFactory
from tests.wallets.conftest import SOL_EXTERNAL as EXTERNAL_SOL
from wallets.ledger import InsufficientFunds, hold_place, user_account
from wallets.models import Asset, Network, Withdrawal
from wallets.selectors import ledger_violations
from wallets.services import WithdrawalRefused, ledger_adjust, withdrawal_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)"),
]


def _totp_ok(*, user, code, ip, purpose):
    from accounts.services import TotpRefused

    if code != "ok":
        raise TotpRefused("mfa_invalid", "wrong code")


@pytest.fixture
def setup(monkeypatch):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    # Each racer would need its own TOTP code; the code check is tested on its own elsewhere.
    monkeypatch.setattr("wallets.services.withdrawals.totp_verify", _totp_ok)
    asset = Asset.objects.create(symbol="RCW", name="Race coin", precision=8, withdrawal_daily_limit=D("100"))
    network = Network.objects.create(
        asset=asset,
        code="SOL",
        name="Race chain",
        confirmations=1,
        withdrawal_fee=D("0.1"),
        withdrawal_min=D("0.5"),
        withdrawal_max=D("1000"),
    )
    user = UserFactory()
    TOTP.activate(user, generate_totp_secret())
    return asset, network, user


def test_concurrent_withdrawals_and_holds_never_overdraw(setup):
    asset, network, user = setup
    ledger_adjust(user=user, asset=asset, amount=D("10"), reason="fund", idempotency_key="fund")
    account = user_account(user=user, asset=asset)

    def act(i):
        if i % 3 == 0:
            return hold_place(account=account, amount=D("1"), idempotency_key=f"order-{i}")
        return withdrawal_request(user=user, network=network, address=EXTERNAL_SOL, amount="1", mfa_code="ok", idempotency_key=f"w-{i}")

    outcomes = run_concurrently(24, act, expected=(InsufficientFunds, WithdrawalRefused))
    assert [o for o in outcomes if isinstance(o, Exception)] == []  # no deadlock, nothing unexpected
    assert sum(o != "refused" for o in outcomes) == 10 and outcomes.count("refused") == 14
    holds = sum(1 for o in outcomes if o != "refused" and not isinstance(o, Withdrawal))
    account.refresh_from_db()
    # Withdrawals were broadcast after commit (eager Celery), so only the order holds stay locked.
    assert (account.available, account.locked) == (D("0"), D(holds))
    assert set(Withdrawal.objects.values_list("status", flat=True)) == {"broadcast"}
    assert Withdrawal.objects.count() == 10 - holds
    assert ledger_violations() == []


def test_concurrent_withdrawals_cannot_pass_the_daily_limit_together(setup):
    asset, network, user = setup
    ledger_adjust(user=user, asset=asset, amount=D("1000"), reason="fund", idempotency_key="fund")
    outcomes = run_concurrently(
        12,
        lambda i: withdrawal_request(
            user=user, network=network, address=EXTERNAL_SOL, amount="30", mfa_code="ok", idempotency_key=f"w-{i}"
        ),
        expected=(WithdrawalRefused,),
    )
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Withdrawal.objects.count() == 3 and outcomes.count("refused") == 9  # 3 x 30 <= 100 < 4 x 30
    assert user_account(user=user, asset=asset).available == D("910")


def test_same_withdrawal_key_from_two_tabs_creates_one(setup):
    asset, network, user = setup
    ledger_adjust(user=user, asset=asset, amount=D("10"), reason="fund", idempotency_key="fund")
    outcomes = run_concurrently(
        6,
        lambda i: withdrawal_request(
            user=user, network=network, address=EXTERNAL_SOL, amount="2", mfa_code="ok", idempotency_key="double-click"
        ),
        expected=(WithdrawalRefused,),
    )
    assert Withdrawal.objects.count() == 1
    assert user_account(user=user, asset=asset).available == D("8")
    assert all(isinstance(o, Withdrawal) or o == "refused" for o in outcomes)


def test_crossing_internal_transfers_do_not_deadlock(setup):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from wallets.services import deposit_address_for

    asset, network, alice = setup
    bob = UserFactory()
    TOTP.activate(bob, generate_totp_secret())
    users = [alice, bob]
    addresses = [deposit_address_for(user=u, network=network).address for u in users]
    for user in users:
        ledger_adjust(user=user, asset=asset, amount=D("10"), reason="fund", idempotency_key=f"fund-{user.pk}")

    def act(i):
        sender, receiver = i % 2, 1 - i % 2
        return withdrawal_request(
            user=users[sender], network=network, address=addresses[receiver], amount="0.5", mfa_code="ok", idempotency_key=f"x-{i}"
        )

    outcomes = run_concurrently(20, act, expected=(WithdrawalRefused,))
    assert [o for o in outcomes if not isinstance(o, Withdrawal)] == []  # no deadlock, no refusal
    assert all(o.status == "completed" and o.is_internal for o in outcomes)
    assert [user_account(user=u, asset=asset).available for u in users] == [D("10"), D("10")]
    assert ledger_violations() == []
