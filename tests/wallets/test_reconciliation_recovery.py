from decimal import Decimal as D

import pytest

from tests.factories import UserFactory
from tests.wallets.conftest import balance, deposit, send
from wallets.chains import chain_adapter
from wallets.ledger import system_account
from wallets.models import AccountKind, Deposit, Payout, Reconciliation, RecoveryRequest
from wallets.selectors import custody_violations, ledger_violations
from wallets.services import (
    RecoveryRefused,
    chain_scan,
    deposit_address_for,
    ledger_adjust,
    reconciliation_run,
    reconciliation_surplus_book,
    recovery_answer,
    recovery_approve,
    recovery_ownership_verify,
    recovery_reject,
    recovery_submit,
)

pytestmark = pytest.mark.django_db


def test_clean_reconciliation_has_no_discrepancies(chain, mailoutbox):
    alice = UserFactory()
    deposit(alice, chain["BTC"], "2")
    report = reconciliation_run(trigger="manual")
    assert report.discrepancies == 0 and mailoutbox == []
    line = report.lines.get(network=chain["BTC"])
    assert (line.chain_holdings, line.ledger_custody, line.in_flight, line.unattributed, line.difference, line.liabilities) == (
        D("2"),
        D("2"),
        0,
        0,
        0,
        D("2"),
    )


def test_surplus_and_shortfall_are_reported_and_operators_alerted(chain, django_capture_on_commit_callbacks, mailoutbox):
    from accounts.services import role_assign

    operator = role_assign(user=UserFactory(email="ops@x.test"), role="operator")
    alice = UserFactory()
    deposit(alice, chain["BTC"], "1")
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.3", "BTC")  # accrued on its own
    assert reconciliation_run(trigger="manual").discrepancies == 0  # the scanner has not read that block yet
    chain_scan(chain="BTC")
    ledger_adjust(user=alice, asset=chain["ETH"].asset, amount=D("5"), reason="goodwill", idempotency_key="gw")  # owed, not held
    with django_capture_on_commit_callbacks(execute=True):
        report = reconciliation_run(trigger="scheduled")
    btc = report.lines.get(network=chain["BTC"])
    eth = report.lines.get(network=chain["ETH"])
    assert btc.difference == D("0.3") and eth.difference == 0
    assert (eth.liabilities, eth.asset_chain_total) == (D("5"), 0)
    assert report.discrepancies == 2  # BTC surplus, ETH liabilities above holdings
    assert mailoutbox[-1].to == [operator.email]
    assert "BTC/BTC: surplus of 0.3" in mailoutbox[-1].body and "ETH: liabilities 5" in mailoutbox[-1].body
    # The surplus seeds a distribution; booking it twice is refused.
    payout = reconciliation_surplus_book(line=btc, by=operator)
    assert (payout.status, payout.basis, payout.pool_amount, payout.reward_asset) == ("draft", "pool", D("0.3"), chain["BTC"].asset)
    assert system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=chain["BTC"].asset).available == D("0.3")
    with pytest.raises(ValueError, match="already"):
        reconciliation_surplus_book(line=btc, by=operator)
    with pytest.raises(ValueError, match="only a surplus"):
        reconciliation_surplus_book(line=eth, by=operator)
    assert custody_violations() == [] and ledger_violations() == []
    assert reconciliation_run(trigger="manual").lines.get(network=chain["BTC"]).difference == 0


def missing_memo_deposit(chain, amount="50"):
    hot = chain_adapter("XRP").hot_wallet()
    transfer = send("XRP", hot, amount, "XRP")
    chain_scan(chain="XRP")
    return transfer


