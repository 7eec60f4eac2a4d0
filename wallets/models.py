"""Assets, networks and the double-entry ledger.

Every change of money is a Journal whose Entries sum to zero per asset. A LedgerAccount's
`available` and `locked` columns are a cache of its entries (`manage.py ledger_check` proves it);
user accounts can never go below zero (CHECK constraints), system accounts (custody, adjustments,
pools) may, because they mirror what users are owed.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.formatting import amount_plain

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
    reference_price = models.DecimalField(
        max_digits=36,
        decimal_places=18,
        default=Decimal(0),
        help_text="USDT per unit for estimates; the trading engine's last price wins where a market exists",
    )
    withdrawal_daily_limit = AmountField(help_text="most a user may withdraw in 24 hours (0: no limit)")
    withdrawal_review_threshold = AmountField(help_text="withdrawals above this wait for an operator's review (0: none do)")

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(precision__lte=18), name="asset_precision_max_18"),
            models.UniqueConstraint(fields=["is_platform_token"], condition=Q(is_platform_token=True), name="one_platform_token"),
        ]

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
    USER = "user", pgettext_lazy("ledger account kind", "User")
    CUSTODY = "custody", pgettext_lazy("ledger account kind", "Custody (per network)")
    FEES = "fees", pgettext_lazy("ledger account kind", "Fees")
    ADJUSTMENTS = "adjustments", pgettext_lazy("ledger account kind", "Manual adjustments")
    DISTRIBUTION_POOL = "distribution_pool", pgettext_lazy("ledger account kind", "Distribution pool")
    COMPENSATION_POOL = "compensation_pool", pgettext_lazy("ledger account kind", "Compensation pool")
    DUST = "dust", pgettext_lazy("ledger account kind", "Dust (rounding remainders)")


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
            models.UniqueConstraint(
                fields=["kind", "asset", "network"], condition=Q(kind="custody"), name="one_custody_account_per_network"
            ),
            models.UniqueConstraint(
                fields=["kind", "asset"], condition=~Q(kind__in=["user", "custody"]), name="one_system_account_per_kind_asset"
            ),
            models.CheckConstraint(
                condition=~Q(kind="user") | (Q(available__gte=0) & Q(locked__gte=0)), name="user_balance_never_negative"
            ),
            models.CheckConstraint(condition=Q(locked__gte=0), name="locked_never_negative"),
            models.CheckConstraint(
                condition=Q(kind="user", user__isnull=False) | (~Q(kind="user") & Q(user__isnull=True)), name="user_accounts_have_users"
            ),
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
        ADJUSTMENT = "adjustment", pgettext_lazy("ledger journal kind", "Manual adjustment")
        HOLD = "hold", pgettext_lazy("ledger journal kind", "Hold")
        RELEASE = "release", pgettext_lazy("ledger journal kind", "Release")
        TRANSFER = "transfer", pgettext_lazy("ledger journal kind", "Transfer")
        DEPOSIT = "deposit", pgettext_lazy("ledger journal kind", "Deposit")
        WITHDRAWAL = "withdrawal", pgettext_lazy("ledger journal kind", "Withdrawal")
        TRADE = "trade", pgettext_lazy("ledger journal kind", "Trade settlement")
        FEE = "fee", pgettext_lazy("ledger journal kind", "Fee")
        DISTRIBUTION = "distribution", pgettext_lazy("ledger journal kind", "Distribution")
        COMPENSATION = "compensation", pgettext_lazy("ledger journal kind", "Compensation")
        RECOVERY = "recovery", pgettext_lazy("ledger journal kind", "Fund recovery")

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
        AVAILABLE = "available", pgettext_lazy("balance", "Available")
        LOCKED = "locked", pgettext_lazy("balance", "Locked")

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    # No single-column indexes beyond the journal's: (account, bucket) serves the account, and every
    # index here is written a few times per trade. `asset` repeats the account's asset (so sums per
    # asset need no join); it has no foreign-key constraint of its own, checked at every commit for
    # every entry: the account's constraint holds, and ledger_violations() reports any entry whose
    # asset is not its account's.
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    asset = models.ForeignKey(Asset, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False)
    bucket = models.CharField(max_length=10, choices=Bucket.choices, default=Bucket.AVAILABLE)
    amount = AmountField(help_text="signed: positive adds to the account, negative takes from it")

    class Meta:
        verbose_name_plural = "entries"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_nonzero")]
        indexes = [models.Index(fields=["account", "bucket"], name="entry_account_bucket")]

    def __str__(self):
        return f"{self.account} {self.bucket} {'+' if self.amount > 0 else ''}{amount_plain(self.amount)}"


# --- Chains, deposits, withdrawals -------------------------------------------------------------------


class DepositAddress(models.Model):
    """A user's deposit address on a chain. Assets on one chain share it (an ERC20 address receives
    ETH, USDT and AGR); on memo chains the address is shared and the memo names the user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposit_addresses")
    chain = models.CharField(max_length=32, help_text="network code, e.g. ERC20")
    address = models.CharField(max_length=128)
    memo = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "chain"], name="one_deposit_address_per_user_chain"),
            models.UniqueConstraint(fields=["chain", "address", "memo"], name="deposit_address_unique"),
        ]
        verbose_name_plural = "deposit addresses"

    def __str__(self):
        return f"{self.chain}:{self.address}" + (f" memo {self.memo}" if self.memo else "")


