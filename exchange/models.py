"""Markets, orders, the engine's command log, trades and fee tiers.

Money stays in the ledger (wallets): an order reserves funds with a hold when it is accepted and
the engine's settlement journals move them. Prices and quantities are Decimals here and integer
ticks and lots inside the engine (exchange/engine)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.formatting import amount_plain
from wallets.models import AmountField, Asset, Journal

PRICE = {"max_digits": 36, "decimal_places": 18}


class Market(models.Model):
    class Status(models.TextChoices):
        TRADING = "TRADING", pgettext_lazy("market status", "Trading")
        HALT = "HALT", pgettext_lazy("market status", "Halted")
        BREAK = "BREAK", pgettext_lazy("market status", "Break")

    symbol = models.CharField(max_length=20, unique=True)
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="base_markets")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quote_markets")
    tick_size = models.DecimalField(**PRICE, help_text="price step")
    step_size = models.DecimalField(**PRICE, help_text="quantity step")
    min_qty = models.DecimalField(**PRICE)
    max_qty = models.DecimalField(**PRICE)
    min_notional = models.DecimalField(**PRICE, help_text="minimum price x quantity, in the quote asset")
    market_protection = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal("0.05"),
        help_text="a market order fills at most this fraction away from the best price",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.TRADING)
    update_id = models.BigIntegerField(default=0, help_text="the book's update id: +1 per command the engine applied (depth U/u)")

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(tick_size__gt=0) & Q(step_size__gt=0) & Q(min_qty__gt=0), name="market_steps_positive"),
            models.CheckConstraint(condition=Q(max_qty__gte=models.F("min_qty")), name="market_max_at_least_min"),
            models.CheckConstraint(condition=~Q(base=models.F("quote")), name="market_two_assets"),
        ]

    def __str__(self):
        return self.symbol

    @property
    def price_places(self) -> int:
        """Decimals a price in this market has (from the tick size)."""
        return max(0, -self.tick_size.normalize().as_tuple().exponent)

    @property
    def qty_places(self) -> int:
        """Decimals a quantity in this market has (from the step size)."""
        return max(0, -self.step_size.normalize().as_tuple().exponent)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.base_id and self.quote_id and self.tick_size and self.step_size:
            if (self.tick_size * self.step_size).normalize().as_tuple().exponent < -self.quote.precision:
                raise ValidationError(
                    "tick size x step size needs more decimals than the quote asset has: every trade's amount must be exact"
                )
            if self.step_size.normalize().as_tuple().exponent < -self.base.precision:
                raise ValidationError("the step size needs more decimals than the base asset has")


class FeeTier(models.Model):
    """Maker and taker fee rates per VIP tier (accounts.VipTier)."""

    tier = models.PositiveSmallIntegerField(unique=True)
    min_volume_30d = AmountField(help_text="30-day trading volume in USDT to reach this tier")
    maker_rate = models.DecimalField(max_digits=8, decimal_places=6)
    taker_rate = models.DecimalField(max_digits=8, decimal_places=6)

    class Meta:
        ordering = ["tier"]
        constraints = [
            models.CheckConstraint(
                condition=Q(maker_rate__gte=0) & Q(taker_rate__gte=0) & Q(taker_rate__lt=Decimal("0.1")), name="fee_rates_sane"
            )
        ]

    def __str__(self):
        return f"tier {self.tier}: maker {amount_plain(self.maker_rate)}, taker {amount_plain(self.taker_rate)}"


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "BUY", pgettext_lazy("order side", "Buy")
        SELL = "SELL", pgettext_lazy("order side", "Sell")

    class Type(models.TextChoices):
        LIMIT = "LIMIT", pgettext_lazy("order type", "Limit")
        MARKET = "MARKET", pgettext_lazy("order type", "Market")
        LIMIT_MAKER = "LIMIT_MAKER", _("Limit maker")
        STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT", _("Stop-loss limit")
        TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT", _("Take-profit limit")

    class TimeInForce(models.TextChoices):
        GTC = "GTC", "GTC"
        IOC = "IOC", "IOC"
        FOK = "FOK", "FOK"

    class Status(models.TextChoices):
        PENDING_NEW = "PENDING_NEW", pgettext_lazy("order status", "Accepted")
        NEW = "NEW", pgettext_lazy("order status", "Open")
        PARTIALLY_FILLED = "PARTIALLY_FILLED", _("Partially filled")
        FILLED = "FILLED", pgettext_lazy("order status", "Filled")
        CANCELED = "CANCELED", pgettext_lazy("order status", "Cancelled")
        REJECTED = "REJECTED", pgettext_lazy("order status", "Rejected")
        EXPIRED = "EXPIRED", pgettext_lazy("order status", "Expired")
        EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH", _("Expired (self-trade prevention)")

    OPEN = (Status.PENDING_NEW, Status.NEW, Status.PARTIALLY_FILLED)

    class Reason(models.TextChoices):
        """Why the exchange, not the user, ended an order."""

        NONE = "", pgettext_lazy("order end reason", "None")
        ACCOUNT_FROZEN = "account_frozen", pgettext_lazy("order end reason", "Account frozen")
        MARKET_HALTED = "market_halted", pgettext_lazy("order end reason", "Market halted")
        MARKET_CHANGED = "market_changed", pgettext_lazy("order end reason", "Market tick or step changed")

    class Stp(models.TextChoices):
        NONE = "NONE", "NONE"
        EXPIRE_TAKER = "EXPIRE_TAKER", "EXPIRE_TAKER"
        EXPIRE_MAKER = "EXPIRE_MAKER", "EXPIRE_MAKER"
        EXPIRE_BOTH = "EXPIRE_BOTH", "EXPIRE_BOTH"

    # Indexes are few on purpose: every order is written two or three times, and a status change
    # rewrites every index. (market, status) and (user, status) below serve market_id and user_id.
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    client_order_id = models.CharField(max_length=36)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=18, choices=Type.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    price = models.DecimalField(**PRICE, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE, null=True, blank=True)
    quantity = models.DecimalField(**PRICE, null=True, blank=True)
    quote_quantity = models.DecimalField(**PRICE, null=True, blank=True, help_text="MARKET by quote amount")
    executed_qty = models.DecimalField(**PRICE, default=Decimal(0))
    cumulative_quote_qty = models.DecimalField(**PRICE, default=Decimal(0))
    status = models.CharField(max_length=18, choices=Status.choices, default=Status.PENDING_NEW)
    stp_mode = models.CharField(max_length=14, choices=Stp.choices, default=Stp.EXPIRE_MAKER)
    reserved_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    reserved = AmountField(help_text="still held for this order; released when it ends")
    book_seq = models.BigIntegerField(null=True, blank=True, help_text="when it started resting (engine sequence): its time priority")
    stop_seq = models.BigIntegerField(
        null=True, blank=True, help_text="when a stop order was accepted (engine sequence): its trigger priority"
    )
    reason = models.CharField(
        max_length=16, choices=Reason.choices, blank=True, default="", help_text="why the exchange ended it (cancelled or expired)"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=Q(status__in=["PENDING_NEW", "NEW", "PARTIALLY_FILLED"]),
                name="client_order_id_unique_among_open",
            ),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="order_reserved_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["market", "status"], name="order_market_status"),
            models.Index(fields=["user", "status"], name="order_user_status"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.market} {self.side} {self.type} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class EngineCommand(models.Model):
    """The engine's input log: an order to place or cancel, accepted in one transaction with the
    funds it reserves. The id is the sequence; `applied_at` is set in the transaction that commits
    the command's results, so a command is applied exactly once."""

    class Kind(models.TextChoices):
        PLACE = "place", "Place"
        CANCEL = "cancel", "Cancel"

    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="commands", db_index=False
    )  # the pending index serves the engine
    kind = models.CharField(max_length=6, choices=Kind.choices)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="commands")
    reason = models.CharField(max_length=16, choices=Order.Reason.choices, blank=True, default="", help_text="a cancel the exchange made")
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["market", "id"], condition=Q(applied_at__isnull=True), name="command_pending"),
            # the engine asks every batch whether a freeze left cancels pending: a tiny index, not a scan of the backlog
            models.Index(fields=["market"], condition=Q(applied_at__isnull=True, reason="account_frozen"), name="command_freeze_pending"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.order_id} ({'applied' if self.applied_at else 'pending'})"


