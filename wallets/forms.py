from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WithdrawForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"))
    address = forms.CharField(
        label=_("Address"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"})
    )
    memo = forms.CharField(
        label=_("Memo / tag"), max_length=64, required=False, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"})
    )
    amount = forms.CharField(
        label=pgettext_lazy("quantity", "Amount"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"}),
    )

    def __init__(self, *args, networks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network"].choices = [(n.code, n.name) for n in networks]


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
        self.fields["network"].choices = [(n.pk, f"{n.asset.symbol} · {n.name}") for n in networks]


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
    amount = forms.DecimalField(
        label=pgettext_lazy("quantity", "Amount"),
        max_digits=36,
        decimal_places=18,
        min_value=0,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr"}),
    )
    address = forms.CharField(
        label=_("Address you sent to"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "spellcheck": "false"})
    )

    def __init__(self, *args, chains, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chain"].choices = [(c, c) for c in chains]
