import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.languages import LANGUAGES_CHOICES_FIELD


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


API_PERMISSION_LABELS = {
    "read": pgettext_lazy("API permission", "Read"),
    "trade": pgettext_lazy("API permission", "Trade"),
    "withdraw": pgettext_lazy("API permission", "Withdraw"),
}


class VipTier(models.IntegerChoices):
    REGULAR = 0, pgettext_lazy("fee tier", "Regular")
    VIP1 = 1, _("VIP 1")
    VIP2 = 2, _("VIP 2")
    VIP3 = 3, _("VIP 3")
    VIP4 = 4, _("VIP 4")
    VIP5 = 5, _("VIP 5")


class User(AbstractUser):
    """An Agora user: a trader, or staff with a role. Logs in by email only."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(_("preferred language"), max_length=10, choices=LANGUAGES_CHOICES_FIELD, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    anti_phishing_code = models.CharField(_("anti-phishing code"), max_length=20, blank=True)
    vip_tier = models.PositiveSmallIntegerField(_("fee tier"), choices=VipTier.choices, default=VipTier.REGULAR)
    withdrawal_whitelist_only = models.BooleanField(_("withdraw only to my address book"), default=False)
    # Trading fees are taken in the platform token, at a discount, while the user holds enough of it.
    pay_fees_in_platform_token = models.BooleanField(_("pay trading fees in the platform token"), default=False)
    # Set when the account is frozen, cleared when a freeze is lifted; AccountFreeze keeps history.
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    # Withdrawals are refused until then (password, email or MFA change); enforced by wallets.
    withdrawals_locked_until = models.DateTimeField(_("withdrawals locked until"), null=True, blank=True)
    # Bumped to end every session of the user at once, whatever the session store.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("freeze_account", "Can freeze a customer account"),
            ("unfreeze_account", "Can lift a freeze on a customer account"),
            ("view_customer_security", "Can see a customer's security history"),
        ]

    def __str__(self):
        return self.email

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def withdrawals_locked(self) -> bool:
        return self.withdrawals_locked_until is not None and self.withdrawals_locked_until > timezone.now()

    def get_session_auth_hash(self):
        return salted_hmac("accounts.User.session", f"{self.password}:{self.session_epoch}", algorithm="sha256").hexdigest()

    def get_session_auth_fallback_hash(self):
        for fallback in settings.SECRET_KEY_FALLBACKS:
            yield salted_hmac(
                "accounts.User.session", f"{self.password}:{self.session_epoch}", secret=fallback, algorithm="sha256"
            ).hexdigest()


class KnownDevice(models.Model):
    """A browser that has signed in to the account (identified by a long-lived device cookie)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=400, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="device_unique_per_user")]

    def __str__(self):
        return f"{self.user} {self.device_id[:8]}"