class Deposit(models.Model):
    """An incoming chain transfer to one of our addresses, credited at most once.

    Unique per (chain, tx_hash, output index): the scanner may see a transfer any number of times.
    A transfer that cannot be credited (unlisted token, missing or unknown memo, deposits
    suspended) is kept as UNMATCHED with its reason, for fund recovery."""

    class Status(models.TextChoices):
        SEEN = "seen", pgettext_lazy("deposit status", "Seen")
        CONFIRMING = "confirming", pgettext_lazy("deposit status", "Confirming")
        CREDITED = "credited", pgettext_lazy("deposit status", "Credited")
        UNMATCHED = "unmatched", _("Not credited")
        RECOVERED = "recovered", pgettext_lazy("deposit status", "Recovered")

    class Problem(models.TextChoices):
        NONE = "", "-"
        UNLISTED_ASSET = "unlisted_asset", _("This token is not listed on this network")
        MEMO_MISSING = "memo_missing", _("The memo was missing or did not match")
        TOO_PRECISE = "too_precise", _("The amount has more decimals than this asset allows")

    chain = models.CharField(max_length=32)
    tx_hash = models.CharField(max_length=128)
    tx_index = models.PositiveIntegerField(default=0)
    token = models.CharField(max_length=32, help_text="the asset symbol the chain reported")
    address = models.CharField(max_length=128)
    memo = models.CharField(max_length=64, blank=True)
    from_address = models.CharField(max_length=128, blank=True, help_text="the sender, as the chain reported it")
    amount = AmountField()
    block_height = models.PositiveBigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="deposits")
    network = models.ForeignKey(Network, null=True, blank=True, on_delete=models.PROTECT, related_name="deposits")
    confirmations = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SEEN, db_index=True)
    problem = models.CharField(max_length=24, choices=Problem.choices, blank=True, default="")
    journal = models.OneToOneField(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit")
    seen_at = models.DateTimeField(default=timezone.now)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "tx_hash", "tx_index"], name="deposit_unique_per_transfer"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(condition=~Q(status="credited") | Q(journal__isnull=False), name="credited_deposit_has_journal"),
        ]

    def __str__(self):
        return f"{amount_plain(self.amount)} {self.token} {self.chain}:{self.tx_hash[:12]}#{self.tx_index}"


class ChainCursor(models.Model):
    """How far the deposit scanner has read each chain."""

    chain = models.CharField(max_length=32, unique=True)
    scanned_height = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.chain} @ {self.scanned_height}"