class MarketStatusChange(models.Model):
    """The audit of halting and resuming a market: who, why and when (exchange.services.market_halt)."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="status_changes")
    status = models.CharField(max_length=8, choices=Market.Status.choices, help_text="the market's status from then on")
    previous = models.CharField(max_length=8, choices=Market.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.market_id}: {self.previous} -> {self.status}"


class Trade(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="trades", db_index=False)  # (market, -id) serves it
    price = models.DecimalField(**PRICE)
    quantity = models.DecimalField(**PRICE)
    quote_quantity = models.DecimalField(**PRICE)
    buy_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    sell_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    taker_side = models.CharField(max_length=4, choices=Order.Side.choices)
    buyer_fee = AmountField(help_text="in buyer_fee_asset: the base asset, or the platform token at a discount")
    buyer_fee_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    seller_fee = AmountField(help_text="in seller_fee_asset: the quote asset, or the platform token at a discount")
    seller_fee_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="trade")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["market", "-id"], name="trade_market_recent")]

    def __str__(self):
        return f"{self.market} {amount_plain(self.quantity)} @ {amount_plain(self.price)}"


class Kline(models.Model):
    """Candles per Binance interval, kept up to date by the engine in each batch's transaction."""

    INTERVALS = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="klines")
    interval = models.CharField(max_length=3)
    open_time = models.DateTimeField()
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.DecimalField(**PRICE)
    quote_volume = models.DecimalField(**PRICE)
    trades = models.PositiveIntegerField(default=0)
    first_trade_id = models.BigIntegerField(null=True, blank=True)
    last_trade_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["market", "interval", "-open_time"]
        constraints = [models.UniqueConstraint(fields=["market", "interval", "open_time"], name="kline_unique")]

    def __str__(self):
        return f"{self.market} {self.interval} {self.open_time:%Y-%m-%d %H:%M}"


class MarketDepth(models.Model):
    """The engine's book as of `last_update_id` (top levels), written with each batch: what the
    REST depth endpoint and a page's first paint read before following the diff stream."""

    market = models.OneToOneField(Market, on_delete=models.CASCADE, related_name="depth", primary_key=True)
    last_update_id = models.BigIntegerField(default=0)
    bids = models.JSONField(default=list)
    asks = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.market_id} depth @ {self.last_update_id}"
