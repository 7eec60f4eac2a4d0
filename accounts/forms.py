import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from config.formatting import time_zone_label
from config.languages import LANGUAGES_CHOICES_FIELD


def _time_zone_choices():
    # Evaluated each time the form renders, so the cities are named in the reader's language.
    return [(name, time_zone_label(name)) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class ProfileForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES_CHOICES_FIELD)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices)


class AntiPhishingForm(forms.Form):
    code = forms.CharField(
        label=_("Anti-phishing code"),
        min_length=4,
        max_length=20,
        help_text=_("4 to 20 letters or digits. Every email from us will show it; an email without it is not from us."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class FreezeForm(forms.Form):
    reason = forms.CharField(
        label=_("What happened? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(label=_("I understand that I will be signed out everywhere and need support to unfreeze."))


class ApiKeyCreateForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=64, help_text=_("For example, the name of your bot."))
    can_trade = forms.BooleanField(label=_("Enable trading"), required=False)
    can_withdraw = forms.BooleanField(label=_("Enable withdrawals"), required=False)
    ip_allowlist = forms.CharField(
        label=_("Restrict to IP addresses (optional)"),
        required=False,
        help_text=_("Addresses or networks separated by spaces or commas. Required for keys that can withdraw."),
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "dir": "ltr"}),
    )
    code = forms.CharField(
        label=_("Authenticator code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}", "dir": "ltr"}),
    )

    def clean(self):
        from django.core.exceptions import ValidationError

        from accounts.services import ip_allowlist_check

        cleaned = super().clean()
        if "ip_allowlist" in cleaned:
            try:
                ip_allowlist_check(raw=cleaned["ip_allowlist"], can_withdraw=cleaned.get("can_withdraw", False))
            except ValidationError as error:
                for message in error.message_dict.get("ip_allowlist", []):
                    self.add_error("ip_allowlist", message)
        return cleaned


class FreezeLinkForm(FreezeForm):
    """The freeze form opened from an email: the token travels in the POST body, never the URL."""

    token = forms.CharField(
        label=_("Freeze code from the email"),
        max_length=200,
        help_text=_("Filled in for you. Without JavaScript, paste the part of the link after “#”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "dir": "ltr", "data-freeze-token": ""}),
    )