class WithdrawalAddress(models.Model):
    """An address-book entry. A new entry can be used after the cooling period."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="withdrawal_addresses")
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=64)
    address = models.CharField(max_length=128)
    memo = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    usable_from = models.DateTimeField()

    class Meta:
        ordering = ["label", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "network", "address", "memo"], name="address_book_unique")]
        verbose_name_plural = "withdrawal addresses"

    def __str__(self):
        return f"{self.label} ({self.network} {self.address})"

    @property
    def is_cooling(self) -> bool:
        return self.usable_from > timezone.now()


class WithdrawalRejection(models.TextChoices):
    """Why an operator rejected a withdrawal, as the customer reads it. Stable codes are stored; the
    text is translated when the email is rendered, in the customer's language."""

    ACCOUNT_FROZEN = "account_frozen", _("Your account is frozen. Contact support to unfreeze it.")
    SECURITY_LOCK = "security_lock", _("For your protection, withdrawals are paused for 24 hours.")
    ADDRESS_RISK = "address_risk", _("Our compliance checks flagged the destination address. Withdraw to another address.")
    IDENTITY_CHECK = "identity_check", _("We need to confirm your identity first. Our support team will contact you.")
    UNUSUAL_ACTIVITY = "unusual_activity", _("We noticed unusual activity on your account. Contact support before you withdraw again.")
    OTHER = "other", _("Contact support to learn why.")


class Withdrawal(models.Model):
    class Status(models.TextChoices):
        REVIEW = "review", _("Waiting for review")
        QUEUED = "queued", pgettext_lazy("withdrawal status", "Processing")
        SENDING = "sending", pgettext_lazy("withdrawal status", "Sending")
        BROADCAST = "broadcast", _("Sent, confirming")
        COMPLETED = "completed", pgettext_lazy("withdrawal status", "Completed")
        REJECTED = "rejected", pgettext_lazy("withdrawal status", "Rejected")
        CANCELLED = "cancelled", pgettext_lazy("withdrawal status", "Cancelled")

    CANCELLABLE = (Status.REVIEW, Status.QUEUED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="withdrawals")
    address = models.CharField(max_length=128)
    memo = models.CharField(max_length=64, blank=True)
    amount = AmountField(help_text="debited from the user: fee + net amount (set by the service; SQLite cannot check sums exactly)")
    fee = AmountField()
    net_amount = AmountField(help_text="what the address receives")
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    idempotency_key = models.CharField(max_length=64)
    internal_recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="internal_receipts"
    )
    journal = models.OneToOneField(
        Journal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withdrawal",
        help_text="the settlement (broadcast) or the internal transfer",
    )
    tx_hash = models.CharField(max_length=128, blank=True)
    block_height = models.PositiveBigIntegerField(null=True, blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    review_note = models.CharField(max_length=500, blank=True, help_text="staff only, never sent to the customer")
    rejection = models.CharField(
        max_length=24, choices=WithdrawalRejection.choices, blank=True, help_text="the reason the customer is emailed, in their language"
    )
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="withdrawal_idempotent_per_user"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(fee__gte=0) & Q(net_amount__gt=0), name="withdrawal_amounts_positive"),
        ]
        permissions = [("review_withdrawal", "Can approve or reject withdrawals in review")]

    def __str__(self):
        return f"#{self.pk} {amount_plain(self.amount)} {self.network} {self.status}"

    @property
    def is_internal(self) -> bool:
        return self.internal_recipient_id is not None


# --- Snapshots and payouts (distributions, forks, compensation and refund campaigns) ----------------


class SnapshotDay(models.Model):
    """One holdings snapshot per UTC day, taken at 00:00."""

    day = models.DateField(unique=True)
    taken_at = models.DateTimeField(default=timezone.now)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]

    def __str__(self):
        return str(self.day)


