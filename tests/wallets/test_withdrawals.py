from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone, translation

from accounts.models import AccountFreeze, SecurityEvent
from accounts.services import account_freeze, withdrawal_lock_apply
from tests.factories import UserFactory
from tests.wallets.conftest import BTC_EXTERNAL, BTC_GENESIS, BTC_TAPROOT, XRP_EXTERNAL, balance, deposit, fresh_code, fund, mine
from wallets.chains import chain_adapter
from wallets.models import Journal, Notice, SimTransfer, Withdrawal
from wallets.selectors import custody_violations, ledger_violations
from wallets.services import (
    WithdrawalRefused,
    address_book_add,
    chain_scan,
    deposit_address_for,
    whitelist_mode_set,
    withdrawal_cancel,
    withdrawal_quote,
    withdrawal_request,
    withdrawal_review,
)

pytestmark = pytest.mark.django_db


def request(user, secret, network, amount, address=BTC_EXTERNAL, memo="", key="k1", code=None):
    return withdrawal_request(
        user=user,
        network=network,
        address=address,
        memo=memo,
        amount=amount,
        mfa_code=code if code is not None else fresh_code(secret),
        idempotency_key=key,
    )


def refused(expected, *args, **kwargs):
    with pytest.raises(WithdrawalRefused) as info:
        request(*args, **kwargs)
    assert info.value.code == expected, info.value
    return info.value


def test_quote_gives_fee_and_net_and_refuses_out_of_range(chain):
    btc = chain["BTC"]
    assert withdrawal_quote(network=btc, amount="0.5") == (D("0.5"), D("0.0002"), D("0.4998"))
    for amount, code in [
        ("0.0009", "below_minimum"),
        ("10.00000001", "above_maximum"),
        ("0.123456789", "invalid_amount"),
        ("abc", "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("-1", "invalid_amount"),
        ("0", "invalid_amount"),
    ]:
        with pytest.raises(WithdrawalRefused) as info:
            withdrawal_quote(network=btc, amount=amount)
        assert info.value.code == code, amount
    with translation.override("de"):
        with pytest.raises(WithdrawalRefused) as info:
            withdrawal_quote(network=btc, amount="0.0009")
    assert "0,001" in info.value.message  # the minimum in the reader's number format


def test_withdrawal_holds_then_broadcasts_settles_and_completes(chain, trader, django_capture_on_commit_callbacks, mailoutbox):
    user, secret = trader
    btc = chain["BTC"]
    deposit(user, btc, "1")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, btc, "0.5")
    withdrawal.refresh_from_db()
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net_amount, withdrawal.status) == (
        D("0.5"),
        D("0.0002"),
        D("0.4998"),
        "broadcast",
    )
    assert balance(user, btc.asset) == (D("0.5"), 0)  # the hold left locked when it was settled
    sent = SimTransfer.objects.get(outgoing_key=f"withdrawal-{withdrawal.pk}")
    assert (sent.to_address, sent.amount, sent.token, sent.tx_hash) == (BTC_EXTERNAL, D("0.4998"), "BTC", withdrawal.tx_hash)
    fees = withdrawal.journal.entries.get(account__kind="fees")
    assert fees.amount == D("0.0002")
    assert ledger_violations() == [] and custody_violations() == []
    mine("BTC")
    chain_scan(chain="BTC")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.confirmations) == ("completed", 2)
    assert [m.subject for m in mailoutbox][-1] == "[Agora] Withdrawal sent: 0.4998 BTC"


