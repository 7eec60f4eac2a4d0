from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin_amounts import AmountsAdmin
from exchange.models import EngineCommand, FeeTier, Kline, Market, MarketDepth, Order, Trade
from wallets.admin import ReadOnly


class MarketForm(forms.ModelForm):
    """Ticks and lots of resting orders are counted in these steps: refused, with the reason, while
    the market has open orders (exchange.services.market_steps_change_check)."""

    def clean(self):
        from exchange.services import MARKET_STEP_FIELDS, MarketChangeRefused, market_steps_change_check

        cleaned = super().clean()
        if self.instance.pk is not None:
            stored = Market.objects.get(pk=self.instance.pk)
            try:
                market_steps_change_check(market=stored, changes={f: cleaned[f] for f in MARKET_STEP_FIELDS if f in cleaned})
            except MarketChangeRefused as refused:
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
        from exchange.services import market_save

        market_save(market=obj)

    @admin.action(description=_("Halt trading in the selected markets"), permissions=["change"])
    def halt(self, request, queryset):
        count = queryset.update(status=Market.Status.HALT)
        self.message_user(
            request, ngettext("Halted %(count)d market.", "Halted %(count)d markets.", count) % {"count": count}, messages.WARNING
        )

    @admin.action(description=_("Resume trading in the selected markets"), permissions=["change"])
    def resume(self, request, queryset):
        count = queryset.update(status=Market.Status.TRADING)
        self.message_user(
            request, ngettext("Resumed %(count)d market.", "Resumed %(count)d markets.", count) % {"count": count}, messages.SUCCESS
        )


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
    list_display = ["pk", "created_at", "user", "market", "side", "type", "price", "quantity", "executed_qty", "status"]
    list_filter = ["status", "type", "side", "market"]
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
    list_display = ["pk", "market", "kind", "order", "created_at", "applied_at"]
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
