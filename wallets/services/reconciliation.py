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
from wallets.ledger import Line, accounts_lock, journal_post, system_account
from wallets.models import (
    AccountKind,
    Journal,
    Payout,
    Reconciliation,
    ReconciliationLine,
)
from wallets.selectors import custody_positions, liabilities_by_asset, read_snapshot

log = logging.getLogger(__name__)


def reconciliation_run(*, trigger: str, by: User | None = None) -> Reconciliation:
    """Positions and liabilities are read in one snapshot (`read_snapshot`), then the report is
    written: a journal posted mid-read cannot show up as a false discrepancy."""

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
