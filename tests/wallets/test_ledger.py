from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from tests.factories import UserFactory
from wallets.ledger import (
    InsufficientFunds,
    InvalidAmount,
    Line,
    UnbalancedJournal,
    amount_parse,
    hold_place,
    hold_release,
    journal_post,
    system_account,
    transfer,
    user_account,
)
from wallets.models import AccountKind, Asset, Entry, Journal, LedgerAccount, Network
from wallets.selectors import ledger_violations
from wallets.services import ledger_adjust

pytestmark = pytest.mark.django_db


@pytest.fixture
def btc():
    return Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)


@pytest.fixture
def usdt():
    return Asset.objects.create(symbol="USDT", name="Tether", precision=6)


def funded(user, asset, amount):
    ledger_adjust(user=user, asset=asset, amount=D(amount), reason="test funding", idempotency_key=f"fund-{user.pk}-{asset.pk}-{amount}")
    return user_account(user=user, asset=asset)


def test_adjust_credits_user_and_debits_adjustments_to_the_last_unit(btc):
    alice = UserFactory()
    account = funded(alice, btc, "1.23456789")
    adjustments = system_account(kind=AccountKind.ADJUSTMENTS, asset=btc)
    account.refresh_from_db()
    adjustments.refresh_from_db()
    assert account.available == D("1.23456789") and account.locked == 0
    assert adjustments.available == D("-1.23456789")
    assert ledger_violations() == []


def test_same_idempotency_key_posts_once(btc):
    alice = UserFactory()
    for _ in range(3):
        ledger_adjust(user=alice, asset=btc, amount=D("1"), reason="retry", idempotency_key="same-key")
    assert Journal.objects.count() == 1
    assert user_account(user=alice, asset=btc).available == D("1")


def test_unbalanced_and_bad_amounts_write_nothing(btc, usdt):
    alice = UserFactory()
    account, fees = user_account(user=alice, asset=btc), system_account(kind=AccountKind.FEES, asset=btc)
    with pytest.raises(UnbalancedJournal):
        journal_post(kind=Journal.Kind.FEE, idempotency_key="k1", lines=[Line(account, D("1")), Line(fees, D("-0.9"))])
    other = system_account(kind=AccountKind.FEES, asset=usdt)
    with pytest.raises(UnbalancedJournal):  # sums to zero across assets but not per asset
        journal_post(kind=Journal.Kind.FEE, idempotency_key="k2", lines=[Line(account, D("1")), Line(other, D("-1"))])
    with pytest.raises(InvalidAmount):
        journal_post(kind=Journal.Kind.FEE, idempotency_key="k3", lines=[Line(account, D("0.000000001")), Line(fees, D("-0.000000001"))])
    with pytest.raises(InvalidAmount):
        journal_post(kind=Journal.Kind.FEE, idempotency_key="k4", lines=[Line(account, D("0")), Line(fees, D("0"))])
    assert Journal.objects.count() == 0 and Entry.objects.count() == 0


@pytest.mark.parametrize("raw", ["0.123456789", "1e-9", "NaN", "Infinity", "-Infinity", "abc", "", "1e40"])
def test_amount_parse_refuses(btc, raw):
    with pytest.raises(InvalidAmount):
        amount_parse(raw, btc)


def test_amount_parse_accepts_exact_values(btc):
    assert amount_parse("0.00100000", btc) == D("0.001")
    assert amount_parse("1e-05", btc) == D("0.00001")
    assert amount_parse(20000, btc) == D("20000")
    with pytest.raises(InvalidAmount):
        amount_parse(0.1, btc)


def test_overdraft_is_refused_and_nothing_moves(btc):
    alice, bob = UserFactory(), UserFactory()
    a = funded(alice, btc, "1")
    b = user_account(user=bob, asset=btc)
    with pytest.raises(InsufficientFunds) as error:
        transfer(source=a, target=b, amount=D("1.00000001"), idempotency_key="t1")
    assert error.value.short_by == D("0.00000001")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.available, b.available) == (D("1"), D("0"))
    assert not Journal.objects.filter(idempotency_key="t1").exists()


