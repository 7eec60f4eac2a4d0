from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from modeltranslation.admin import TranslationAdmin

from accounts.admin import ReadOnlyAdmin as ReadOnly
from accounts.admin import reason_step
from wallets import services
from wallets.models import (
    Asset,
    Campaign,
    ChainCursor,
    Deposit,
    DepositAddress,
    Distribution,
    Entry,
    HoldingSnapshot,
    Journal,
    LedgerAccount,
    Network,
    Notice,
    Payout,
    Reconciliation,
    ReconciliationLine,
    RecoveryRequest,
    SimTransfer,
    SnapshotDay,
    Withdrawal,
    WithdrawalAddress,
)


class NetworkInline(admin.TabularInline):
    model = Network
    extra = 0
    fields = [
        "code",
        "name",
        "confirmations",
        "withdrawal_fee",
        "withdrawal_min",
        "withdrawal_max",
        "memo_required",
        "deposit_enabled",
        "withdrawal_enabled",
    ]


@admin.register(Asset)
class AssetAdmin(TranslationAdmin):
    list_display = ["symbol", "name", "precision", "is_platform_token", "is_active"]
    list_filter = ["is_active", "is_platform_token"]
    search_fields = ["symbol", "name_en"]
    inlines = [NetworkInline]


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "name",
        "confirmations",
        "withdrawal_fee",
        "withdrawal_min",
        "withdrawal_max",
        "memo_required",
        "deposit_enabled",
        "withdrawal_enabled",
    ]
    list_filter = ["deposit_enabled", "withdrawal_enabled", "memo_required", "asset"]
    list_editable = ["deposit_enabled", "withdrawal_enabled"]
    search_fields = ["code", "name", "asset__symbol"]
    list_select_related = ["asset"]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnly):
    list_display = ["__str__", "kind", "asset", "available", "locked", "updated_at"]
    list_filter = ["kind", "asset"]
    search_fields = ["user__email", "asset__symbol"]
    list_select_related = ["user", "asset", "network"]


class EntryInline(admin.TabularInline):
    model = Entry

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__user", "account__asset", "account__network", "asset")

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


# --- Deposits, withdrawals, address book ------------------------------------------------------------


@admin.register(Deposit)
class DepositAdmin(ReadOnly):
    list_display = ["pk", "seen_at", "user", "token", "chain", "amount", "confirmations", "status", "problem", "tx_hash"]
    list_filter = ["status", "problem", "chain", "token"]
    search_fields = ["tx_hash", "address", "user__email", "memo"]
    date_hierarchy = "seen_at"
    list_select_related = ["user"]


@admin.register(DepositAddress)
class DepositAddressAdmin(ReadOnly):
    list_display = ["user", "chain", "address", "memo", "created_at"]
    list_filter = ["chain"]
    search_fields = ["user__email", "address", "memo"]
    list_select_related = ["user"]


