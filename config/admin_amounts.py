"""Amounts in admin at their asset's precision, never as NUMERIC(36,18) text.

Django shows a DecimalField with all 18 of its places (`15.000000000000000000`) and `str()` of a
stored zero is `0E-18`. `AmountsAdmin` (a mixin for ModelAdmin and inlines) shows every decimal
column of its model through one display function instead: in lists, readonly fields, view-only
change pages and inlines. Each admin names where an amount's asset is (`amount_assets`); the
asset's precision is fetched with the rows (an annotation, so no query per row). Decimals that
are not amounts of one asset (rates, unit-days) are shown exactly, in plain digits.
"""

from decimal import Decimal

from django.contrib import admin
from django.db import models
from django.db.models import F, OuterRef, Subquery
from django.forms import TextInput
from django.utils.html import format_html

from config.formatting import amount_format, amount_plain

SHOWN = "{}__shown"  # the display attribute of decimal column `name`; never a model field name


class Symbol(str):
    """`amount_assets` value naming a text column that holds the asset's symbol (not a foreign key)."""


class PlainDecimalInput(TextInput):
    """An editable decimal in plain digits, exactly (`0.0005`, not `5E-4` or 18 places)."""

    def format_value(self, value):
        if isinstance(value, Decimal) and value.is_finite():
            return amount_plain(value)
        return super().format_value(value)


def amount_cell(value, places: int | None) -> str:
    """An amount with its asset's `places` decimals; a value with more places than that (which
    the ledger refuses, but evidence must not be rounded) or of unknown precision is shown exactly."""
    if value is None:
        return "-"
    if places is None or -value.as_tuple().exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        return format_html('<bdi dir="ltr" class="amount">{}</bdi>', amount_plain(value))
    return format_html('<bdi dir="ltr" class="amount">{}</bdi>', amount_format(value, places))


class AmountsAdmin:
    """Mixin: put before `admin.ModelAdmin` / `admin.TabularInline` in the bases.

    `amount_assets = {"amount": "network__asset", "fee": Symbol("token")}` maps a decimal column to
    the foreign-key path of its Asset, or to a column holding the asset's symbol."""

    amount_assets: dict[str, str] = {}
    formfield_overrides = {models.DecimalField: {"widget": PlainDecimalInput}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decimal_fields = {f.name: f for f in self.model._meta.get_fields() if isinstance(f, models.DecimalField)}
        for name, field in self._decimal_fields.items():
            setattr(self, SHOWN.format(name), self._display_for(name, field))

    @staticmethod
    def _places_attr(name: str) -> str:
        return f"_places_{name}"

    def _display_for(self, name: str, field):
        places_attr = self._places_attr(name) if name in self.amount_assets else None

        @admin.display(description=field.verbose_name, ordering=name)
        def show(obj):
            places = getattr(obj, places_attr, None) if places_attr else None
            return amount_cell(getattr(obj, name), places)

        return show

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        annotations = {}
        for name, source in self.amount_assets.items():
            if isinstance(source, Symbol):
                from wallets.models import Asset

                annotations[self._places_attr(name)] = Subquery(Asset.objects.filter(symbol=OuterRef(source)).values("precision")[:1])
            else:  # "" when the model is the Asset itself
                annotations[self._places_attr(name)] = F(f"{source}__precision" if source else "precision")
        return queryset.annotate(**annotations) if annotations else queryset

    def _shown(self, names, readonly=None) -> list:
        shown = []
        for name in names:
            if isinstance(name, str) and name in self._decimal_fields and (readonly is None or name in readonly):
                shown.append(SHOWN.format(name))
            else:
                shown.append(name)
        return shown

    def _readonly_originals(self, request, obj=None) -> set:
        if not self.has_change_permission(request, obj):
            return set(self._decimal_fields)
        suffix = SHOWN.format("")
        names = (name for name in self.get_readonly_fields(request, obj) if isinstance(name, str))
        return {name.removesuffix(suffix) for name in names}

    def get_list_display(self, request):
        return self._shown(super().get_list_display(request))

    def get_readonly_fields(self, request, obj=None):
        # An admin overriding this must return `self._shown(...)` of its names, as this does.
        return self._shown(super().get_readonly_fields(request, obj))

    def get_fields(self, request, obj=None):
        # A readonly amount appears once, through its display function (dict: ordered, no repeats).
        return list(dict.fromkeys(self._shown(super().get_fields(request, obj), self._readonly_originals(request, obj))))

    def get_fieldsets(self, request, obj=None):
        readonly = self._readonly_originals(request, obj)
        return [
            (title, {**options, "fields": self._shown_nested(options["fields"], readonly)})
            for title, options in super().get_fieldsets(request, obj)
        ]

    def _shown_nested(self, fields, readonly):
        return [tuple(self._shown(f, readonly)) if isinstance(f, (list, tuple)) else self._shown([f], readonly)[0] for f in fields]


def audit_changes_plain(entry):
    """A copy of an auditlog entry whose decimal values read as plain digits: auditlog stores
    `str()` of the value (`0E-18`, 18 places); the stored evidence itself is left as it is."""
    import copy

    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is None or not isinstance(entry.changes_dict, dict):
        return entry
    decimals = {f.name for f in model._meta.get_fields() if isinstance(f, models.DecimalField)}

    def plain(value):
        try:
            return amount_plain(Decimal(value)) if isinstance(value, str) else value
        except (ArithmeticError, ValueError):
            return value

    changes = {
        name: [plain(v) for v in change] if name in decimals and isinstance(change, list) else change
        for name, change in entry.changes_dict.items()
    }
    shown = copy.copy(entry)
    shown.changes = changes
    return shown


def audit_log_admin_install(site) -> None:
    """Replace auditlog's LogEntry admin by one that shows decimal changes in plain digits."""
    from auditlog.admin import LogEntryAdmin
    from auditlog.models import LogEntry
    from auditlog.render import render_logentry_changes_html
    from django.utils.translation import gettext_lazy as _

    class AuditLogEntryAdmin(LogEntryAdmin):
        @admin.display(description=_("Changes"))
        def msg(self, obj):
            return render_logentry_changes_html(audit_changes_plain(obj))

    if site.is_registered(LogEntry):
        site.unregister(LogEntry)
    site.register(LogEntry, AuditLogEntryAdmin)
