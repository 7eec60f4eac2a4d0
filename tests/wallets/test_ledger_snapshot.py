"""ledger_check and reconciliation read one consistent snapshot while money moves (PostgreSQL)."""

import threading
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.conftest import on_postgres
from tests.factories import UserFactory
from wallets.ledger import transfer, user_account
from wallets.models import Asset, Reconciliation
from wallets.selectors import ledger_violations
from wallets.services import ledger_adjust

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not on_postgres(), reason="a concurrent writer needs PostgreSQL (DATABASE_URL)"),
]


def _accounts(count: int):
    asset = Asset.objects.create(symbol="SNP", name="Snapshot coin", precision=8)
    accounts = []
    for i in range(count):
        user = UserFactory()
        ledger_adjust(user=user, asset=asset, amount=D("100"), reason="fund", idempotency_key=f"fund-{i}")
        accounts.append(user_account(user=user, asset=asset))
    return accounts


class Writer(threading.Thread):
    """Posts balanced transfers between the accounts, one committed journal after another, until
    stopped; `posted` counts them so the test knows the writer really ran alongside the checks."""

    def __init__(self, accounts):
        super().__init__(daemon=True)
        self.accounts, self.stop, self.posted, self.error = accounts, threading.Event(), 0, None

    def run(self):
        try:
            n = len(self.accounts)
            while not self.stop.is_set():
                i = self.posted
                source, target = self.accounts[i % n], self.accounts[(i * 7 + 1) % n]
                if source.pk != target.pk:
                    transfer(source=source, target=target, amount=D("0.01"), idempotency_key=f"snap-{i}")
                self.posted += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            connection.close()


def _run_with_writer(accounts, check, runs):
    writer = Writer(accounts)
    writer.start()
    try:
        results = [check() for _ in range(runs)]
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None and writer.posted >= 5  # the writer really ran alongside the checks
    return results


def test_ledger_check_reports_no_false_failures_while_journals_are_posted():
    accounts = _accounts(40)

    def check():
        try:
            call_command("ledger_check", "--skip-custody", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
            return "ok"
        except CommandError as failed:
            return str(failed)

    results = _run_with_writer(accounts, check, runs=25)
    assert results == ["ok"] * 25
    assert ledger_violations() == []


def test_ledger_violations_alone_reads_one_snapshot():
    accounts = _accounts(40)
    results = _run_with_writer(accounts, ledger_violations, runs=25)
    assert results == [[]] * 25


class Depositor(Writer):
    """Deposits arrive and are credited (chain transfer, scan, custody and user journal) until stopped."""

    def __init__(self, network, address):
        super().__init__([])
        self.network, self.address = network, address

    def run(self):
        from wallets.chains import chain_adapter
        from wallets.services import chain_scan

        try:
            adapter = chain_adapter(self.network.code)
            while not self.stop.is_set():
                adapter.mine(token=self.network.asset.symbol, to_address=self.address, amount=D("0.01"), from_address="outside")
                chain_scan(chain=self.network.code)
                self.posted += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            connection.close()


def test_scheduled_reconciliation_reports_no_false_discrepancy_while_deposits_are_credited():
    from wallets.models import Network
    from wallets.services import deposit_address_for, reconciliation_run

    asset = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
    network = Network.objects.create(
        asset=asset, code="BTC", name="Bitcoin", confirmations=1, withdrawal_fee=D("0"), withdrawal_min=D("0"), withdrawal_max=D("10")
    )
    address = deposit_address_for(user=UserFactory(), network=network).address
    writer = Depositor(network, address)
    writer.start()
    try:
        results = [reconciliation_run(trigger=Reconciliation.Trigger.SCHEDULED).discrepancies for _ in range(20)]
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None and writer.posted >= 5
    assert results == [0] * 20
