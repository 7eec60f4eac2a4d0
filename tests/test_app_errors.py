"""One application error base (config.errors.AppError): orders, withdrawals, payouts, recovery, the
ledger, pool funding, addresses, numbers and TOTP refusals all carry a stable `code` and a `message`
a person reads, so views show `message` and the API maps `code` (issue 9, code health)."""

from decimal import Decimal

import pytest

from config.errors import AppError
from exchange.services import OrderRejected
from wallets.chains.addresses import AddressInvalid
from wallets.ledger import InsufficientFunds, InvalidAmount, LedgerError, UnbalancedJournal
from wallets.services import PayoutError, RecoveryRefused, WithdrawalRefused
from wallets.services.pools import PoolFundingRefused


@pytest.mark.parametrize(
    "cls",
    [OrderRejected, WithdrawalRefused, PayoutError, RecoveryRefused, LedgerError, InvalidAmount, UnbalancedJournal,
     InsufficientFunds, PoolFundingRefused, AddressInvalid],
)  # fmt: skip
def test_every_refusal_is_an_app_error(cls):
    assert issubclass(cls, AppError)


def test_ledger_errors_keep_their_class_code_and_the_message():
    error = InvalidAmount("BTC takes at most 8 decimals: 0.000000001")
    assert (error.code, error.message) == ("invalid_amount", "BTC takes at most 8 decimals: 0.000000001")
    assert str(error) == "invalid_amount: BTC takes at most 8 decimals: 0.000000001"
    assert UnbalancedJournal("a journal needs lines").code == "unbalanced"
    assert LedgerError("an idempotency key is required").code == "ledger_error"


def test_payout_error_lists_problems_and_has_a_code():
    error = PayoutError("2 rows are wrong", errors=["row 2: unknown user", "row 3: bad amount"])
    assert (error.code, error.message, error.errors) == ("payout_refused", "2 rows are wrong", ["row 2: unknown user", "row 3: bad amount"])
    assert PayoutError("x", code="invalid_amount").code == "invalid_amount"


def test_withdrawal_and_recovery_refusals_keep_code_and_message():
    refused = WithdrawalRefused("mfa_invalid", "The authenticator code is wrong.")
    assert (refused.code, refused.message, str(refused)) == (
        "mfa_invalid",
        "The authenticator code is wrong.",
        "mfa_invalid: The authenticator code is wrong.",
    )
    assert RecoveryRefused("finished", "this request is already finished").code == "finished"


@pytest.mark.django_db
def test_insufficient_funds_carries_the_shortfall():
    from tests.factories import UserFactory
    from wallets.ledger import user_account
    from wallets.models import Asset

    asset = Asset.objects.create(symbol="ZZT", name="Test", precision=8)
    account = user_account(user=UserFactory(), asset=asset)
    error = InsufficientFunds(account, "available", Decimal("0.5"))
    assert error.code == "insufficient_funds" and error.short_by == Decimal("0.5") and "short by 0.5" in error.message
