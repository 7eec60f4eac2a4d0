from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from accounts.admin import ReadOnlyAdmin as ReadOnly
from accounts.admin import problem_message, reason_step
from config.admin_amounts import AmountsAdmin, Symbol, amount_cell, audit_log_admin_install
from config.formatting import amount_format, amount_plain
from config.languages import LANGUAGES_CHOICES_FIELD
from wallets import selectors, services
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
    PoolFunding,
    Reconciliation,
    ReconciliationLine,
    RecoveryRejection,
    RecoveryRequest,
    SimTransfer,
    SnapshotDay,
    Withdrawal,
    WithdrawalAddress,
    WithdrawalRejection,
)


class RejectionForm(forms.Form):
    rejection = forms.ChoiceField(label="Reason the customer is emailed", widget=forms.RadioSelect)
    note = forms.CharField(
        label="Note for the staff record (optional, never sent to the customer)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rejection"].choices = choices


def rejection_step(modeladmin, request, queryset, *, title: str, action: str, reasons: type, customer: str = "user"):
    """Intermediate page: a reason from the translated list (the customer reads it in their own
    language, previewed here for each language among the selected customers) and an optional
    staff note. Returns ((code, note), None) once submitted, else (None, the page)."""
    form = RejectionForm(request.POST if "rejection" in request.POST else None, choices=reasons.choices)
    if form.is_bound and form.is_valid():
        return (form.cleaned_data["rejection"], form.cleaned_data["note"]), None
    objects = list(queryset.select_related(customer))
    names = dict(LANGUAGES_CHOICES_FIELD)
    languages = sorted({getattr(obj, customer).language for obj in objects})
    previews = []
    for code, label in reasons.choices:
        texts = []
        for language in languages:
            with translation.override(language):
                texts.append((language, str(reasons(code).label)))
        previews.append({"code": code, "label": label, "texts": texts})
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": [(obj, getattr(obj, customer), names.get(getattr(obj, customer).language, "")) for obj in objects],
        "languages": [(language, names.get(language, language)) for language in languages],
        "previews": previews,
        "form": form,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return None, render(request, "admin/rejection_confirm.html", context)


class NetworkInline(AmountsAdmin, admin.TabularInline):
    model = Network
    amount_assets = {"withdrawal_fee": "asset", "withdrawal_min": "asset", "withdrawal_max": "asset"}
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


class AssetForm(forms.ModelForm):
    def clean_precision(self):
        from wallets.services.assets import AssetChangeRefused, asset_precision_change_check

        precision = self.cleaned_data["precision"]
        try:  # the form's values reach the instance after cleaning: it is still the stored row
            asset_precision_change_check(asset=self.instance, precision=precision)
        except AssetChangeRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code)
        return precision


@admin.register(Asset)
class AssetAdmin(AmountsAdmin, TranslationAdmin):
    amount_assets = {"withdrawal_daily_limit": "", "withdrawal_review_threshold": ""}
    list_display = ["symbol", "name", "precision", "is_platform_token", "is_active"]
    list_filter = ["is_active", "is_platform_token"]
    search_fields = ["symbol", "name_en"]
    inlines = [NetworkInline]
    form = AssetForm

    def save_model(self, request, obj, form, change):
        from wallets.services.assets import asset_save

        asset_save(asset=obj)


@admin.register(Network)
class NetworkAdmin(AmountsAdmin, admin.ModelAdmin):
    amount_assets = {"withdrawal_fee": "asset", "withdrawal_min": "asset", "withdrawal_max": "asset"}
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
class LedgerAccountAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {"available": "asset", "locked": "asset"}
    list_display = ["__str__", "kind", "asset", "available", "locked", "updated_at"]
    list_filter = ["kind", "asset"]
    search_fields = ["user__email", "asset__symbol"]
    list_select_related = ["user", "asset", "network"]


