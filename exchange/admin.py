from auditlog.registry import auditlog
from django.contrib import admin, messages

from accounts.admin import reason_step
from exchange import services
from exchange.models import EngineCommand, FeeTier, Kline, Market, MarketDepth, MarketStatusChange, Order, Trade
from wallets.admin import ReadOnly


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["symbol", "base", "quote", "tick_size", "step_size", "min_qty", "max_qty", "min_notional", "status"]
    list_filter = ["status", "quote"]
    search_fields = ["symbol"]
    list_select_related = ["base", "quote"]
    actions = ["halt", "resume"]

    def get_readonly_fields(self, request, obj=None):
        # Ticks and lots of resting orders are counted in these steps: fixed once a market has orders.
        if obj is not None and obj.orders.exists():
            return ["base", "quote", "tick_size", "step_size"]
        return []

    def _status_change(self, request, queryset, *, halt: bool):
        reason, response = reason_step(
            self,
            request,
            queryset,
            title="Halt trading (placements not yet applied expire; resting orders stay)" if halt else "Resume trading",
            action="halt" if halt else "resume",
        )
        if response is not None:
            return response
        change = services.market_halt if halt else services.market_resume
        for market in queryset:
            change(market=market, actor=request.user, reason=reason)
        self.message_user(
            request, f"{'Halted' if halt else 'Resumed'} {queryset.count()} market(s).", messages.WARNING if halt else messages.SUCCESS
        )
        return None

    @admin.action(description="Halt trading in the selected markets (with a reason)", permissions=["change"])
    def halt(self, request, queryset):
        return self._status_change(request, queryset, halt=True)

    @admin.action(description="Resume trading in the selected markets (with a reason)", permissions=["change"])
    def resume(self, request, queryset):
        return self._status_change(request, queryset, halt=False)


@admin.register(MarketStatusChange)
class MarketStatusChangeAdmin(ReadOnly):
    list_display = ["created_at", "market", "previous", "status", "actor", "reason"]
    list_filter = ["market", "status"]
    search_fields = ["market__symbol", "actor__email", "reason"]
    list_select_related = ["market", "actor"]


@admin.register(FeeTier)
class FeeTierAdmin(admin.ModelAdmin):
    list_display = ["tier", "min_volume_30d", "maker_rate", "taker_rate"]


@admin.register(Order)
class OrderAdmin(ReadOnly):
    list_display = ["pk", "created_at", "user", "market", "side", "type", "price", "quantity", "executed_qty", "status", "reason"]
    list_filter = ["status", "reason", "type", "side", "market"]
    search_fields = ["user__email", "client_order_id", "=id"]
    list_select_related = ["user", "market"]


@admin.register(Trade)
class TradeAdmin(ReadOnly):
    list_display = [
        "pk",
        "created_at",
        "market",
        "price",
        "quantity",
        "taker_side",
        "buyer_fee",
        "buyer_fee_asset",
        "seller_fee",
        "seller_fee_asset",
    ]
    list_filter = ["market"]
    list_select_related = ["market", "buyer_fee_asset", "seller_fee_asset"]


@admin.register(EngineCommand)
class EngineCommandAdmin(ReadOnly):
    list_display = ["pk", "market", "kind", "reason", "order", "created_at", "applied_at"]
    list_filter = ["market", "kind", ("applied_at", admin.EmptyFieldListFilter)]
    list_select_related = ["market"]


@admin.register(Kline)
class KlineAdmin(ReadOnly):
    list_display = ["market", "interval", "open_time", "open", "high", "low", "close", "volume", "trades"]
    list_filter = ["interval", "market"]
    list_select_related = ["market"]


@admin.register(MarketDepth)
class MarketDepthAdmin(ReadOnly):
    list_display = ["market", "last_update_id", "updated_at"]
    list_select_related = ["market"]


auditlog.register(Market)
auditlog.register(FeeTier)