def test_hold_and_release(btc):
    alice = UserFactory()
    a = funded(alice, btc, "2")
    hold_place(account=a, amount=D("1.5"), idempotency_key="h1")
    a.refresh_from_db()
    assert (a.available, a.locked) == (D("0.5"), D("1.5"))
    with pytest.raises(InsufficientFunds):
        hold_place(account=a, amount=D("0.50000001"), idempotency_key="h2")
    with pytest.raises(InsufficientFunds):
        hold_release(account=a, amount=D("1.6"), idempotency_key="r0")
    hold_release(account=a, amount=D("0.4"), idempotency_key="r1")
    a.refresh_from_db()
    assert (a.available, a.locked, a.total) == (D("0.9"), D("1.1"), D("2"))
    assert ledger_violations() == []


def test_database_refuses_negative_user_balance_even_past_the_service(btc):
    account = funded(UserFactory(), btc, "1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=account.pk).update(available=D("-0.00000001"))


def test_custody_account_needs_a_network(btc):
    with pytest.raises(ValueError):
        system_account(kind=AccountKind.CUSTODY, asset=btc)
    network = Network.objects.create(asset=btc, code="BTC", name="Bitcoin", withdrawal_max=D("10"))
    custody = system_account(kind=AccountKind.CUSTODY, asset=btc, network=network)
    assert system_account(kind=AccountKind.CUSTODY, asset=btc, network=network) == custody


class TestLedgerCheckCommand:
    def test_passes_on_a_sound_ledger(self, btc):
        funded(UserFactory(), btc, "3")
        out = StringIO()
        call_command("ledger_check", stdout=out)
        assert "ledger check passed: 1 journals, 2 entries" in out.getvalue()

    def test_fails_with_a_report_when_a_balance_drifts(self, btc):
        account = funded(UserFactory(), btc, "3")
        LedgerAccount.objects.filter(pk=account.pk).update(available=D("3.5"))
        err = StringIO()
        with pytest.raises(CommandError, match="1 problem"):
            call_command("ledger_check", stdout=StringIO(), stderr=err)
        assert "available: balance 3.5 but entries sum to 3\n" in err.getvalue()

    def test_fails_when_a_journal_does_not_balance(self, btc):
        account = funded(UserFactory(), btc, "3")
        Entry.objects.filter(account=account).update(amount=D("4"))
        LedgerAccount.objects.filter(pk=account.pk).update(available=D("4"))
        problems = ledger_violations()
        assert len(problems) == 1 and "does not balance in BTC: off by 1" in problems[0]


class TestLedgerAdjustCommand:
    def test_credits_and_refuses_overdraft(self, btc):
        user = UserFactory()
        out = StringIO()
        call_command("ledger_adjust", user.email, "btc", "0.5", "--reason", "goodwill", stdout=out)
        assert "+0.50000000 BTC" in out.getvalue()
        with pytest.raises(CommandError, match="short by 0.1"):
            call_command("ledger_adjust", user.email, "BTC", "-0.6", "--reason", "oops", stdout=StringIO())
        with pytest.raises(CommandError, match="at most 8 decimals"):
            call_command("ledger_adjust", user.email, "BTC", "0.000000001", "--reason", "x", stdout=StringIO())
        with pytest.raises(CommandError, match="no asset"):
            call_command("ledger_adjust", user.email, "NOPE", "1", "--reason", "x", stdout=StringIO())
        journal = Journal.objects.get()
        assert journal.memo == "goodwill" and journal.kind == Journal.Kind.ADJUSTMENT
        assert user_account(user=user, asset=btc).available == D("0.5")


@pytest.mark.django_db(transaction=True)
def test_read_snapshot_outside_a_transaction_opens_one_and_closes_it():
    from django.db import connection

    from wallets.selectors import read_snapshot

    with read_snapshot():
        Journal.objects.count()
        inside = connection.connection.in_transaction if connection.vendor == "sqlite" else connection.in_atomic_block
    assert inside is True
    assert not connection.in_atomic_block
    if connection.vendor == "sqlite":
        assert connection.connection.in_transaction is False
    call_command("ledger_check", stdout=StringIO())  # the command's snapshot works outside a test transaction too