def test_recovery_of_a_missing_memo_deposit_needs_acceptance_and_two_operators(chain, django_capture_on_commit_callbacks, mailoutbox):
    alice = UserFactory()
    deposit_address_for(user=alice, network=chain["XRP"])
    transfer = missing_memo_deposit(chain)
    request = recovery_submit(user=alice, tx_hash=transfer.tx_hash, chain="xrp", token="xrp", amount=D("50"), address=transfer.to_address)
    # No memo: nothing on chain says whose it is, so nothing is quoted before an operator checks proof.
    assert (request.status, request.check_result, request.fee, request.deposit.status) == (
        "submitted",
        "ownership_unverified",
        D("2.5"),
        "unmatched",
    )
    with pytest.raises(RecoveryRefused):
        recovery_answer(request=request, user=alice, accept=True)
    with pytest.raises(RecoveryRefused, match="own"):
        recovery_ownership_verify(request=request, by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        request = recovery_ownership_verify(request=request, by=UserFactory())
    assert (request.status, request.check_result) == ("quoted", "ok")
    assert "2.50 XRP" in mailoutbox[-1].body or "2.5 XRP" in mailoutbox[-1].body
    with pytest.raises(RecoveryRefused):
        recovery_approve(request=request, by=UserFactory())  # not accepted yet
    recovery_answer(request=request, user=alice, accept=True)
    first, second = UserFactory(), UserFactory()
    assert recovery_approve(request=request, by=first).status == "approved_once"
    with pytest.raises(RecoveryRefused, match="second"):
        recovery_approve(request=request, by=first)
    with django_capture_on_commit_callbacks(execute=True):
        request = recovery_approve(request=request, by=second)
    assert request.status == "credited" and balance(alice, chain["XRP"].asset) == (D("47.5"), 0)
    assert system_account(kind=AccountKind.FEES, asset=chain["XRP"].asset).available == D("2.5")
    assert Deposit.objects.get().status == "recovered"
    assert custody_violations() == [] and ledger_violations() == []
    # Someone else's claim on the same transfer can be filed (operators judge the proof) but never credited twice.
    squatter = recovery_submit(
        user=UserFactory(), tx_hash=transfer.tx_hash, chain="XRP", token="XRP", amount=D("50"), address=transfer.to_address
    )
    assert (squatter.status, squatter.check_result) == ("rejected", "already_credited")


def test_recovery_checks_refuse_what_is_not_ours_credited_or_unlisted(chain):
    alice, bob = UserFactory(), UserFactory()
    credited = deposit(alice, chain["BTC"], "1")
    btc_tx = Deposit.objects.get(chain="BTC").tx_hash
    r = recovery_submit(
        user=alice, tx_hash=btc_tx, chain="BTC", token="BTC", amount=D("1"), address=Deposit.objects.get(chain="BTC").address
    )
    assert (r.status, r.check_result) == ("rejected", "already_credited")
    r = recovery_submit(user=alice, tx_hash="0xnothing", chain="ERC20", token="USDT", amount=D("5"), address="0xabc")
    assert (r.status, r.check_result, r.rejection) == ("rejected", "not_found", "not_found")
    eth = deposit_address_for(user=bob, network=chain["ETH"])
    shib = send("ERC20", eth.address, "1000", "SHIB")
    chain_scan(chain="ERC20")
    r = recovery_submit(user=alice, tx_hash=shib.tx_hash, chain="ERC20", token="SHIB", amount=D("1000"), address=eth.address)
    assert r.check_result == "not_yours"
    r = recovery_submit(user=bob, tx_hash=shib.tx_hash, chain="ERC20", token="SHIB", amount=D("1000"), address=eth.address)
    assert r.check_result == "asset_unlisted"
    wrong = send("BEP20", eth.address, "30", "USDT")
    chain_scan(chain="BEP20")
    r = recovery_submit(user=bob, tx_hash=wrong.tx_hash, chain="BEP20", token="USDT", amount=D("31"), address=eth.address)
    assert r.check_result == "details_differ"
    with pytest.raises(RecoveryRefused):
        recovery_submit(user=bob, tx_hash=wrong.tx_hash, chain="BEP20", token="USDT", amount=D("0"), address=eth.address)
    assert credited["credited"] == 1


def test_wrong_network_recovery_is_credited_from_adjustments_and_can_be_rejected(chain, django_capture_on_commit_callbacks):
    bob = UserFactory()
    eth = deposit_address_for(user=bob, network=chain["ETH"])
    wrong = send("BEP20", eth.address, "30", "USDT")  # USDT is not listed on BEP20
    chain_scan(chain="BEP20")
    request = recovery_submit(user=bob, tx_hash=wrong.tx_hash, chain="BEP20", token="USDT", amount=D("30"), address=eth.address)
    recovery_answer(request=request, user=bob, accept=True)
    recovery_approve(request=request, by=UserFactory())
    recovery_approve(request=request, by=UserFactory())
    assert balance(bob, chain["USDT"].asset) == (D("28.5"), 0)
    assert system_account(kind=AccountKind.ADJUSTMENTS, asset=chain["USDT"].asset).available == D("-30")
    other = missing_memo_deposit(chain, "20")
    request = recovery_submit(user=bob, tx_hash=other.tx_hash, chain="XRP", token="XRP", amount=D("20"), address=other.to_address)
    with pytest.raises(RecoveryRefused):
        recovery_reject(request=request, by=UserFactory(), rejection="the memo belongs to a different exchange customer")
    with django_capture_on_commit_callbacks(execute=True):
        recovery_reject(
            request=request, by=UserFactory(), rejection="ownership_not_proven", note="the memo belongs to a different exchange customer"
        )
    rejected = RecoveryRequest.objects.get(pk=request.pk)
    assert (rejected.status, rejected.rejection, rejected.reject_note) == (
        "rejected",
        "ownership_not_proven",
        "the memo belongs to a different exchange customer",
    )
    assert Reconciliation.objects.count() == 0 and Payout.objects.count() == 0


def test_a_surplus_is_booked_once_even_from_two_reports(chain):
    operator = UserFactory()
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.3", "BTC")
    chain_scan(chain="BTC")
    older = reconciliation_run(trigger="manual").lines.get(network=chain["BTC"])
    newer = reconciliation_run(trigger="manual").lines.get(network=chain["BTC"])
    with pytest.raises(ValueError, match="newer reconciliation"):
        reconciliation_surplus_book(line=older, by=operator)
    reconciliation_surplus_book(line=newer, by=operator)
    again = reconciliation_run(trigger="manual").lines.get(network=chain["BTC"])
    assert again.difference == 0
    assert system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=chain["BTC"].asset).available == D("0.3")
    # A surplus that changed since the report (coins left, or arrived) must be measured again.
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.1", "BTC")
    chain_scan(chain="BTC")
    line = reconciliation_run(trigger="manual").lines.get(network=chain["BTC"])
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.05", "BTC")
    chain_scan(chain="BTC")
    with pytest.raises(ValueError, match="run reconciliation again"):
        reconciliation_surplus_book(line=line, by=operator)


def test_operators_cannot_approve_their_own_recovery(chain):
    operator = UserFactory()
    eth = deposit_address_for(user=operator, network=chain["ETH"])
    wrong = send("BEP20", eth.address, "30", "USDT")
    chain_scan(chain="BEP20")
    request = recovery_submit(user=operator, tx_hash=wrong.tx_hash, chain="BEP20", token="USDT", amount=D("30"), address=eth.address)
    recovery_answer(request=request, user=operator, accept=True)
    with pytest.raises(RecoveryRefused, match="own"):
        recovery_approve(request=request, by=operator)
