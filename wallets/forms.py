from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from config.formatting import babel_locale
from config.parsing import NumberInvalid, decimal_parse_locale
from wallets.chains import chain_adapter
from wallets.chains.addresses import AddressInvalid


def _destination_clean(form: forms.Form, network) -> None:
    """The chain adapter's destination check, shown on the field it is about (the service runs it
    again: the form is one caller among several)."""
    data = form.cleaned_data
    if network is None or "address" not in data:
        return
    try:
        data["address"], data["memo"] = chain_adapter(network.code).destination_check(address=data["address"], memo=data.get("memo", ""))
    except AddressInvalid as invalid:
        form.add_error("memo" if invalid.code.startswith("memo_") else "address", invalid.message)


class AmountField(forms.CharField):
    """An amount typed in the reader's locale ("0,05" in German), read strictly by
    `decimal_parse_locale`; each kind of wrong input has its own message. `places` is the asset's
    precision (set by the form once it knows the asset)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"})

    def __init__(self, *, places: int = 18, **kwargs):
        self.places = places  # length is the parser's rule (too_long), not a validator on the Decimal
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            amount = decimal_parse_locale(value)
        except NumberInvalid as invalid:
            if invalid.code == "not_a_number" and self._machine_notation(value):
                from babel.numbers import get_decimal_symbol

                raise forms.ValidationError(
                    _("Use %(sign)s as the decimal sign, for example %(example)s.")
                    % {"sign": get_decimal_symbol(babel_locale()), "example": self.prepare_value(Decimal("0.05"))},
                    code="decimal_sign",
                )
            raise forms.ValidationError(self._message(invalid.code), code=invalid.code)
        if amount == 0:
            raise forms.ValidationError(_("Enter an amount above zero."), code="zero")
        if amount.as_tuple().exponent < -self.places and amount != amount.quantize(Decimal(1).scaleb(-self.places)):
            raise forms.ValidationError(
                ngettext("Enter at most %(places)d decimal.", "Enter at most %(places)d decimals.", self.places) % {"places": self.places},
                code="too_many_decimals",
            )
        return amount

    @staticmethod
    def _machine_notation(value: str) -> bool:
        """'0.05' where the locale writes '0,05' (or the other way round): refused, as that sign
        groups thousands there, but the message can say which sign to use."""
        from babel.numbers import get_decimal_symbol

        decimal_sign = get_decimal_symbol(babel_locale())
        other = "," if decimal_sign == "." else "."
        if other not in value or decimal_sign in value:
            return False
        try:
            decimal_parse_locale(value.replace(other, decimal_sign))
        except NumberInvalid:
            return False
        return True

    def _message(self, code: str) -> str:
        if code == "negative":
            return _("Enter an amount above zero, without a minus sign.")
        if code == "not_finite":
            return _("Enter a finite number.")
        if code in ("too_large", "too_long"):
            return _("This number is too large.")
        from babel.numbers import format_decimal

        example = format_decimal(Decimal("1234.5"), locale=babel_locale(), numbering_system="latn")
        return _("Enter a number, such as %(example)s.") % {"example": example}

    def prepare_value(self, value):
        """A Decimal shown back (the confirm step) in the reader's notation, so it reads again."""
        if isinstance(value, Decimal):
            from babel.numbers import get_decimal_symbol

            return format(value, "f").replace(".", get_decimal_symbol(babel_locale()))
        return value


class WithdrawForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"))
    address = forms.CharField(
        label=_("Address"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"})
    )
    memo = forms.CharField(
        label=_("Memo / tag"), max_length=64, required=False, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"})
    )
    amount = AmountField(label=pgettext_lazy("quantity", "Amount"))

    def __init__(self, *args, networks, **kwargs):
        super().__init__(*args, **kwargs)
        if networks:
            self.fields["amount"].places = networks[0].asset.precision  # one asset per withdraw page
        self.networks = {n.code: n for n in networks}
        self.fields["network"].choices = [(n.code, n.name) for n in networks]

    def clean(self):
        data = super().clean()
        _destination_clean(self, self.networks.get(data.get("network")))
        return data


class WithdrawConfirmForm(WithdrawForm):
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    code = forms.CharField(
        label=_("Authenticator code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "dir": "ltr"}),
    )


class AddressBookForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"))
    label = forms.CharField(label=_("Label"), max_length=64)
    address = forms.CharField(
        label=_("Address"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"})
    )
    memo = forms.CharField(label=_("Memo / tag"), max_length=64, required=False, widget=forms.TextInput(attrs={"dir": "ltr"}))

    def __init__(self, *args, networks, **kwargs):
        super().__init__(*args, **kwargs)
        self.networks = {str(n.pk): n for n in networks}
        self.fields["network"].choices = [(n.pk, f"{n.asset.symbol} · {n.name}") for n in networks]

    def clean(self):
        data = super().clean()
        _destination_clean(self, self.networks.get(data.get("network")))
        return data


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("kind of history entry", "Type"), required=False)
    asset = forms.ChoiceField(label=_("Asset"), required=False)
    start = forms.DateField(
        label=pgettext_lazy("start of date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=pgettext_lazy("end of date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, assets, kind_labels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All types"))] + list(kind_labels.items())
        self.fields["asset"].choices = [("", _("All assets"))] + [(a, a) for a in assets]


class RecoveryForm(forms.Form):
    tx_hash = forms.CharField(
        label=_("Transaction hash"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "spellcheck": "false"})
    )
    chain = forms.ChoiceField(label=_("Network you sent on"))
    token = forms.CharField(label=_("Asset you sent"), max_length=32, widget=forms.TextInput(attrs={"dir": "ltr"}))
    amount = AmountField(label=pgettext_lazy("quantity", "Amount"))
    address = forms.CharField(
        label=_("Address you sent to"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "spellcheck": "false"})
    )

    def __init__(self, *args, chains, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chain"].choices = [(c, c) for c in chains]
