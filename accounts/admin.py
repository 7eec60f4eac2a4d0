from auditlog.registry import auditlog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.shortcuts import render

from accounts import services
from accounts.client import client_info
from accounts.models import AccountFreeze, ApiKey, KnownDevice, LoginRecord, SecurityEvent, TotpFailureCounter, User


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is evidence: staff read it, nobody edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def reason_step(modeladmin, request, queryset, *, title: str, action: str):
    """Intermediate page asking for a reason; returns the reason once submitted, else a response."""
    if "reason" in request.POST:
        reason = request.POST["reason"].strip()
        if reason:
            return reason, None
        modeladmin.message_user(request, "A reason is required.", messages.ERROR)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return None, render(request, "admin/reason_confirm.html", context)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "language", "vip_tier", "is_staff", "frozen_at", "withdrawals_locked_until", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "vip_tier", "language", ("frozen_at", admin.EmptyFieldListFilter), "groups"]
    search_fields = ["email", "first_name", "last_name"]
    # The anti-phishing code is the customer's own proof that an email is ours; only they set it
    # (anti_phishing_code_set, with a security event), never an operator.
    readonly_fields = ["anti_phishing_code", "frozen_at", "withdrawals_locked_until", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Profile",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "language",
                    "time_zone",
                    "anti_phishing_code",
                    "vip_tier",
                    "pay_fees_in_platform_token",
                ]
            },
        ),
        ("Security", {"fields": ["frozen_at", "withdrawals_locked_until"]}),
        ("Roles", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["freeze_accounts"]

    @admin.action(description="Freeze selected accounts (ends sessions, revokes API keys)", permissions=["freeze"])
    def freeze_accounts(self, request, queryset):
        reason, response = reason_step(self, request, queryset, title="Freeze accounts", action="freeze_accounts")
        if response is not None:
            return response
        for user in queryset:
            services.account_freeze(
                user=user, source=AccountFreeze.Source.SUPPORT, reason=reason, by=request.user, client=client_info(request)
            )
        self.message_user(request, f"Froze {queryset.count()} account(s).", messages.SUCCESS)

    def has_freeze_permission(self, request):
        return request.user.has_perm("accounts.freeze_account")


@admin.register(AccountFreeze)
class AccountFreezeAdmin(admin.ModelAdmin):
    list_display = ["user", "source", "created_at", "created_by", "lift_requested_by", "lifted_at", "lifted_by"]
    list_filter = ["source", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "reason"]
    list_select_related = ["user", "created_by", "lift_requested_by", "lifted_by"]
    readonly_fields = [f.name for f in AccountFreeze._meta.fields]
    actions = ["request_lift", "approve_lift"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Request lifting the freeze (first person)", permissions=["unfreeze"])
    def request_lift(self, request, queryset):
        reason, response = reason_step(self, request, queryset, title="Request lifting freezes", action="request_lift")
        if response is not None:
            return response
        for freeze in queryset:
            try:
                services.freeze_lift_request(freeze=freeze, by=request.user, reason=reason)
            except ValidationError as error:
                self.message_user(request, f"{freeze.user}: {' '.join(error.messages)}", messages.ERROR)

    @admin.action(description="Approve lifting the freeze (second person)", permissions=["unfreeze"])
    def approve_lift(self, request, queryset):
        for freeze in queryset:
            try:
                services.freeze_lift_approve(freeze=freeze, by=request.user, client=client_info(request))
                self.message_user(request, f"{freeze.user}: freeze lifted.", messages.SUCCESS)
            except ValidationError as error:
                self.message_user(request, f"{freeze.user}: {' '.join(error.messages)}", messages.ERROR)

    def has_unfreeze_permission(self, request):
        return request.user.has_perm("accounts.unfreeze_account")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["label", "user", "key_prefix", "can_trade", "can_withdraw", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["can_trade", "can_withdraw", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "label", "key"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "label",
        "key",
        "can_read",
        "can_trade",
        "can_withdraw",
        "ip_allowlist",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "revoked_reason",
    ]
    exclude = ["secret_encrypted"]
    actions = ["revoke"]

    @admin.display(description="key")
    def key_prefix(self, obj):
        return obj.key[:8] + "…"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=api_key, reason=f"revoked by staff {request.user.pk}", client=client_info(request))


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "ip", "notified_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "ip"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(LoginRecord)
class LoginRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "ip", "new_device", "user_agent"]
    list_filter = ["new_device"]
    search_fields = ["user__email", "ip"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(KnownDevice)
class KnownDeviceAdmin(ReadOnlyAdmin):
    list_display = ["user", "device_id", "first_seen_at", "last_seen_at", "last_ip"]
    search_fields = ["user__email", "device_id", "last_ip"]
    list_select_related = ["user"]


@admin.register(TotpFailureCounter)
class TotpFailureCounterAdmin(ReadOnlyAdmin):
    """Wrong TOTP codes per user and per IP (accounts.services.totp_verify); a lock ends by itself."""

    list_display = ["scope", "count", "window_start", "locked_until"]
    list_filter = [("locked_until", admin.EmptyFieldListFilter)]
    search_fields = ["scope"]
    ordering = ["-window_start"]


auditlog.register(User, exclude_fields=["password", "last_login", "session_epoch"])
auditlog.register(AccountFreeze)
auditlog.register(ApiKey, exclude_fields=["secret_encrypted", "last_used_at", "last_used_ip"])