@admin.register(WithdrawalAddress)
class WithdrawalAddressAdmin(ReadOnly):
    list_display = ["user", "label", "network", "address", "memo", "created_at", "usable_from"]
    search_fields = ["user__email", "address", "label"]
    list_select_related = ["user", "network__asset"]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnly):
    list_display = [
        "pk",
        "created_at",
        "user",
        "network",
        "amount",
        "fee",
        "net_amount",
        "status",
        "internal_recipient",
        "tx_hash",
        "reviewed_by",
    ]
    list_filter = ["status", "network__asset", "network__code", ("internal_recipient", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "address", "tx_hash", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "network__asset", "internal_recipient", "reviewed_by"]
    actions = ["approve", "reject"]

    def _review(self, request, queryset, *, approve: bool):
        reason, response = reason_step(
            self,
            request,
            queryset,
            title="Approve withdrawals" if approve else "Reject withdrawals (funds go back to the user)",
            action="approve" if approve else "reject",
        )
        if response is not None:
            return response
        done = 0
        for withdrawal in queryset:
            try:
                services.withdrawal_review(withdrawal=withdrawal, by=request.user, approve=approve, note=reason)
                done += 1
            except services.WithdrawalRefused as refused:
                self.message_user(request, f"#{withdrawal.pk}: {refused.message}", messages.ERROR)
        self.message_user(request, f"{'Approved' if approve else 'Rejected'} {done} withdrawal(s).", messages.SUCCESS)
        return None

    @admin.action(description="Approve selected withdrawals in review (with a reason)", permissions=["review"])
    def approve(self, request, queryset):
        return self._review(request, queryset, approve=True)

    @admin.action(description="Reject selected withdrawals in review (with a reason)", permissions=["review"])
    def reject(self, request, queryset):
        return self._review(request, queryset, approve=False)

    def has_review_permission(self, request):
        return request.user.has_perm("wallets.review_withdrawal")


# --- Snapshots and payouts ------------------------------------------------------------------------------


@admin.register(SnapshotDay)
class SnapshotDayAdmin(ReadOnly):
    list_display = ["day", "taken_at", "rows"]
    date_hierarchy = "day"


class PayoutForm(forms.ModelForm):
    csv_file = forms.FileField(
        required=False, help_text="CSV basis: rows of email,amount (a header row is allowed); replaces the text below"
    )

    class Meta:
        model = Payout
        fields = [
            "name",
            "purpose",
            "basis",
            "reward_asset",
            "source_asset",
            "period_start",
            "period_end",
            "pool_amount",
            "rate",
            "funding_kind",
            "csv_text",
        ]

    def clean(self):
        data = super().clean()
        upload = data.get("csv_file")
        if upload:
            try:
                data["csv_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("the CSV must be UTF-8 text")
        if data.get("basis") == Payout.Basis.CSV and data.get("reward_asset"):
            try:
                services.csv_lines_parse(data.get("csv_text", ""), data["reward_asset"])
            except services.PayoutError as error:
                raise forms.ValidationError(error.errors)
        if data.get("basis") in (Payout.Basis.POOL, Payout.Basis.RATE):
            missing = [name for name in ("source_asset", "period_start", "period_end") if not data.get(name)]
            if missing:
                raise forms.ValidationError(f"a {data['basis']} basis needs: {', '.join(missing)}")
        return data


class PayoutAdmin(admin.ModelAdmin):
    """Prepare (draft) -> Preview -> Approve (another operator) -> paid in the background."""

    form = PayoutForm
    purposes: tuple = ()
    list_display = ["name", "purpose", "basis", "reward_asset", "budget", "dust", "status", "progress", "created_by", "approved_by"]
    list_filter = ["status", "purpose", "reward_asset"]
    search_fields = ["name"]
    list_select_related = ["reward_asset", "created_by", "approved_by"]
    readonly_fields = [
        "status",
        "budget",
        "paid_total",
        "dust",
        "lines_total",
        "lines_paid",
        "progress",
        "report",
        "lines_table",
        "created_by",
        "prepared_by",
        "approved_by",
        "created_at",
        "approved_at",
        "finished_at",
    ]
    actions = ["preview", "approve", "cancel"]
    PREVIEW_ROWS = 100

    def get_queryset(self, request):
        return super().get_queryset(request).filter(purpose__in=self.purposes)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "purpose":
            kwargs["choices"] = [c for c in Payout.Purpose.choices if c[0] in self.purposes]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED):
            return list(PayoutForm.Meta.fields) + self.readonly_fields
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        else:
            # Edits race approvals: lock the row and edit only what is still a draft or a preview.
            current = Payout.objects.select_for_update(no_key=True).get(pk=obj.pk)
            if current.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED):
                raise PermissionDenied("this payout is approved or paying and can no longer be edited")
            obj.status = Payout.Status.DRAFT  # edited: preview again before approval
        obj.prepared_by = request.user  # whoever edits it may not approve it
        super().save_model(request, obj, form, change)

    @admin.display(description="per-user table")
    def lines_table(self, obj):
        if obj.pk is None:
            return "-"
        lines = list(obj.lines.select_related("user").order_by("-amount", "pk")[: self.PREVIEW_ROWS])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((line.user.email, line.basis.normalize(), line.amount, "✓" if line.journal_id else "") for line in lines),
        )
        more = (
            f"<p>The {self.PREVIEW_ROWS} largest of {obj.lines_total} lines; the CSV report has all.</p>"
            if obj.lines_total > self.PREVIEW_ROWS
            else ""
        )
        return format_html(
            "<table><thead><tr><th>user</th><th>basis (unit-days or CSV)</th><th>amount</th><th>paid</th></tr></thead>"
            "<tbody>{}</tbody></table>{}",
            rows,
            mark_safe(more),
        )

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.lines_paid} / {obj.lines_total} paid ({obj.paid_total})"

    @admin.display(description="report")
    def report(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_report", args=[obj.pk])
        return format_html('<a href="{}">Download CSV report</a>', url)

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_report"
        return [path("<int:pk>/report.csv", self.admin_site.admin_view(self.report_view), name=name)] + super().get_urls()

    def report_view(self, request, pk):
        import csv

        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        payout = get_object_or_404(self.get_queryset(request).select_related("reward_asset"), pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payout-{payout.pk}.csv"'
        writer = csv.writer(response)
        for row in services.payout_report_rows(payout=payout):
            writer.writerow(row)
        return response

    @admin.action(description="Preview: compute the per-user table and totals", permissions=["change"])
    def preview(self, request, queryset):
        for payout in queryset:
            try:
                payout = services.payout_preview(payout=payout, by=request.user)
                self.message_user(
                    request, f"{payout}: {payout.lines_total} users, budget {payout.budget}, dust {payout.dust}.", messages.SUCCESS
                )
            except services.PayoutError as error:
                for problem in error.errors[:50]:
                    self.message_user(request, f"{payout}: {problem}", messages.ERROR)

    @admin.action(description="Approve (a second operator) and start paying", permissions=["approve"])
    def approve(self, request, queryset):
        for payout in queryset:
            try:
                services.payout_approve(payout=payout, by=request.user)
                self.message_user(request, f"{payout}: approved; paying in the background.", messages.SUCCESS)
            except services.PayoutError as error:
                self.message_user(request, f"{payout}: {error}", messages.ERROR)

    @admin.action(description="Cancel (before paying starts; a reserved budget goes back)", permissions=["change"])
    def cancel(self, request, queryset):
        for payout in queryset:
            try:
                services.payout_cancel(payout=payout)
            except services.PayoutError as error:
                self.message_user(request, f"{payout}: {error}", messages.ERROR)

    def has_approve_permission(self, request):
        return request.user.has_perm("wallets.approve_payout")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Distribution)
class DistributionAdmin(PayoutAdmin):
    purposes = Payout.DISTRIBUTIONS


@admin.register(Campaign)
class CampaignAdmin(PayoutAdmin):
    purposes = (Payout.Purpose.COMPENSATION, Payout.Purpose.REFUND)

    def get_changeform_initial_data(self, request):
        return {"funding_kind": "compensation_pool", "purpose": Payout.Purpose.COMPENSATION}


# --- Reconciliation and recovery --------------------------------------------------------------------------


class ReconciliationLineInline(admin.TabularInline):
    model = ReconciliationLine

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("network__asset", "surplus_journal")

    fields = [
        "network",
        "chain_holdings",
        "ledger_custody",
        "in_flight",
        "unattributed",
        "difference",
        "liabilities",
        "asset_chain_total",
        "surplus_journal",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnly):
    list_display = ["run_at", "trigger", "run_by", "discrepancies"]
    list_filter = ["trigger"]
    list_select_related = ["run_by"]
    inlines = [ReconciliationLineInline]
    change_list_template = "admin/wallets/reconciliation/change_list.html"

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="wallets_reconciliation_run")] + super().get_urls()

    def run_view(self, request):
        if request.method != "POST" or not request.user.has_perm("wallets.add_reconciliation"):
            return HttpResponse(status=403)
        report = services.reconciliation_run(trigger=Reconciliation.Trigger.MANUAL, by=request.user)
        level = messages.WARNING if report.discrepancies else messages.SUCCESS
        self.message_user(request, f"{report}", level)
        return HttpResponseRedirect(reverse("admin:wallets_reconciliation_change", args=[report.pk]))