def test_same_key_returns_the_first_withdrawal(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    fund(user, chain["BTC"].asset, "1")
    with django_capture_on_commit_callbacks(execute=True):
        first = request(user, secret, chain["BTC"], "0.1", key="same")
        again = request(user, secret, chain["BTC"], "0.1", key="same", code="000000")  # a retry needs no new code
    assert first.pk == again.pk and Withdrawal.objects.count() == 1
    assert balance(user, chain["BTC"].asset) == (D("0.9"), 0)


def test_refusals_reserve_nothing(chain, trader):
    user, secret = trader
    btc = chain["BTC"]
    fund(user, btc.asset, "1")
    refused("insufficient_balance", user, secret, btc, "1.5")
    refused("mfa_invalid", user, secret, btc, "0.1", code="123456")
    refused("below_minimum", user, secret, btc, "0.0001")
    refused("address_required", user, secret, btc, "0.1", address="  ")
    refused("memo_required", user, secret, chain["XRP"], "30", address=XRP_EXTERNAL)
    btc.withdrawal_enabled = False
    btc.save()
    refused("network_suspended", user, secret, btc, "0.1")
    assert Withdrawal.objects.count() == 0 and balance(user, btc.asset) == (D("1"), 0)


def test_no_authenticator_no_withdrawal(chain, user):
    fund(user, chain["BTC"].asset, "1")
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_request(user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="0.1", mfa_code="123456", idempotency_key="k")
    assert info.value.code == "mfa_required"


def test_frozen_and_security_locked_accounts_are_refused(chain, trader):
    user, secret = trader
    fund(user, chain["BTC"].asset, "1")
    withdrawal_lock_apply(user=user, reason="password_changed")
    error = refused("security_lock", user, secret, chain["BTC"], "0.1")
    assert "24 hours" in error.message
    user.withdrawals_locked_until = timezone.now() - timedelta(seconds=1)
    user.save()
    account_freeze(user=user, source=AccountFreeze.Source.SELF, reason="lost phone")
    refused("account_frozen", user, secret, chain["BTC"], "0.1")


def test_daily_limit_counts_the_last_24_hours(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    btc = chain["BTC"]  # limit 5 BTC, review above 2
    fund(user, btc.asset, "9")
    with django_capture_on_commit_callbacks(execute=True):
        request(user, secret, btc, "2", key="a")
        request(user, secret, btc, "2", key="b")
    error = refused("daily_limit", user, secret, btc, "1.5", key="c")
    assert "1.00 BTC left of 5.00" in error.message
    Withdrawal.objects.update(created_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        request(user, secret, btc, "1.5", key="c")


def test_large_withdrawal_waits_for_review_then_is_rejected_with_funds_back(chain, trader, django_capture_on_commit_callbacks, mailoutbox):
    user, secret = trader
    btc = chain["BTC"]
    operator = UserFactory()
    fund(user, btc.asset, "3")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, btc, "2.5")
    assert withdrawal.status == "review" and balance(user, btc.asset) == (D("0.5"), D("2.5"))
    assert not SimTransfer.objects.exists()
    with pytest.raises(WithdrawalRefused, match="reason"):
        withdrawal_review(withdrawal=withdrawal, by=operator, approve=False, note="typed instead of picked")
    with pytest.raises(WithdrawalRefused, match="reason"):
        withdrawal_review(withdrawal=withdrawal, by=operator, approve=False, rejection="not_a_code")
    with pytest.raises(WithdrawalRefused, match="reason"):
        withdrawal_review(withdrawal=withdrawal, by=operator, approve=True, note=" ")
    with pytest.raises(WithdrawalRefused, match="own"):
        withdrawal_review(withdrawal=withdrawal, by=user, approve=True, note="me")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal_review(
            withdrawal=withdrawal, by=operator, approve=False, rejection="address_risk", note="destination linked to a scam report"
        )
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reviewed_by, withdrawal.rejection, withdrawal.review_note) == (
        "rejected",
        operator,
        "address_risk",
        "destination linked to a scam report",
    )
    assert balance(user, btc.asset) == (D("3"), 0)
    body = mailoutbox[-1].body
    assert "Reason: Our compliance checks flagged the destination address. Withdraw to another address." in body
    assert "scam report" not in body  # the staff note stays with the staff
    with pytest.raises(WithdrawalRefused):
        withdrawal_review(withdrawal=withdrawal, by=operator, approve=True, note="again")


def test_approved_withdrawal_is_broadcast(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    btc = chain["BTC"]
    deposit(user, btc, "3")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, btc, "2.5")
        withdrawal_review(withdrawal=withdrawal, by=UserFactory(), approve=True, note="known customer, checked by phone")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "broadcast" and balance(user, btc.asset) == (D("0.5"), 0)
    assert custody_violations() == [] and ledger_violations() == []


def test_cancel_before_broadcast_releases_and_after_broadcast_is_refused(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    btc = chain["BTC"]
    fund(user, btc.asset, "3")
    with django_capture_on_commit_callbacks(execute=True):
        in_review = request(user, secret, btc, "2.5", key="big")
    withdrawal_cancel(withdrawal=in_review, user=user)
    assert Withdrawal.objects.get(pk=in_review.pk).status == "cancelled" and balance(user, btc.asset) == (D("3"), 0)
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_cancel(withdrawal=in_review, user=user)
    assert info.value.code == "not_cancellable"
    other = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        sent = request(user, secret, btc, "0.5", key="small")
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_cancel(withdrawal=sent, user=other)
    assert info.value.code == "not_found"
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_cancel(withdrawal=sent, user=user)
    assert info.value.code == "not_cancellable"


def test_withdrawal_to_an_agora_address_is_an_instant_internal_transfer_without_fee(
    chain, trader, django_capture_on_commit_callbacks, mailoutbox
):
    user, secret = trader
    friend = UserFactory(language="fr")
    usdt = chain["USDT"]
    fund(user, usdt.asset, "100")
    target = deposit_address_for(user=friend, network=chain["ETH"])  # ERC20: the same address takes USDT
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, usdt, "3.5", address=target.address)  # below the on-chain minimum of 10: fine inside
    assert (withdrawal.status, withdrawal.fee, withdrawal.net_amount, withdrawal.internal_recipient) == ("completed", 0, D("3.5"), friend)
    assert balance(user, usdt.asset) == (D("96.5"), 0) and balance(friend, usdt.asset) == (D("3.5"), 0)
    assert not SimTransfer.objects.exists() and withdrawal.journal.kind == Journal.Kind.TRANSFER
    assert Notice.objects.get(kind="transfer_received").user == friend
    assert mailoutbox[-1].to == [friend.email] and mailoutbox[-1].subject == "[Agora] Vous avez reçu 3,50 USDT"
    own = deposit_address_for(user=user, network=chain["ETH"])
    refused("own_address", user, secret, usdt, "1", address=own.address, key="own")


def test_memo_chain_internal_transfer_needs_the_right_memo(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    friend = UserFactory()
    xrp = chain["XRP"]
    fund(user, xrp.asset, "100")
    target = deposit_address_for(user=friend, network=xrp)
    with django_capture_on_commit_callbacks(execute=True):
        inside = request(user, secret, xrp, "30", address=target.address, memo=target.memo, key="a")
    assert inside.is_internal and inside.status == "completed"
    # Our shared address with a tag nobody owns is not an external destination: sending there would
    # debit the user while the coins stay in our custody (a surplus ledger_check reports).
    refused("platform_address", user, secret, xrp, "30", address=target.address, memo="12345", key="b")
    assert balance(user, xrp.asset) == (D("70"), 0) and balance(friend, xrp.asset) == (D("30"), 0)
    assert Withdrawal.objects.filter(user=user).count() == 1
    assert ledger_violations() == [] and custody_violations() == []


def test_address_book_whitelist_and_cooling(chain, trader, django_capture_on_commit_callbacks, settings):
    user, secret = trader
    btc = chain["BTC"]
    fund(user, btc.asset, "1")
    entry = address_book_add(user=user, network=btc, label="cold wallet", address=BTC_GENESIS)
    assert SecurityEvent.objects.filter(user=user, kind="address_added").exists()
    with pytest.raises(WithdrawalRefused, match="already"):
        address_book_add(user=user, network=btc, label="again", address=BTC_GENESIS)
    whitelist_mode_set(user=user, enabled=True)
    refused("address_not_whitelisted", user, secret, btc, "0.1", address=BTC_TAPROOT)
    refused("address_cooling", user, secret, btc, "0.1", address=BTC_GENESIS)
    entry.usable_from = timezone.now() - timedelta(minutes=1)
    entry.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert request(user, secret, btc, "0.1", address=BTC_GENESIS).status == "queued"
    whitelist_mode_set(user=user, enabled=False)  # turning it off locks withdrawals for 24 h
    user.refresh_from_db()
    assert user.withdrawals_locked
    refused("security_lock", user, secret, btc, "0.1", address=BTC_TAPROOT, key="k2")


def test_broadcast_is_idempotent_when_the_task_runs_twice(chain, trader, django_capture_on_commit_callbacks):
    from wallets.services import withdrawal_broadcast

    user, secret = trader
    deposit(user, chain["BTC"], "1")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, chain["BTC"], "0.5")
    withdrawal.refresh_from_db()
    # A crash after the chain accepted it but before our commit: the adapter returns the same tx.
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status="queued")
    adapter = chain_adapter("BTC")
    assert adapter.broadcast(key=f"withdrawal-{withdrawal.pk}", token="BTC", to_address="x", memo="", amount=D("1")) == withdrawal.tx_hash
    assert SimTransfer.objects.filter(outgoing_key__isnull=False).count() == 1
    withdrawal_broadcast(withdrawal_id=withdrawal.pk)  # journal key already used: nothing posted twice
    assert Journal.objects.filter(kind="withdrawal").count() == 1
    assert balance(user, chain["BTC"].asset) == (D("0.5"), 0)
    assert ledger_violations() == [] and custody_violations() == []


