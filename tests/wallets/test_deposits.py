from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import UserFactory
from tests.wallets.conftest import balance, mine, send
from wallets.chains import chain_adapter
from wallets.models import ChainCursor, Deposit, DepositAddress, Journal, Notice
from wallets.selectors import custody_violations, ledger_violations
from wallets.services import chain_scan, deposit_address_for

pytestmark = pytest.mark.django_db


def test_deposit_address_is_stable_per_user_and_shared_by_assets_on_one_chain(chain):
    alice, bob = UserFactory(), UserFactory()
    eth = deposit_address_for(user=alice, network=chain["ETH"])
    assert deposit_address_for(user=alice, network=chain["USDT"]) == eth  # ERC20 tokens share the address
    assert eth.address.startswith("0x") and len(eth.address) == 42 and eth.memo == ""
    assert deposit_address_for(user=bob, network=chain["ETH"]).address != eth.address
    btc = deposit_address_for(user=alice, network=chain["BTC"])
    assert btc.address.startswith("bc1q") and btc.address != eth.address
    assert DepositAddress.objects.count() == 3


def test_memo_chain_shares_the_hot_wallet_and_gives_each_user_a_memo(chain):
    alice, bob = UserFactory(), UserFactory()
    a, b = deposit_address_for(user=alice, network=chain["XRP"]), deposit_address_for(user=bob, network=chain["XRP"])
    assert a.address == b.address == chain_adapter("XRP").hot_wallet()
    assert a.memo.isdigit() and b.memo.isdigit() and a.memo != b.memo


def test_deposit_goes_seen_confirming_credited_exactly_once(chain, django_capture_on_commit_callbacks, mailoutbox):
    alice = UserFactory(language="de")
    network = chain["BTC"]  # 2 confirmations
    address = deposit_address_for(user=alice, network=network)
    send("BTC", address.address, "0.12345678", "BTC")
    with django_capture_on_commit_callbacks(execute=True):
        assert chain_scan(chain="BTC")["recorded"] == 1
    deposit = Deposit.objects.get()
    assert (deposit.status, deposit.confirmations, deposit.user, deposit.network) == ("confirming", 1, alice, network)
    assert balance(alice, network.asset) == (0, 0)
    mine("BTC")
    with django_capture_on_commit_callbacks(execute=True):
        result = chain_scan(chain="BTC")
    deposit.refresh_from_db()
    assert result["credited"] == 1 and deposit.status == "credited" and deposit.confirmations == 2
    assert balance(alice, network.asset) == (D("0.12345678"), 0)
    # Scanning again, mining more, and rescanning the chain from the start credit nothing more.
    mine("BTC", 3)
    ChainCursor.objects.filter(chain="BTC").update(scanned_height=0)
    with django_capture_on_commit_callbacks(execute=True):
        chain_scan(chain="BTC")
        chain_scan(chain="BTC")
    assert Deposit.objects.count() == 1 and Journal.objects.filter(kind="deposit").count() == 1
    assert balance(alice, network.asset) == (D("0.12345678"), 0)
    assert ledger_violations() == [] and custody_violations() == []
    # One email, in German, with the amount in German format.
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "[Agora] Einzahlung gutgeschrieben: 0,12345678 BTC"
    assert Notice.objects.get().sent_at is not None


def test_erc20_token_deposit_credits_the_token_not_eth(chain, django_capture_on_commit_callbacks):
    alice = UserFactory()
    address = deposit_address_for(user=alice, network=chain["ETH"])
    send("ERC20", address.address, "250.5", "USDT")
    mine("ERC20", 2)
    with django_capture_on_commit_callbacks(execute=True):
        chain_scan(chain="ERC20")
    assert balance(alice, chain["USDT"].asset) == (D("250.5"), 0)
    assert balance(alice, chain["ETH"].asset) == (0, 0)


def test_unlisted_token_and_missing_memo_are_kept_for_recovery_not_credited(chain, django_capture_on_commit_callbacks):
    alice = UserFactory()
    eth = deposit_address_for(user=alice, network=chain["ETH"])
    xrp = deposit_address_for(user=alice, network=chain["XRP"])
    send("ERC20", eth.address, "1000", "SHIB")  # a token we do not list
    send("XRP", xrp.address, "50", "XRP")  # no memo
    send("XRP", xrp.address, "60", "XRP", memo="999")  # a memo nobody has
    send("BEP20", eth.address, "30", "USDT")  # USDT on a network we do not list it on, to the user's EVM address
    with django_capture_on_commit_callbacks(execute=True):
        for code in ("ERC20", "XRP", "BEP20"):
            chain_scan(chain=code)
    rows = sorted(Deposit.objects.values_list("chain", "token", "amount", "status", "problem", "user"))
    assert rows == [
        ("BEP20", "USDT", D("30"), "unmatched", "unlisted_asset", alice.pk),
        ("ERC20", "SHIB", D("1000"), "unmatched", "unlisted_asset", alice.pk),
        ("XRP", "XRP", D("50"), "unmatched", "memo_missing", None),
        ("XRP", "XRP", D("60"), "unmatched", "memo_missing", None),
    ]
    assert Journal.objects.filter(kind="deposit").count() == 0
    # Held on chain, not in the ledger, but accounted for as awaiting recovery.
    assert custody_violations() == []


