"""Reconciliation: what the chains say we hold against what the ledger says, per asset and network.

chain holdings = ledger custody + deposits in flight + unattributed transfers + difference.
A non-zero difference (surplus or shortfall) and liabilities above what the chains hold for an
asset are discrepancies: the report is kept and operators are alerted. A surplus can be booked to
the distribution pool, which seeds a draft distribution.
"""

import logging
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from accounts.models import User
from wallets.chains import chain_adapter
from wallets.ledger import Line, accounts_lock, journal_post, system_account
from wallets.models import (
    AccountKind,
    ChainCursor,
    Deposit,
    Journal,
    LedgerAccount,
    Network,
    Payout,
    Reconciliation,
    ReconciliationLine,
    Withdrawal,
)

log = logging.getLogger(__name__)

LIABILITY_KINDS = [AccountKind.USER, AccountKind.FEES, AccountKind.DISTRIBUTION_POOL, AccountKind.COMPENSATION_POOL, AccountKind.DUST]


def _sum(values) -> Decimal:
    return sum(values, Decimal(0))  # exact (SQLite's SUM() is a float)


def custody_positions(*, networks=None) -> list[dict]:
    """Per network, as of the deposit scanner's height on its chain: chain holdings, less our sent
    withdrawals the scanner has not seen in a block yet, against ledger custody + deposits in
    flight + unattributed transfers; the rest is the difference (surplus > 0, shortfall < 0)."""
    holdings_by_chain: dict[str, dict[str, Decimal]] = {}
    cursors = dict(ChainCursor.objects.values_list("chain", "scanned_height"))
    positions = []
    networks = networks if networks is not None else Network.objects.select_related("asset").order_by("asset__symbol", "code")
    for network in networks:
        if network.code not in holdings_by_chain:
            holdings_by_chain[network.code] = chain_adapter(network.code).holdings(up_to_height=cursors.get(network.code, 0))
        symbol = network.asset.symbol
        chain_holdings = holdings_by_chain[network.code].get(symbol, Decimal(0))
        custody_account = LedgerAccount.objects.filter(kind=AccountKind.CUSTODY, network=network).first()
        custody = -custody_account.available if custody_account else Decimal(0)
        in_flight = _sum(
            Deposit.objects.filter(network=network, status__in=[Deposit.Status.SEEN, Deposit.Status.CONFIRMING]).values_list(
                "amount", flat=True
            )
        )
        unattributed = _sum(
            Deposit.objects.filter(chain=network.code, token=symbol, status=Deposit.Status.UNMATCHED).values_list("amount", flat=True)
        )
        sending = _sum(
            Withdrawal.objects.filter(network=network, status=Withdrawal.Status.BROADCAST, block_height__isnull=True).values_list(
                "net_amount", flat=True
            )
        )
        positions.append(
            {
                "network": network,
                "chain_holdings": chain_holdings - sending,
                "ledger_custody": custody,
                "in_flight": in_flight,
                "unattributed": unattributed,
                "difference": chain_holdings - sending - custody - in_flight - unattributed,
            }
        )
    return positions


def liabilities_by_asset() -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for asset_id, available, locked in (
        LedgerAccount.objects.filter(kind__in=LIABILITY_KINDS).values_list("asset_id", "available", "locked").iterator()
    ):
        totals[asset_id] += available + locked
    return totals


