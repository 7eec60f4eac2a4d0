from collections import defaultdict
from decimal import Decimal

from django.db.models import F, Q, Sum

from wallets.models import AccountKind, Entry, LedgerAccount


def _plain(value) -> str:
    """An amount as a plain number whatever the database returned (3, 3.000…000, 3E+0)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def balances_for(*, user) -> list[LedgerAccount]:
    return list(LedgerAccount.objects.filter(kind=AccountKind.USER, user=user).select_related("asset").order_by("asset__symbol"))


def ledger_violations() -> list[str]:
    """Every broken ledger invariant, as readable lines (empty when the ledger is sound):
    journals balance per asset; cached balances equal their entries; no user balance and no
    locked bucket below zero; every entry's asset is its account's asset."""
    problems: list[str] = []
    unbalanced = (
        Entry.objects.values("journal_id", "asset__symbol").annotate(total=Sum("amount")).exclude(total=0).order_by("journal_id")
    )
    for row in unbalanced[:100]:
        problems.append(f"journal #{row['journal_id']} does not balance in {row['asset__symbol']}: off by {_plain(row['total'])}")
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in Entry.objects.values("account_id", "bucket").annotate(total=Sum("amount")):
        sums[(row["account_id"], row["bucket"])] = row["total"]
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