class EntryInline(AmountsAdmin, admin.TabularInline):
    model = Entry
    amount_assets = {"amount": "asset"}

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
class DepositAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {"amount": Symbol("token")}
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
class WithdrawalAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {"amount": "network__asset", "fee": "network__asset", "net_amount": "network__asset"}
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
        "rejection",
    ]
    list_filter = ["status", "network__asset", "network__code", ("internal_recipient", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "address", "tx_hash", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "network__asset", "internal_recipient", "reviewed_by"]
    actions = ["approve", "reject"]

    def _review(self, request, queryset, *, approve: bool):
        if approve:
            note, response = reason_step(self, request, queryset, title=gettext("Approve withdrawals"), action="approve")
            rejection = ""
        else:
            picked, response = rejection_step(
                self,
                request,
                queryset,
                title=gettext("Reject withdrawals (funds go back to the user)"),
                action="reject",
                reasons=WithdrawalRejection,
            )
            rejection, note = picked or ("", "")
        if response is not None:
            return response
        done = 0
        for withdrawal in queryset:
            try:
                services.withdrawal_review(withdrawal=withdrawal, by=request.user, approve=approve, note=note, rejection=rejection)
                done += 1
            except services.WithdrawalRefused as refused:
                self.message_user(request, problem_message(f"#{withdrawal.pk}", refused.message), messages.ERROR)
        if approve:
            text = ngettext("Approved %(count)d withdrawal.", "Approved %(count)d withdrawals.", done)
        else:
            text = ngettext("Rejected %(count)d withdrawal.", "Rejected %(count)d withdrawals.", done)
        self.message_user(request, text % {"count": done}, messages.SUCCESS)
        return None

    @admin.action(description=_("Approve selected withdrawals in review (with a reason)"), permissions=["review"])
    def approve(self, request, queryset):
        return self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject selected withdrawals in review (with a reason)"), permissions=["review"])
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


def funding_summary(payout, state=None) -> str:
    """What approval will find: does the funding account hold the budget, and if not, how much is
    missing (`state`: the payout_funding the caller already read)."""
    state = state or selectors.payout_funding(payout=payout)
    places, symbol = payout.reward_asset.precision, payout.reward_asset.symbol
    amounts = {
        "account": state.account.get_kind_display(),
        "available": f"{amount_format(state.available, places)} {symbol}",
        "budget": f"{amount_format(state.budget, places)} {symbol}",
        "shortfall": f"{amount_format(state.shortfall, places)} {symbol}",
    }
    if state.enough:
        return gettext("The %(account)s account holds %(available)s: enough for the budget of %(budget)s.") % amounts
    return (
        gettext(
            "The %(account)s account holds %(available)s: NOT enough for the budget of %(budget)s, short by %(shortfall)s. "
            "Fund the pool (Pool fundings) before approving."
        )
        % amounts
    )


class PayoutAdmin(AmountsAdmin, admin.ModelAdmin):
    """Prepare (draft) -> Preview -> Approve (another operator) -> paid in the background."""

    form = PayoutForm
    amount_assets = dict.fromkeys(("pool_amount", "budget", "paid_total", "dust"), "reward_asset")
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
        "funding",
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
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.status not in (Payout.Status.DRAFT, Payout.Status.PREVIEWED):
            return self._shown(PayoutForm.Meta.fields) + readonly
        return readonly

    def save_model(self, request, obj, form, change):
        try:
            services.payout_save(payout=obj, by=request.user)
        except services.PayoutError as refused:
            raise PermissionDenied(refused.message)

    @admin.display(description=_("funding account"))
    def funding(self, obj):
        if obj.pk is None:
            return "-"
        return funding_summary(obj)

    @admin.display(description=_("per-user table"))
    def lines_table(self, obj):
        if obj.pk is None:
            return "-"
        lines = list(obj.lines.select_related("user").order_by("-amount", "pk")[: self.PREVIEW_ROWS])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    line.user.email,
                    amount_plain(line.basis),
                    amount_cell(line.amount, obj.reward_asset.precision),
                    "✓" if line.journal_id else "",
                )
                for line in lines
            ),
        )
        more = (
            format_html(
                "<p>{}</p>",
                ngettext(
                    "The %(shown)d largest of %(count)d line; the CSV report has all.",
                    "The %(shown)d largest of %(count)d lines; the CSV report has all.",
                    obj.lines_total,
                )
                % {"shown": self.PREVIEW_ROWS, "count": obj.lines_total},
            )
            if obj.lines_total > self.PREVIEW_ROWS
            else ""
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>{}",
            pgettext_lazy("payout table", "user"),
            gettext("basis (unit-days or CSV)"),
            pgettext_lazy("payout table", "amount"),
            pgettext_lazy("payout table", "paid"),
            rows,
            more,
        )

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return ngettext(
            "%(paid)d / %(count)d paid (%(amount)s)",
            "%(paid)d / %(count)d paid (%(amount)s)",
            obj.lines_total,
        ) % {"paid": obj.lines_paid, "count": obj.lines_total, "amount": amount_format(obj.paid_total, obj.reward_asset.precision)}

    @admin.display(description=pgettext_lazy("payout", "report"))
    def report(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download CSV report"))

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
        for row in selectors.payout_report_rows(payout=payout):
            writer.writerow(row)
        return response

    @admin.action(description=_("Preview: compute the per-user table and totals"), permissions=["change"])
    def preview(self, request, queryset):
        for payout in queryset:
            try:
                payout = services.payout_preview(payout=payout, by=request.user)
                places, funding = payout.reward_asset.precision, selectors.payout_funding(payout=payout)
                summary = ngettext(
                    "%(payout)s: %(count)d user, budget %(budget)s, dust %(dust)s. %(funding)s",
                    "%(payout)s: %(count)d users, budget %(budget)s, dust %(dust)s. %(funding)s",
                    payout.lines_total,
                ) % {
                    "payout": payout,
                    "count": payout.lines_total,
                    "budget": amount_format(payout.budget, places),
                    "dust": amount_format(payout.dust, places),
                    "funding": funding_summary(payout, funding),
                }
                self.message_user(request, summary, messages.SUCCESS if funding.enough else messages.WARNING)
            except services.PayoutError as error:
                for problem in error.errors[:50]:
                    self.message_user(request, problem_message(payout, problem), messages.ERROR)

    @admin.action(description=_("Approve (a second operator) and start paying"), permissions=["approve"])
    def approve(self, request, queryset):
        for payout in queryset:
            try:
                services.payout_approve(payout=payout, by=request.user)
                self.message_user(
                    request, gettext("%(payout)s: approved; paying in the background.") % {"payout": payout}, messages.SUCCESS
                )
            except services.PayoutError as error:
                self.message_user(request, problem_message(payout, error.message), messages.ERROR)

    @admin.action(description=_("Cancel (before paying starts; a reserved budget goes back)"), permissions=["change"])
    def cancel(self, request, queryset):
        for payout in queryset:
            try:
                services.payout_cancel(payout=payout)
            except services.PayoutError as error:
                self.message_user(request, problem_message(payout, error.message), messages.ERROR)

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

RECONCILIATION_AMOUNTS = dict.fromkeys(
    ("chain_holdings", "ledger_custody", "in_flight", "unattributed", "difference", "liabilities", "asset_chain_total"), "network__asset"
)


class ReconciliationLineInline(AmountsAdmin, admin.TabularInline):
    model = ReconciliationLine
    amount_assets = RECONCILIATION_AMOUNTS

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
        count = report.discrepancies
        text = ngettext("Reconciliation done: %(count)d discrepancy.", "Reconciliation done: %(count)d discrepancies.", count)
        self.message_user(request, text % {"count": count}, level)
        return HttpResponseRedirect(reverse("admin:wallets_reconciliation_change", args=[report.pk]))


@admin.register(ReconciliationLine)
class ReconciliationLineAdmin(AmountsAdmin, ReadOnly):
    amount_assets = RECONCILIATION_AMOUNTS
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

    @admin.action(description=_("Book the surplus into the distribution pool and open a draft distribution"), permissions=["book"])
    def book_surplus(self, request, queryset):
        for line in queryset:
            try:
                payout = services.reconciliation_surplus_book(line=line, by=request.user)
                self.message_user(
                    request,
                    gettext("%(network)s: %(amount)s booked; draft distribution #%(distribution)s opened.")
                    % {
                        "network": line.network,
                        "amount": amount_format(line.difference, line.network.asset.precision),
                        "distribution": payout.pk,
                    },
                    messages.SUCCESS,
                )
            except ValueError as error:
                self.message_user(request, problem_message(line.network, error), messages.ERROR)

    def has_book_permission(self, request):
        return request.user.has_perm("wallets.change_reconciliationline") and request.user.has_perm("wallets.add_distribution")


@admin.register(RecoveryRequest)
class RecoveryRequestAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {"amount": Symbol("token"), "fee": Symbol("token")}
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
        "rejection",
        "sender",
        "verified_by",
        "first_approver",
        "second_approver",
    ]
    list_filter = ["status", "check_result", "chain"]
    search_fields = ["tx_hash", "user__email", "address"]
    list_select_related = ["user", "deposit", "verified_by", "first_approver", "second_approver"]
    actions = ["verify", "approve", "reject"]

    @admin.display(description=_("sent from"))
    def sender(self, obj):
        return obj.deposit.from_address if obj.deposit_id else ""

    @admin.action(description=_("Ownership proven (signed message or statement checked): quote the fee"), permissions=["approve"])
    def verify(self, request, queryset):
        for item in queryset:
            try:
                services.recovery_ownership_verify(request=item, by=request.user)
            except services.RecoveryRefused as refused:
                self.message_user(request, problem_message(f"#{item.pk}", refused.message), messages.ERROR)

    @admin.action(description=_("Approve (the second approval by another operator credits the user)"), permissions=["approve"])
    def approve(self, request, queryset):
        for item in queryset:
            try:
                item = services.recovery_approve(request=item, by=request.user)
                self.message_user(request, problem_message(f"#{item.pk}", item.get_status_display()), messages.SUCCESS)
            except services.RecoveryRefused as refused:
                self.message_user(request, problem_message(f"#{item.pk}", refused.message), messages.ERROR)

    @admin.action(description=_("Reject (with a reason the user reads in their language)"), permissions=["approve"])
    def reject(self, request, queryset):
        picked, response = rejection_step(
            self, request, queryset, title=gettext("Reject recovery requests"), action="reject", reasons=RecoveryRejection
        )
        if response is not None:
            return response
        rejection, note = picked
        for item in queryset:
            try:
                services.recovery_reject(request=item, by=request.user, rejection=rejection, note=note)
            except services.RecoveryRefused as refused:
                self.message_user(request, problem_message(f"#{item.pk}", refused.message), messages.ERROR)
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
class HoldingSnapshotAdmin(AmountsAdmin, ReadOnly):
    amount_assets = {"total": "asset"}
    list_display = ["day", "user", "asset", "total"]
    list_filter = ["asset"]
    search_fields = ["user__email"]
    date_hierarchy = "day"
    list_select_related = ["user", "asset"]