def test_a_freeze_holds_a_queued_withdrawal_and_blocks_its_approval(chain, trader):
    from wallets.services import withdrawal_broadcast

    user, secret = trader
    fund(user, chain["BTC"].asset, "3")
    queued = request(user, secret, chain["BTC"], "0.5", key="small")  # its task has not run yet
    in_review = request(user, secret, chain["BTC"], "2.2", key="big")
    account_freeze(user=user, source=AccountFreeze.Source.SELF, reason="phone stolen")
    held = withdrawal_broadcast(withdrawal_id=queued.pk)
    assert held.status == "review" and "frozen" in held.review_note and not SimTransfer.objects.exists()
    with pytest.raises(WithdrawalRefused, match="frozen"):
        withdrawal_review(withdrawal=in_review, by=UserFactory(), approve=True, note="looks fine")
    withdrawal_review(withdrawal=in_review, by=UserFactory(), approve=False, rejection="account_frozen")
    assert balance(user, chain["BTC"].asset) == (D("2.5"), D("0.5"))  # the rejected 2.2 is back; the held 0.5 waits for review


def test_a_crash_after_the_chain_accepted_leaves_it_sending_not_cancellable_and_the_retry_settles_once(chain, trader):
    from wallets.services import withdrawal_broadcast
    from wallets.tasks import withdrawals_broadcast_pending

    user, secret = trader
    deposit(user, chain["BTC"], "1")
    withdrawal = request(user, secret, chain["BTC"], "0.5")  # queued: the task runs after commit, not here
    # Simulate step 1 and the chain call, then a crash before step 3's commit.
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status="sending")
    tx = chain_adapter("BTC").broadcast(
        key=f"withdrawal-{withdrawal.pk}", token="BTC", to_address=withdrawal.address, memo="", amount=withdrawal.net_amount
    )
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_cancel(withdrawal=withdrawal, user=user)
    assert info.value.code == "not_cancellable"
    withdrawals_broadcast_pending()  # the sweep
    withdrawal_broadcast(withdrawal_id=withdrawal.pk)  # and a late original task
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.tx_hash) == ("broadcast", tx)
    assert SimTransfer.objects.filter(outgoing_key__isnull=False).count() == 1
    assert Journal.objects.filter(kind="withdrawal").count() == 1
    assert balance(user, chain["BTC"].asset) == (D("0.5"), 0)
    chain_scan(chain="BTC")
    assert ledger_violations() == [] and custody_violations() == []


def test_large_internal_transfer_waits_for_review_and_checksummed_addresses_are_recognised(
    chain, trader, django_capture_on_commit_callbacks
):
    user, secret = trader
    friend = UserFactory()
    eth = chain["ETH"]
    eth.asset.withdrawal_review_threshold = D("10")
    eth.asset.save()
    fund(user, eth.asset, "50")
    target = deposit_address_for(user=friend, network=eth)
    checksummed = "0x" + target.address[2:].upper()
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(user, secret, eth, "20", address=checksummed)
    assert withdrawal.is_internal and withdrawal.status == "review" and balance(user, eth.asset) == (D("30"), D("20"))
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal_review(withdrawal=withdrawal, by=UserFactory(), approve=True, note="customer confirmed by phone")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "completed" and withdrawal.fee == 0
    assert balance(user, eth.asset) == (D("30"), 0) and balance(friend, eth.asset) == (D("20"), 0)
    error = refused("above_maximum", user, secret, eth, "1000.5", address=target.address, key="max")
    assert "1,000" in error.message