class HoldingSnapshot(models.Model):
    """A user's total holding (available + locked in orders and withdrawals) of an asset at 00:00 UTC."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    total = AmountField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "user", "asset"], name="snapshot_unique_per_day_user_asset"),
            models.CheckConstraint(condition=Q(total__gt=0), name="snapshot_total_positive"),
        ]
        indexes = [models.Index(fields=["asset", "day"], name="snapshot_asset_day")]

    def __str__(self):
        return f"{self.day} {self.user_id} {amount_plain(self.total)} {self.asset_id}"


class Payout(models.Model):
    """A distribution (airdrop, fork, holder reward) or a compensation / refund campaign.

    Lines are computed once into a preview; a second operator approves; a background job pays each
    line with its own idempotency key, so a rerun pays nobody twice; the rounding remainder of the
    budget goes to the dust account."""

    class Purpose(models.TextChoices):
        AIRDROP = "airdrop", pgettext_lazy("payout purpose", "Airdrop")
        FORK = "fork", pgettext_lazy("payout purpose", "Fork")
        HOLDER_REWARD = "holder_reward", _("Holder reward")
        COMPENSATION = "compensation", pgettext_lazy("payout purpose", "Compensation")
        REFUND = "refund", pgettext_lazy("payout purpose", "Refund")

    DISTRIBUTIONS = (Purpose.AIRDROP, Purpose.FORK, Purpose.HOLDER_REWARD)

    class Basis(models.TextChoices):
        POOL = "pool", pgettext_lazy("payout basis", "Share a pool pro rata by units held per day")
        RATE = "rate", pgettext_lazy("payout basis", "A rate per unit held per day (a fork or a refund multiple over one day)")
        CSV = "csv", pgettext_lazy("payout basis", "Amounts per user from an uploaded CSV")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("payout status", "Draft")
        PREVIEWED = "previewed", pgettext_lazy("payout status", "Previewed, waiting for approval")
        APPROVED = "approved", pgettext_lazy("payout status", "Approved")
        RUNNING = "running", pgettext_lazy("payout status", "Paying")
        COMPLETED = "completed", pgettext_lazy("payout status", "Completed")
        CANCELLED = "cancelled", pgettext_lazy("payout status", "Cancelled")

    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    basis = models.CharField(max_length=8, choices=Basis.choices)
    reward_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", help_text="what users receive")
    source_asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="what users held (snapshot bases)"
    )
    period_start = models.DateField(null=True, blank=True, help_text="first snapshot day")
    period_end = models.DateField(null=True, blank=True, help_text="last snapshot day (inclusive)")
    pool_amount = AmountField(help_text="pool basis: the amount shared")
    rate = models.DecimalField(max_digits=36, decimal_places=18, default=Decimal(0), help_text="rate basis: reward per unit held per day")
    funding_kind = models.CharField(
        max_length=24,
        choices=[c for c in AccountKind.choices if c[0] not in ("user", "custody")],
        default=AccountKind.DISTRIBUTION_POOL,
        help_text="the system account that pays",
    )
    csv_text = models.TextField(blank=True, help_text="CSV basis: email,amount rows")
    budget = AmountField(help_text="taken from the funding account: the users' shares plus the dust")
    paid_total = AmountField()
    dust = AmountField()
    lines_total = models.PositiveIntegerField(default=0)
    lines_paid = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="who last edited or previewed it; the approver must be someone else",
    )
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("created_by")), name="payout_four_eyes"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | Q(prepared_by__isnull=True) | ~Q(approved_by=models.F("prepared_by")),
                name="payout_four_eyes_preparer",
            ),
            models.CheckConstraint(condition=Q(pool_amount__gte=0) & Q(rate__gte=0), name="payout_pool_rate_nonnegative"),
        ]
        permissions = [("approve_payout", "Can approve distributions and campaigns prepared by someone else")]

    def __str__(self):
        return f"{self.name} ({self.get_purpose_display()})"

    @property
    def is_distribution(self) -> bool:
        return self.purpose in self.DISTRIBUTIONS


class Distribution(Payout):
    class Meta:
        proxy = True
        verbose_name = "distribution"


class Campaign(Payout):
    class Meta:
        proxy = True
        verbose_name = "compensation or refund campaign"


class PayoutLine(models.Model):
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_lines")
    basis = AmountField(help_text="units held summed over the period's days (unit-days), or the CSV amount")
    amount = AmountField()
    journal = models.OneToOneField(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="payout_line")
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payout", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["payout", "user"], name="payout_line_unique_per_user"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_line_positive"),
        ]

    def __str__(self):
        return f"{self.payout_id}: {self.user_id} {amount_plain(self.amount)}"


# --- Reconciliation and fund recovery -----------------------------------------------------------------


class Reconciliation(models.Model):
    """The ledger's custody against the chain adapters' holdings, and liabilities against custody."""

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("reconciliation trigger", "Scheduled")
        MANUAL = "manual", pgettext_lazy("reconciliation trigger", "On demand")

    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    run_at = models.DateTimeField(default=timezone.now, db_index=True)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discrepancies = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_at", "-id"]

    def __str__(self):
        return f"reconciliation {self.run_at:%Y-%m-%d %H:%M} ({self.discrepancies} discrepancies)"


class ReconciliationLine(models.Model):
    """One asset on one network: chain holdings = ledger custody + in-flight deposits + unattributed
    transfers + difference. A positive difference is a surplus, a negative one a shortfall."""

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="lines")
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="+")
    chain_holdings = AmountField()
    ledger_custody = AmountField()
    in_flight = AmountField(help_text="deposits seen but not yet credited")
    unattributed = AmountField(help_text="transfers that could not be credited (fund recovery)")
    difference = AmountField()
    liabilities = AmountField(help_text="what the ledger owes for this asset on all networks (users, fees, pools, dust)")
    asset_chain_total = AmountField(help_text="this asset's chain holdings on all networks")
    surplus_journal = models.OneToOneField(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["network__asset__symbol", "network__code"]

    def __str__(self):
        return f"{self.network}: {'+' if self.difference > 0 else ''}{amount_plain(self.difference)}"


class RecoveryRejection(models.TextChoices):
    """Why a fund recovery request was rejected (by the automatic checks or an operator), as the
    customer reads it; translated when shown or emailed, in the customer's language."""

    NOT_FOUND = "not_found", _("We found no transfer with this hash to an Agora address on this network.")
    ALREADY_CREDITED = "already_credited", _("This transfer was already credited.")
    STILL_CONFIRMING = "still_confirming", _("This deposit is still confirming and will be credited on its own.")
    NOT_YOURS = "not_yours", _("This transfer went to another user's address.")
    DETAILS_DIFFER = "details_differ", _("The asset, amount or address does not match the transfer we found.")
    ASSET_UNLISTED = "asset_unlisted", _("We do not list this asset, so it cannot be credited.")
    OWNERSHIP_NOT_PROVEN = "ownership_not_proven", _("We could not confirm that you sent this transfer.")
    OTHER = "other", _("Contact support to learn why.")