class LoginRecord(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="logins")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    device_id = models.CharField(max_length=64, blank=True)
    new_device = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="login_user_recent")]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class SecurityEvent(models.Model):
    """Append-only log of what happened to an account's security; the user reads it."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGIN_NEW_DEVICE = "login_new_device", _("Signed in from a new device")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset")
        EMAIL_CHANGED = "email_changed", _("Email address changed")
        MFA_ENABLED = "mfa_enabled", _("Two-factor method added")
        MFA_DISABLED = "mfa_disabled", _("Two-factor method removed")
        RECOVERY_CODES = "recovery_codes", _("Recovery codes regenerated")
        ANTI_PHISHING_SET = "anti_phishing_set", _("Anti-phishing code changed")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
        ACCOUNT_FROZEN = "account_frozen", _("Account frozen")
        ACCOUNT_UNFROZEN = "account_unfrozen", _("Account unfrozen")
        WITHDRAWAL_LOCK = "withdrawal_lock", _("Withdrawals locked for 24 hours")
        ADDRESS_ADDED = "address_added", _("Withdrawal address added")
        WHITELIST_CHANGED = "whitelist_changed", _("Address-book-only withdrawals changed")
        TOTP_LOCKED = "totp_locked", _("Too many wrong authenticator codes: code checks paused")

    # Events whose email says withdrawals are paused: credential_changed locks withdrawals for these.
    LOCKS_WITHDRAWALS = {
        Kind.PASSWORD_CHANGED,
        Kind.PASSWORD_RESET,
        Kind.EMAIL_CHANGED,
        Kind.MFA_ENABLED,
        Kind.MFA_DISABLED,
        Kind.RECOVERY_CODES,
        Kind.WITHDRAWAL_LOCK,
    }
    # Events that send the user an email (each with the one-click freeze link).
    NOTIFY = {
        Kind.LOGIN_NEW_DEVICE,
        Kind.PASSWORD_CHANGED,
        Kind.PASSWORD_RESET,
        Kind.EMAIL_CHANGED,
        Kind.MFA_ENABLED,
        Kind.MFA_DISABLED,
        Kind.RECOVERY_CODES,
        Kind.ANTI_PHISHING_SET,
        Kind.API_KEY_CREATED,
        Kind.ACCOUNT_FROZEN,
        Kind.ACCOUNT_UNFROZEN,
        Kind.ADDRESS_ADDED,
        Kind.WHITELIST_CHANGED,
        Kind.TOTP_LOCKED,
    }

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    data = models.JSONField(default=dict, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="secevent_user_recent")]

    def __str__(self):
        return f"{self.user} {self.kind}"

    @property
    def locks_withdrawals(self) -> bool:
        return self.kind in self.LOCKS_WITHDRAWALS


class AccountFreeze(models.Model):
    """One freeze of an account, from the user or from support, and how it was lifted.

    Lifting takes two people: one requests, a different one approves.
    """

    class Source(models.TextChoices):
        SELF = "self", _("By the account holder")
        EMAIL_LINK = "email_link", _("By the account holder, from an email link")
        SUPPORT = "support", _("By support")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="freezes")
    source = models.CharField(max_length=16, choices=Source.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    lift_requested_at = models.DateTimeField(null=True, blank=True)
    lift_requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lift_reason = models.TextField(blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(lifted_at__isnull=True), name="one_active_freeze_per_user"),
            models.CheckConstraint(
                condition=Q(lifted_by__isnull=True) | ~Q(lifted_by=models.F("lift_requested_by")),
                name="freeze_lift_needs_second_person",
            ),
        ]

    def __str__(self):
        return f"{self.user} frozen {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


def api_key_generate() -> str:
    return secrets.token_urlsafe(48)[:64]


class ApiKey(models.Model):
    """A key for the Binance-compatible API. The secret is stored encrypted (it must be readable to
    verify HMAC signatures) and shown to the user once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(_("label"), max_length=64)
    key = models.CharField(max_length=64, unique=True, default=api_key_generate)
    secret_encrypted = models.TextField(editable=False)
    can_read = models.BooleanField(default=True)
    can_trade = models.BooleanField(pgettext_lazy("API permission", "trade"), default=False)
    can_withdraw = models.BooleanField(pgettext_lazy("API permission", "withdraw"), default=False)
    ip_allowlist = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.label} ({self.key[:8]}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def permissions(self) -> list[str]:
        return [name for name, on in (("read", self.can_read), ("trade", self.can_trade), ("withdraw", self.can_withdraw)) if on]

    @property
    def permission_labels(self) -> list[str]:
        """The permissions as the key list shows them (joined with {% list_join %})."""
        return [str(API_PERMISSION_LABELS[name]) for name in self.permissions]


class TotpFailureCounter(models.Model):
    """Wrong TOTP codes counted for one scope (`user:<id>`, `ip:<address>` or `ip:<IPv6 /64>`) in
    the database, updated under the row lock (services.totp_verify): a cache's add/incr are not
    atomic on every backend (the embedded file cache is get + set), so parallel guesses got past
    a cache counter. The count is for the window starting at `window_start`; `locked_until` is set
    when the limit is reached."""

    scope = models.CharField(max_length=80, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "TOTP failure counter"

    def __str__(self):
        return f"{self.scope}: {self.count}"
