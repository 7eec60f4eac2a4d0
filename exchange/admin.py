from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import reason_step
from config.admin_amounts import AmountsAdmin
from exchange import services
from exchange.models import EngineCommand, FeeTier, Kline, Market, MarketDepth, MarketStatusChange, Order, Trade
from wallets.admin import ReadOnly


class MarketForm(forms.ModelForm):
    """Symbol, base and quote are refused, with the reason, once the market has orders or trades;
    tick and step while it has open orders (exchange.services.market_steps_change_check)."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            # clean() runs before the form's values reach the instance: it is still the stored row.
            fields = services.MARKET_DEFINITION_FIELDS
            try:
                services.market_steps_change_check(market=self.instance, changes={f: cleaned[f] for f in fields if f in cleaned})
            except services.MarketChangeRefused as refused:
                raise forms.ValidationError(refused.message, code=refused.code)
        return cleaned


@admin.register(Market)
class MarketAdmin(AmountsAdmin, admin.ModelAdmin):
    amount_assets = {"tick_size": "quote", "min_notional": "quote", "step_size": "base", "min_qty": "base", "max_qty": "base"}
    list_display = ["symbol", "base", "quote", "tick_size", "step_size", "min_qty", "max_qty", "min_notional", "status"]
    list_filter = ["status", "quote"]
    search_fields = ["symbol"]
    list_select_related = ["base", "quote"]
    actions = ["halt", "resume"]

    form = MarketForm

    def save_model(self, request, obj, form, change):
        services.market_save(market=obj)

    def _status_change(self, request, queryset, *, halt: bool):
        reason, response = reason_step(
            self,
            request,
            queryset,
            title=_("Halt trading (placements not yet applied expire; resting orders stay)") if halt else _("Resume trading"),
            action="halt" if halt else "resume",
        )
        if response is not None:
            return response
        change = services.market_halt if halt else services.market_resume
        for market in queryset:
            change(market=market, actor=request.user, reason=reason)
        count = queryset.count()
        if halt:
            message = ngettext("Halted %(count)d market.", "Halted %(count)d markets.", count) % {"count": count}
        else:
            message = ngettext("Resumed %(count)d market.", "Resumed %(count)d markets.", count) % {"count": count}
        self.message_user(request, message, messages.WARNING if halt else messages.SUCCESS)
        return None

    @admin.action(description=_("Halt trading in the selected markets (with a reason)"), permissions=["change"])
    def halt(self, request, queryset):
        return self._status_change(request, queryset, halt=True)

    @admin.action(description=_("Resume trading in the selected markets (with a reason)"), permissions=["change"])
    def resume(self, request, queryset):
        return self._status_change(request, queryset, halt=False)


@admin.register(MarketStatusChange)
class MarketStatusChangeAdmin(ReadOnly):
    list_display = ["created_at", "market", "previous", "status", "actor", "reason"]
    list_filter = ["market", "status"]
    search_fields = ["market__symbol", "actor__email", "reason"]
    list_select_related = ["market", "actor"]


@admin.register(FeeTier)
class FeeTierAdmin(AmountsAdmin, admin.ModelAdmin):
    list_display = ["tier", "min_volume_30d", "maker_rate", "taker_rate"]


@admin.register(Order)
class OrderAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {
        **dict.fromkeys(["price", "stop_price", "quote_quantity", "cumulative_quote_qty"], "market__quote"),
        **dict.fromkeys(["quantity", "executed_qty"], "market__base"),
        "reserved": "reserved_asset",
    }
    list_display = ["pk", "created_at", "user", "market", "side", "type", "price", "quantity", "executed_qty", "status", "reason"]
    list_filter = ["status", "reason", "type", "side", "market"]
    search_fields = ["user__email", "client_order_id", "=id"]
    list_select_related = ["user", "market"]


@admin.register(Trade)
class TradeAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {
        "price": "market__quote",
        "quote_quantity": "market__quote",
        "quantity": "market__base",
        "buyer_fee": "buyer_fee_asset",
        "seller_fee": "seller_fee_asset",
    }
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
class KlineAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {
        **dict.fromkeys(["open", "high", "low", "close", "quote_volume"], "market__quote"),
        "volume": "market__base",
    }
    list_display = ["market", "interval", "open_time", "open", "high", "low", "close", "volume", "trades"]
    list_filter = ["interval", "market"]
    list_select_related = ["market"]


@admin.register(MarketDepth)
class MarketDepthAdmin(ReadOnly):
    list_display = ["market", "last_update_id", "updated_at"]
    list_select_related = ["market"]


auditlog.register(Market)
auditlog.register(FeeTier)
