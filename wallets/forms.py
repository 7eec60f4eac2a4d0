from django import forms
from django.utils.translation import gettext_lazy as _

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


class WithdrawForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"))
    address = forms.CharField(
        label=_("Address"), max_length=128, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"})
    )
    memo = forms.CharField(
        label=_("Memo / tag"), max_length=64, required=False, widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"})
    )
    amount = forms.CharField(
        label=_("Amount"), max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"})
    )

    def __init__(self, *args, networks, **kwargs):
        super().__init__(*args, **kwargs)
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
    kind = forms.ChoiceField(label=_("Type"), required=False)
    asset = forms.ChoiceField(label=_("Asset"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

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
        label=_("Amount"),
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