def test_transfers_to_foreign_addresses_are_ignored_and_hot_wallet_top_ups_show_as_surplus(chain):
    send("BTC", "bc1qsomeoneelse", "1", "BTC")
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.5", "BTC")  # e.g. accrued rewards
    mine("BTC", 2)
    chain_scan(chain="BTC")
    assert Deposit.objects.count() == 0
    assert custody_violations() == [
        "custody BTC/BTC: chain reports 0.5, ledger custody 0 + in flight 0 + awaiting recovery 0: surplus of 0.5"
    ]


def test_suspended_deposits_wait_and_are_credited_after_resuming(chain, django_capture_on_commit_callbacks):
    alice = UserFactory()
    network = chain["USDT-TRC20"]
    network.deposit_enabled = False
    network.save()
    address = deposit_address_for(user=alice, network=network)
    send("TRC20", address.address, "15", "USDT")
    mine("TRC20", 5)
    with django_capture_on_commit_callbacks(execute=True):
        chain_scan(chain="TRC20")
    assert Deposit.objects.get().status == "confirming"
    network.deposit_enabled = True
    network.save()
    with django_capture_on_commit_callbacks(execute=True):
        chain_scan(chain="TRC20")
    assert Deposit.objects.get().status == "credited"
    assert balance(alice, network.asset) == (D("15"), 0)


def test_chain_send_command(chain):
    alice = UserFactory()
    address = deposit_address_for(user=alice, network=chain["BTC"])
    out = StringIO()
    call_command("chain_send", "BTC", address.address, "0.5", "--scan", stdout=out)
    assert "sent 0.5 BTC on BTC" in out.getvalue() and "'recorded': 1" in out.getvalue()
    with pytest.raises(CommandError, match="choose one with --asset"):
        call_command("chain_send", "ERC20", address.address, "1")
    with pytest.raises(CommandError, match="positive"):
        call_command("chain_send", "BTC", address.address, "-1")
    with pytest.raises(CommandError, match="not an amount"):
        call_command("chain_send", "BTC", address.address, "abc")
    call_command("chain_send", "ERC20", "0xabc", "5", "--asset", "shib", stdout=StringIO())
    assert chain_adapter("ERC20").height() == 1


def test_ledger_check_fails_on_a_custody_difference(chain):
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.25", "BTC")
    call_command("ledger_check", stdout=StringIO())  # not scanned yet: measured at the scanner's height
    chain_scan(chain="BTC")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("ledger_check", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("ledger_check", "--skip-custody", stdout=out)
    assert "passed" in out.getvalue()


def test_zero_and_over_precise_transfers_do_not_stop_the_chain(chain, django_capture_on_commit_callbacks):
    alice = UserFactory()
    address = deposit_address_for(user=alice, network=chain["ETH"])
    send("ERC20", address.address, "0", "ETH")  # a zero-value transfer (address poisoning)
    send("ERC20", address.address, "0.000000000000000001", "ETH")  # 1 wei: finer than the 8 decimals we keep
    send("ERC20", address.address.upper().replace("0X", "0x"), "1.5", "ETH")  # a checksummed (mixed-case) address
    mine("ERC20", 2)
    with django_capture_on_commit_callbacks(execute=True):
        chain_scan(chain="ERC20")
    rows = sorted(Deposit.objects.values_list("amount", "status", "problem"))
    assert rows == [(D("0.000000000000000001"), "unmatched", "too_precise"), (D("1.5"), "credited", "")]
    assert balance(alice, chain["ETH"].asset) == (D("1.5"), 0)
    assert ledger_violations() == [] and custody_violations() == []


def test_a_top_up_from_our_own_cold_wallet_on_a_memo_chain_is_not_a_deposit(chain):
    hot = chain_adapter("XRP").hot_wallet()
    chain_adapter("XRP").mine(token="XRP", to_address=hot, amount=D("1000"), from_address="cold-wallet")
    chain_scan(chain="XRP")
    assert Deposit.objects.count() == 0
    assert custody_violations() == [
        "custody XRP/XRP: chain reports 1000, ledger custody 0 + in flight 0 + awaiting recovery 0: surplus of 1000"
    ]