class RecoveryRequest(models.Model):
    """A user's request to recover funds sent the wrong way (wrong network, missing memo, unlisted token)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("recovery status", "Submitted")
        QUOTED = "quoted", _("Fee quoted, waiting for you")
        ACCEPTED = "accepted", _("Accepted, waiting for approval")
        APPROVED_ONCE = "approved_once", _("Approved by one operator")
        CREDITED = "credited", pgettext_lazy("recovery status", "Credited")
        REJECTED = "rejected", pgettext_lazy("recovery status", "Rejected")
        DECLINED = "declined", _("Declined by you")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recovery_requests")
    tx_hash = models.CharField(max_length=128)
    chain = models.CharField(max_length=32)
    token = models.CharField(max_length=32)
    amount = AmountField()
    address = models.CharField(max_length=128)
    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="recovery_requests")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the operator who checked the sender's proof (transfers no user's address or memo names)",
    )
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    check_result = models.CharField(max_length=32, blank=True)
    fee = AmountField()
    rejection = models.CharField(
        max_length=24, choices=RecoveryRejection.choices, blank=True, help_text="the reason the customer reads, in their language"
    )
    reject_note = models.CharField(max_length=500, blank=True, help_text="staff only, never sent to the customer")
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    second_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    journal = models.OneToOneField(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(second_approver__isnull=True) | ~Q(second_approver=models.F("first_approver")),
                name="recovery_two_different_approvers",
            ),
        ]
        permissions = [("approve_recovery", "Can approve fund recovery requests")]

    def __str__(self):
        return f"recovery #{self.pk} {amount_plain(self.amount)} {self.token} {self.chain}:{self.tx_hash[:12]}"


# --- The simulated chain (the embedded default adapter's persistent state) ----------------------------


class SimChain(models.Model):
    code = models.CharField(max_length=32, unique=True)
    height = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.code} @ {self.height}"


class SimTransfer(models.Model):
    """A transfer on the simulated chain, included in block `height`."""

    chain = models.ForeignKey(SimChain, on_delete=models.CASCADE, related_name="transfers")
    tx_hash = models.CharField(max_length=128)
    tx_index = models.PositiveIntegerField(default=0)
    token = models.CharField(max_length=32)
    from_address = models.CharField(max_length=128, blank=True)
    to_address = models.CharField(max_length=128)
    memo = models.CharField(max_length=64, blank=True)
    amount = AmountField()
    height = models.PositiveBigIntegerField()
    outgoing_key = models.CharField(
        max_length=128, null=True, blank=True, unique=True, help_text="our withdrawal's key (broadcast is idempotent)"
    )

    class Meta:
        ordering = ["chain", "height", "id"]
        constraints = [models.UniqueConstraint(fields=["chain", "tx_hash", "tx_index"], name="sim_transfer_unique")]

    def __str__(self):
        return f"{self.chain.code}:{self.tx_hash[:12]} {amount_plain(self.amount)} {self.token}"


class Notice(models.Model):
    """A money event a user is told about by email in their language, exactly once."""

    class Kind(models.TextChoices):
        DEPOSIT_CREDITED = "deposit_credited", "Deposit credited"
        WITHDRAWAL_SENT = "withdrawal_sent", "Withdrawal sent"
        WITHDRAWAL_REJECTED = "withdrawal_rejected", "Withdrawal rejected"
        TRANSFER_RECEIVED = "transfer_received", "Internal transfer received"
        PAYOUT_CREDITED = "payout_credited", "Distribution or compensation credited"
        RECOVERY_QUOTED = "recovery_quoted", "Fund recovery quoted"
        RECOVERY_DONE = "recovery_done", "Fund recovery finished"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_notices")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "object_id", "user"], name="notice_once_per_object")]

    def __str__(self):
        return f"{self.kind} {self.object_id} -> {self.user_id}"


POOL_FUNDING_SOURCES = (
    AccountKind.FEES,
    AccountKind.ADJUSTMENTS,
    AccountKind.DUST,
    AccountKind.COMPENSATION_POOL,
    AccountKind.DISTRIBUTION_POOL,
)
POOL_KINDS = (AccountKind.DISTRIBUTION_POOL, AccountKind.COMPENSATION_POOL)


class PoolFunding(models.Model):
    """An audited transfer into the distribution (or compensation) pool from a named system
    account. One operator requests it with a reason; another approves it, which posts the journal."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested, waiting for a second operator"
        POSTED = "posted", "Approved and posted"
        CANCELLED = "cancelled", "Cancelled"

    SOURCES, POOLS = POOL_FUNDING_SOURCES, POOL_KINDS

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    source_kind = models.CharField(
        max_length=24, choices=[c for c in AccountKind.choices if c[0] in POOL_FUNDING_SOURCES], help_text="the system account that pays"
    )
    pool_kind = models.CharField(
        max_length=24,
        choices=[c for c in AccountKind.choices if c[0] in POOL_KINDS],
        default=AccountKind.DISTRIBUTION_POOL,
        help_text="the pool that receives",
    )
    amount = AmountField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    journal = models.OneToOneField(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pool_funding_amount_positive"),
            models.CheckConstraint(condition=~Q(source_kind=F("pool_kind")), name="pool_funding_source_not_pool"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")), name="pool_funding_four_eyes"
            ),
        ]
        permissions = [("approve_poolfunding", "Can approve a pool funding requested by someone else")]

    def __str__(self):
        return f"{amount_plain(self.amount)} {self.asset.symbol} {self.source_kind} -> {self.pool_kind}"
