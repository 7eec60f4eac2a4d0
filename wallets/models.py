"""Assets, networks and the double-entry ledger.

Every change of money is a Journal whose Entries sum to zero per asset. A LedgerAccount's
`available` and `locked` columns are a cache of its entries (`manage.py ledger_check` proves it);
user accounts can never go below zero (CHECK constraints), system accounts (custody, adjustments,
pools) may, because they mirror what users are owed.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

AMOUNT = {"max_digits": 36, "decimal_places": 18}


class AmountField(models.DecimalField):
    """The one amount column: NUMERIC(36,18). Per-asset precision is enforced by services."""

    def __init__(self, *args, **kwargs):
        kwargs.update(AMOUNT)
        kwargs.setdefault("default", Decimal("0"))
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in AMOUNT:
            kwargs.pop(key, None)
        return name, path, args, kwargs


class Asset(models.Model):
    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    precision = models.PositiveSmallIntegerField(help_text="decimal places amounts of this asset may have (max 18)")
    is_platform_token = models.BooleanField(default=False, help_text="the token that gives fee discounts")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [models.CheckConstraint(condition=Q(precision__lte=18), name="asset_precision_max_18")]

    def __str__(self):
        return self.symbol

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.precision)


class Network(models.Model):
    """A chain an asset moves on (USDT on ERC20 and on TRC20 are two networks)."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="networks")
    code = models.CharField(max_length=32, help_text="e.g. BTC, ERC20, TRC20, NEO3")
    name = models.CharField(max_length=64)
    confirmations = models.PositiveIntegerField(default=1)
    withdrawal_fee = AmountField()
    withdrawal_min = AmountField()
    withdrawal_max = AmountField()
    memo_required = models.BooleanField(default=False)
    deposit_enabled = models.BooleanField(default=True)
    withdrawal_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["asset__symbol", "code"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "code"], name="network_unique_per_asset"),
            models.CheckConstraint(condition=Q(withdrawal_fee__gte=0) & Q(withdrawal_min__gte=0), name="network_fee_min_nonnegative"),
            models.CheckConstraint(condition=Q(withdrawal_max__gte=models.F("withdrawal_min")), name="network_max_at_least_min"),
        ]

    def __str__(self):
        return f"{self.asset.symbol}/{self.code}"


class AccountKind(models.TextChoices):
    USER = "user", "User"
    CUSTODY = "custody", "Custody (per network)"
    FEES = "fees", "Fees"
    ADJUSTMENTS = "adjustments", "Manual adjustments"
    DISTRIBUTION_POOL = "distribution_pool", "Distribution pool"
    COMPENSATION_POOL = "compensation_pool", "Compensation pool"
    DUST = "dust", "Dust (rounding remainders)"


class LedgerAccount(models.Model):
    """One ledger account per (kind, owner, asset[, network]); its balance columns cache its entries."""

    kind = models.CharField(max_length=24, choices=AccountKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="accounts")
    network = models.ForeignKey(Network, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    available = AmountField()
    locked = AmountField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "asset"], condition=Q(kind="user"), name="one_user_account_per_asset"),
            models.UniqueConstraint(fields=["kind", "asset", "network"], condition=Q(kind="custody"), name="one_custody_account_per_network"),
            models.UniqueConstraint(fields=["kind", "asset"], condition=~Q(kind__in=["user", "custody"]), name="one_system_account_per_kind_asset"),
            models.CheckConstraint(condition=~Q(kind="user") | (Q(available__gte=0) & Q(locked__gte=0)), name="user_balance_never_negative"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="locked_never_negative"),
            models.CheckConstraint(condition=Q(kind="user", user__isnull=False) | (~Q(kind="user") & Q(user__isnull=True)), name="user_accounts_have_users"),
            models.CheckConstraint(condition=~Q(kind="custody") | Q(network__isnull=False), name="custody_accounts_have_networks"),
        ]
        indexes = [models.Index(fields=["user", "asset"], name="ledger_account_user_asset")]

    def __str__(self):
        owner = self.user.email if self.user_id else self.get_kind_display()
        network = f"/{self.network.code}" if self.network_id else ""
        return f"{owner} {self.asset.symbol}{network}"

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


class Journal(models.Model):
    """A balanced set of entries. `idempotency_key` makes every retry of the same change a no-op."""

    class Kind(models.TextChoices):
        ADJUSTMENT = "adjustment", "Manual adjustment"
        HOLD = "hold", "Hold"
        RELEASE = "release", "Release"
        TRANSFER = "transfer", "Transfer"
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        TRADE = "trade", "Trade settlement"
        FEE = "fee", "Fee"
        DISTRIBUTION = "distribution", "Distribution"
        COMPENSATION = "compensation", "Compensation"
        RECOVERY = "recovery", "Fund recovery"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=128, unique=True)
    memo = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.idempotency_key}"


class Entry(models.Model):
    class Bucket(models.TextChoices):
        AVAILABLE = "available", "Available"
        LOCKED = "locked", "Locked"

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=10, choices=Bucket.choices, default=Bucket.AVAILABLE)
    amount = AmountField(help_text="signed: positive adds to the account, negative takes from it")

    class Meta:
        verbose_name_plural = "entries"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_nonzero")]
        indexes = [models.Index(fields=["account", "bucket"], name="entry_account_bucket")]

    def __str__(self):
        return f"{self.account} {self.bucket} {self.amount:+}"
