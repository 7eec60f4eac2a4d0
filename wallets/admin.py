from auditlog.registry import auditlog
from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from wallets.models import Asset, Entry, Journal, LedgerAccount, Network


class NetworkInline(admin.TabularInline):
    model = Network
    extra = 0
    fields = ["code", "name", "confirmations", "withdrawal_fee", "withdrawal_min", "withdrawal_max", "memo_required",
              "deposit_enabled", "withdrawal_enabled"]


@admin.register(Asset)
class AssetAdmin(TranslationAdmin):
    list_display = ["symbol", "name", "precision", "is_platform_token", "is_active"]
    list_filter = ["is_active", "is_platform_token"]
    search_fields = ["symbol", "name_en"]
    inlines = [NetworkInline]


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "name", "confirmations", "withdrawal_fee", "withdrawal_min", "withdrawal_max",
                    "memo_required", "deposit_enabled", "withdrawal_enabled"]
    list_filter = ["deposit_enabled", "withdrawal_enabled", "memo_required", "asset"]
    list_editable = ["deposit_enabled", "withdrawal_enabled"]
    search_fields = ["code", "name", "asset__symbol"]
    list_select_related = ["asset"]


class ReadOnly(admin.ModelAdmin):
    """The ledger is append-only: staff read it; money moves only through services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnly):
    list_display = ["__str__", "kind", "asset", "available", "locked", "updated_at"]
    list_filter = ["kind", "asset"]
    search_fields = ["user__email", "asset__symbol"]
    list_select_related = ["user", "asset", "network"]


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "asset", "bucket", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Journal)
class JournalAdmin(ReadOnly):
    list_display = ["pk", "kind", "created_at", "idempotency_key", "memo", "created_by"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo", "entries__account__user__email"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]
    list_select_related = ["created_by"]


auditlog.register(Asset)
auditlog.register(Network)