@admin.register(ChainCursor)
class ChainCursorAdmin(ReadOnly):
    list_display = ["chain", "scanned_height", "updated_at"]


@admin.register(SimTransfer)
class SimTransferAdmin(AmountsAdmin, ReadOnly):
    """The simulated chain's transfers (embedded mode): what `chain_send` and withdrawals put on it."""

    amount_assets = {"amount": Symbol("token")}
    list_display = ["chain", "height", "tx_hash", "token", "from_address", "to_address", "memo", "amount", "outgoing_key"]
    list_filter = ["chain", "token"]
    search_fields = ["tx_hash", "to_address", "from_address"]
    list_select_related = ["chain"]


@admin.register(PoolFunding)
class PoolFundingAdmin(AmountsAdmin, admin.ModelAdmin):
    """Request (one operator, with a reason) -> approve (another operator) posts the transfer."""

    amount_assets = {"amount": "asset"}
    list_display = ["pk", "created_at", "asset", "amount", "source_kind", "pool_kind", "status", "requested_by", "approved_by", "reason"]
    list_filter = ["status", "asset", "source_kind", "pool_kind"]
    search_fields = ["reason"]
    list_select_related = ["asset", "requested_by", "approved_by"]
    fields = ["asset", "source_kind", "pool_kind", "amount", "reason"]
    actions = ["approve", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return self._shown([*self.fields, "status", "requested_by", "approved_by", "approved_at", "journal", "created_at"])

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return self.get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied("a pool funding cannot be edited; cancel it and request another")
        try:
            created = services.pool_funding_request(
                asset=obj.asset, source_kind=obj.source_kind, pool_kind=obj.pool_kind, amount=obj.amount, reason=obj.reason, by=request.user
            )
        except services.PoolFundingRefused as refused:
            raise PermissionDenied(refused.message)
        obj.pk, obj.requested_by, obj.created_at, obj.status = created.pk, created.requested_by, created.created_at, created.status
        obj._state.adding, obj._state.db = False, created._state.db

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve (a second operator) and post the transfer"), permissions=["approve"])
    def approve(self, request, queryset):
        for funding in queryset:
            try:
                funding = services.pool_funding_approve(funding=funding, by=request.user)
                self.message_user(
                    request,
                    gettext("%(funding)s: posted (journal #%(journal)s).") % {"funding": funding, "journal": funding.journal_id},
                    messages.SUCCESS,
                )
            except services.PoolFundingRefused as refused:
                self.message_user(request, problem_message(f"#{funding.pk}", refused.message), messages.ERROR)

    @admin.action(description=_("Cancel selected requests"), permissions=["change"])
    def cancel(self, request, queryset):
        for funding in queryset:
            try:
                services.pool_funding_cancel(funding=funding)
            except services.PoolFundingRefused as refused:
                self.message_user(request, problem_message(f"#{funding.pk}", refused.message), messages.ERROR)

    def has_approve_permission(self, request):
        return request.user.has_perm("wallets.approve_poolfunding")


auditlog.register(PoolFunding)
auditlog.register(Withdrawal)
auditlog.register(Payout)
auditlog.register(RecoveryRequest)

audit_log_admin_install(admin.site)