@admin.register(ReconciliationLine)
class ReconciliationLineAdmin(ReadOnly):
    list_display = [
        "reconciliation",
        "network",
        "chain_holdings",
        "ledger_custody",
        "in_flight",
        "unattributed",
        "difference",
        "liabilities",
        "surplus_journal",
    ]
    list_filter = ["network__asset"]
    list_select_related = ["reconciliation", "network__asset", "surplus_journal"]
    actions = ["book_surplus"]

    @admin.action(description="Book the surplus into the distribution pool and open a draft distribution", permissions=["book"])
    def book_surplus(self, request, queryset):
        for line in queryset:
            try:
                payout = services.reconciliation_surplus_book(line=line, by=request.user)
                self.message_user(
                    request, f"{line.network}: {line.difference} booked; draft distribution #{payout.pk} opened.", messages.SUCCESS
                )
            except ValueError as error:
                self.message_user(request, f"{line.network}: {error}", messages.ERROR)

    def has_book_permission(self, request):
        return request.user.has_perm("wallets.change_reconciliationline") and request.user.has_perm("wallets.add_distribution")


@admin.register(RecoveryRequest)
class RecoveryRequestAdmin(ReadOnly):
    list_display = [
        "pk",
        "created_at",
        "user",
        "chain",
        "token",
        "amount",
        "fee",
        "status",
        "check_result",
        "sender",
        "verified_by",
        "first_approver",
        "second_approver",
    ]
    list_filter = ["status", "check_result", "chain"]
    search_fields = ["tx_hash", "user__email", "address"]
    list_select_related = ["user", "deposit", "verified_by", "first_approver", "second_approver"]
    actions = ["verify", "approve", "reject"]

    @admin.display(description="sent from")
    def sender(self, obj):
        return obj.deposit.from_address if obj.deposit_id else ""

    @admin.action(description="Ownership proven (signed message or statement checked): quote the fee", permissions=["approve"])
    def verify(self, request, queryset):
        for item in queryset:
            try:
                services.recovery_ownership_verify(request=item, by=request.user)
            except services.RecoveryRefused as refused:
                self.message_user(request, f"#{item.pk}: {refused.message}", messages.ERROR)

    @admin.action(description="Approve (the second approval by another operator credits the user)", permissions=["approve"])
    def approve(self, request, queryset):
        for item in queryset:
            try:
                item = services.recovery_approve(request=item, by=request.user)
                self.message_user(request, f"#{item.pk}: {item.get_status_display()}", messages.SUCCESS)
            except services.RecoveryRefused as refused:
                self.message_user(request, f"#{item.pk}: {refused.message}", messages.ERROR)

    @admin.action(description="Reject (with a reason the user sees)", permissions=["approve"])
    def reject(self, request, queryset):
        reason, response = reason_step(self, request, queryset, title="Reject recovery requests", action="reject")
        if response is not None:
            return response
        for item in queryset:
            try:
                services.recovery_reject(request=item, by=request.user, reason=reason)
            except services.RecoveryRefused as refused:
                self.message_user(request, f"#{item.pk}: {refused.message}", messages.ERROR)
        return None

    def has_approve_permission(self, request):
        return request.user.has_perm("wallets.approve_recovery")


@admin.register(Notice)
class NoticeAdmin(ReadOnly):
    list_display = ["created_at", "user", "kind", "object_id", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email"]
    list_select_related = ["user"]


@admin.register(HoldingSnapshot)
class HoldingSnapshotAdmin(ReadOnly):
    list_display = ["day", "user", "asset", "total"]
    list_filter = ["asset"]
    search_fields = ["user__email"]
    date_hierarchy = "day"
    list_select_related = ["user", "asset"]


@admin.register(ChainCursor)
class ChainCursorAdmin(ReadOnly):
    list_display = ["chain", "scanned_height", "updated_at"]


@admin.register(SimTransfer)
class SimTransferAdmin(ReadOnly):
    """The simulated chain's transfers (embedded mode): what `chain_send` and withdrawals put on it."""

    list_display = ["chain", "height", "tx_hash", "token", "from_address", "to_address", "memo", "amount", "outgoing_key"]
    list_filter = ["chain", "token"]
    search_fields = ["tx_hash", "to_address", "from_address"]
    list_select_related = ["chain"]


auditlog.register(Withdrawal)
auditlog.register(Payout)
auditlog.register(RecoveryRequest)
