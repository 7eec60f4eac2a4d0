from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, Sum

from wallets.models import AccountKind, Entry, LedgerAccount


def _plain(value) -> str:
    """An amount as a plain number whatever the database returned (3, 3.000…000, 3E+0)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def _entry_totals() -> tuple[dict[tuple[int, str], Decimal], dict[tuple[int, str], Decimal]]:
    """Entry sums per (journal, asset) and per (account, bucket), exactly.

    PostgreSQL sums NUMERIC exactly, so it sums; SQLite's SUM() goes through floating point, so
    there the entries are summed here as Decimals.
    """
    journals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    accounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    if connection.vendor == "postgresql":
        for row in Entry.objects.values("journal_id", "asset__symbol").annotate(total=Sum("amount")).order_by():
            journals[(row["journal_id"], row["asset__symbol"])] = row["total"]
        for row in Entry.objects.values("account_id", "bucket").annotate(total=Sum("amount")).order_by():
            accounts[(row["account_id"], row["bucket"])] = row["total"]
        return journals, accounts
    rows = Entry.objects.values_list("journal_id", "asset__symbol", "account_id", "bucket", "amount").order_by()
    for journal_id, symbol, account_id, bucket, amount in rows.iterator(chunk_size=5000):
        journals[(journal_id, symbol)] += amount
        accounts[(account_id, bucket)] += amount
    return journals, accounts


def ledger_violations() -> list[str]:
    """Every broken ledger invariant, as readable lines (empty when the ledger is sound):
    journals balance per asset; cached balances equal their entries; no user balance and no
    locked bucket below zero; every entry's asset is its account's asset."""
    problems: list[str] = []
    journal_totals, sums = _entry_totals()
    for (journal_id, symbol), total in sorted(journal_totals.items()):
        if total != 0 and len(problems) < 100:
            problems.append(f"journal #{journal_id} does not balance in {symbol}: off by {_plain(total)}")
    for account in LedgerAccount.objects.select_related("asset", "user", "network").order_by("pk").iterator():
        for bucket in (Entry.Bucket.AVAILABLE, Entry.Bucket.LOCKED):
            cached, counted = getattr(account, bucket), sums.get((account.pk, bucket), Decimal(0))
            if cached != counted:
                problems.append(f"account {account} ({account.pk}) {bucket}: balance {_plain(cached)} but entries sum to {_plain(counted)}")
    negatives = LedgerAccount.objects.filter(Q(kind=AccountKind.USER, available__lt=0) | Q(kind=AccountKind.USER, locked__lt=0) | Q(locked__lt=0))
    for account in negatives.select_related("asset", "user")[:100]:
        problems.append(f"account {account} ({account.pk}) is negative: available {_plain(account.available)}, locked {_plain(account.locked)}")
    mismatched = Entry.objects.exclude(asset_id=F("account__asset_id")).values_list("pk", flat=True)[:100]
    for pk in mismatched:
        problems.append(f"entry #{pk} is in a different asset from its account")
    return problems