def reconciliation_run(*, trigger: str, by: User | None = None) -> Reconciliation:
    """Positions and liabilities are read in one snapshot (`read_snapshot`), then the report is
    written: a journal posted mid-read cannot show up as a false discrepancy."""
    from wallets.selectors import read_snapshot

    with read_snapshot():
        positions = custody_positions()
        liabilities = liabilities_by_asset()
    chain_totals: dict[int, Decimal] = defaultdict(Decimal)
    for position in positions:
        chain_totals[position["network"].asset_id] += position["chain_holdings"]
    with transaction.atomic():
        report = Reconciliation.objects.create(trigger=trigger, run_by=by)
        lines = [
            ReconciliationLine(
                reconciliation=report,
                liabilities=liabilities.get(p["network"].asset_id, Decimal(0)),
                asset_chain_total=chain_totals[p["network"].asset_id],
                **p,
            )
            for p in positions
        ]
        ReconciliationLine.objects.bulk_create(lines)
        short_assets = {line.network.asset_id for line in lines if line.liabilities > line.asset_chain_total}
        report.discrepancies = sum(1 for line in lines if line.difference != 0) + len(short_assets)
        report.save(update_fields=["discrepancies"])
    if report.discrepancies:
        _alert(report, lines)
    return report


def _alert(report: Reconciliation, lines: list[ReconciliationLine]) -> None:
    body = [f"Reconciliation #{report.pk} found {report.discrepancies} discrepancies:"]
    for line in lines:
        if line.difference:
            kind = "surplus" if line.difference > 0 else "shortfall"
            body.append(
                f"- {line.network}: {kind} of {abs(line.difference)} (chain {line.chain_holdings}, ledger custody {line.ledger_custody}, "
                f"in flight {line.in_flight}, unattributed {line.unattributed})"
            )
        if line.liabilities > line.asset_chain_total:
            body.append(f"- {line.network.asset}: liabilities {line.liabilities} exceed chain holdings {line.asset_chain_total}")
    body.append(f"{settings.SITE_URL.rstrip('/')}/en/admin/wallets/reconciliation/{report.pk}/change/")
    log.warning("\n".join(body))
    recipients = list(User.objects.filter(groups__name="operator", is_active=True).values_list("email", flat=True))
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                f"[Agora] reconciliation: {report.discrepancies} discrepancies", "\n".join(body), settings.DEFAULT_FROM_EMAIL, recipients
            )
        )


@transaction.atomic
def reconciliation_surplus_book(*, line: ReconciliationLine, by: User) -> Payout:
    """Book a line's surplus from custody into the distribution pool and open a draft
    distribution of it (the operator picks the holders' asset and period, then previews)."""
    line = ReconciliationLine.objects.select_for_update(no_key=True, of=("self",)).select_related("network__asset").get(pk=line.pk)
    if line.difference <= 0:
        raise ValueError("only a surplus can seed a distribution")
    if line.surplus_journal_id:
        raise ValueError("this surplus was already booked")
    if Reconciliation.objects.order_by("-run_at", "-id").values_list("pk", flat=True).first() != line.reconciliation_id:
        raise ValueError("a newer reconciliation exists: book from the latest one")
    # Lock custody, then measure again: a surplus booked since (or coins that left) must not be booked twice.
    custody = system_account(kind=AccountKind.CUSTODY, asset=line.network.asset, network=line.network)
    accounts_lock([custody.pk])
    live = custody_positions(networks=[line.network])[0]["difference"]
    if live != line.difference:
        raise ValueError(f"the surplus is now {live}, not {line.difference}: run reconciliation again")
    asset = line.network.asset
    line.surplus_journal = journal_post(
        kind=Journal.Kind.DISTRIBUTION,
        idempotency_key=f"recon-surplus-{line.pk}",
        created_by=by,
        memo=f"surplus found by reconciliation #{line.reconciliation_id} on {line.network}",
        lines=[
            Line(system_account(kind=AccountKind.CUSTODY, asset=asset, network=line.network), -line.difference),
            Line(system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=asset), line.difference),
        ],
    )
    line.save(update_fields=["surplus_journal"])
    return Payout.objects.create(
        name=f"{asset.symbol} surplus from reconciliation #{line.reconciliation_id}",
        purpose=Payout.Purpose.AIRDROP,
        basis=Payout.Basis.POOL,
        reward_asset=asset,
        source_asset=asset,
        pool_amount=line.difference,
        created_by=by,
    )
