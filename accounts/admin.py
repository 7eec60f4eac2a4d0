from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

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


def problem_message(subject, problem) -> str:
    """ "#12: Not enough balance." in the operator's language (the colon comes from the catalog)."""
    return gettext("%(subject)s: %(problem)s") % {"subject": subject, "problem": problem}


def reason_step(modeladmin, request, queryset, *, title: str, action: str):
    """Intermediate page asking for a reason; returns the reason once submitted, else a response."""
    if "reason" in request.POST:
        reason = request.POST["reason"].strip()
        if reason:
            return reason, None
        modeladmin.message_user(request, gettext("A reason is required."), messages.ERROR)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return None, render(request, "admin/reason_confirm.html", context)


class StaffUserChangeForm(UserChangeForm):
    def clean_email(self):
        from allauth.account.models import EmailAddress

        email = self.cleaned_data["email"].strip().lower()
        if EmailAddress.objects.filter(email__iexact=email).exclude(user_id=self.instance.pk).exists():
            raise forms.ValidationError(_("This email address belongs to another account."))
        return email


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Role fields only for superusers and never on one's own account; email and password changes
    go through the same services as the user's own (event, emails, 24 h lock); staff accounts are
    changed by superusers only, so nobody takes over the second person of a two-person control."""

    form = StaffUserChangeForm
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
            _("Profile"),
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
        (_("Security"), {"fields": ["frozen_at", "withdrawals_locked_until"]}),
        (_("Roles"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["freeze_accounts"]

    @admin.action(description=_("Freeze selected accounts (ends sessions, revokes API keys)"), permissions=["freeze"])
    def freeze_accounts(self, request, queryset):
        reason, response = reason_step(self, request, queryset, title=gettext("Freeze accounts"), action="freeze_accounts")
        if response is not None:
            return response
        for user in queryset:
            services.account_freeze(
                user=user, source=AccountFreeze.Source.SUPPORT, reason=reason, by=request.user, client=client_info(request)
            )
        count = queryset.count()
        self.message_user(
            request, ngettext("Froze %(count)d account.", "Froze %(count)d accounts.", count) % {"count": count}, messages.SUCCESS
        )

    def has_freeze_permission(self, request):
        return request.user.has_perm("accounts.freeze_account")

    def has_change_permission(self, request, obj=None):
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser and obj.pk != request.user.pk:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and (not request.user.is_superuser or obj.pk == request.user.pk):
            fields += [field for field in services.ROLE_FIELDS if field not in fields]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        stored = User.objects.get(pk=obj.pk)
        roles = {field: form.cleaned_data[field] for field in services.ROLE_FIELDS if field in form.cleaned_data}
        new_email = obj.email
        # Roles and email are written by their services below, never by the form.
        obj.is_staff, obj.is_superuser, obj.email = stored.is_staff, stored.is_superuser, stored.email
        super().save_model(request, obj, form, change)
        client = client_info(request)
        if roles:
            services.user_roles_set(
                user=obj,
                by=request.user,
                is_staff=roles.get("is_staff", stored.is_staff),
                is_superuser=roles.get("is_superuser", stored.is_superuser),
                groups=roles.get("groups", stored.groups.all()),
                user_permissions=roles.get("user_permissions", stored.user_permissions.all()),
                client=client,
            )
            form.cleaned_data.pop("groups", None)
            form.cleaned_data.pop("user_permissions", None)
        if new_email != stored.email:
            services.user_email_change_by_staff(user=obj, email=new_email, by=request.user, client=client)

    def user_change_password(self, request, id, form_url=""):
        """The password form, saved through the service (event, email, lock, sessions ended, audit)."""
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = self.change_password_form(user, request.POST)
        if not form.is_valid() or not (form.cleaned_data["set_usable_password"] or "unset-password" in request.POST):
            return super().user_change_password(request, id, form_url)
        password = form.cleaned_data["password1"] if form.cleaned_data["set_usable_password"] else None
        services.user_password_set_by_staff(user=user, password=password, by=request.user, client=client_info(request))
        if user.pk == request.user.pk:
            update_session_auth_hash(request, user)
        messages.success(request, gettext("Password changed successfully."))
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=(user.pk,)))


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

    @admin.action(description=_("Request lifting the freeze (first person)"), permissions=["unfreeze"])
    def request_lift(self, request, queryset):
        reason, response = reason_step(self, request, queryset, title=gettext("Request lifting freezes"), action="request_lift")
        if response is not None:
            return response
        for freeze in queryset:
            try:
                services.freeze_lift_request(freeze=freeze, by=request.user, reason=reason)
            except ValidationError as error:
                self.message_user(request, problem_message(freeze.user, " ".join(error.messages)), messages.ERROR)

    @admin.action(description=_("Approve lifting the freeze (second person)"), permissions=["unfreeze"])
    def approve_lift(self, request, queryset):
        for freeze in queryset:
            try:
                services.freeze_lift_approve(freeze=freeze, by=request.user, client=client_info(request))
                self.message_user(request, gettext("%(account)s: freeze lifted.") % {"account": freeze.user}, messages.SUCCESS)
            except ValidationError as error:
                self.message_user(request, problem_message(freeze.user, " ".join(error.messages)), messages.ERROR)

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

    @admin.display(description=pgettext_lazy("API key", "key"))
    def key_prefix(self, obj):
        return obj.key[:8] + "…"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
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
