from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.client import client_info
from accounts.forms import AntiPhishingForm, ApiKeyCreateForm, FreezeForm, FreezeLinkForm, ProfileForm
from accounts.models import AccountFreeze, ApiKey


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
def security(request):
    from allauth.mfa.models import Authenticator

    user = request.user
    authenticators = selectors.authenticator_types_for(user=user)
    context = {
        "has_totp": Authenticator.Type.TOTP in authenticators,
        "has_passkey": Authenticator.Type.WEBAUTHN in authenticators,
        "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in authenticators,
        "anti_phishing_form": AntiPhishingForm(),
        "logins": selectors.login_history_for(user=user),
        "events": selectors.security_events_for(user=user),
    }
    return render(request, "accounts/security.html", context)


@login_required
@require_POST
def anti_phishing_set(request):
    form = AntiPhishingForm(request.POST)
    if form.is_valid():
        try:
            services.anti_phishing_code_set(user=request.user, code=form.cleaned_data["code"], client=client_info(request))
            messages.success(request, _("Your anti-phishing code is saved. It will appear in every email from us."))
            return redirect("accounts:security")
        except ValidationError as error:
            _form_errors(form, error)
    for error in form.errors.get("code", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect("accounts:security")


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(request.POST or None, initial={"language": user.language, "time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=user, **form.cleaned_data)
            messages.success(request, _("Your settings are saved."))
            with translation.override(user.language):  # the page comes back in the new language
                return redirect(reverse("accounts:profile"))
        except ValidationError as error:
            _form_errors(form, error)
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@never_cache
def api_keys(request):
    user = request.user
    has_totp = selectors.user_has_totp(user=user)
    form = ApiKeyCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and has_totp and form.is_valid():
        try:
            api_key, secret = services.api_key_create(user=user, client=client_info(request), **form.cleaned_data)
            created = {"api_key": api_key, "secret": secret}
            form = ApiKeyCreateForm()
        except services.TotpRefused as refused:
            form.add_error("code", refused.message)
        except ValidationError as error:
            _form_errors(form, error)
    context = {"form": form, "has_totp": has_totp, "keys": selectors.api_keys_for(user=user), "created": created}
    return render(request, "accounts/api_keys.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_key_revoke(request, pk: int):
    api_key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    services.api_key_revoke(api_key=api_key, client=client_info(request))
    messages.success(request, _("The key “%(label)s” is revoked. Bots using it will stop working.") % {"label": api_key.label})
    return redirect("accounts:api_keys")


def _freeze_and_leave(request, user, source: str, form) -> object:
    services.account_freeze(user=user, source=source, reason=form.cleaned_data["reason"], by=None, client=client_info(request))
    logout(request)
    return redirect("accounts:frozen")


@login_required
def freeze(request):
    form = FreezeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _freeze_and_leave(request, request.user, AccountFreeze.Source.SELF, form)
    return render(request, "accounts/freeze.html", {"form": form, "via_link": False})


@never_cache
def freeze_link(request):
    """From the link in every security email; no login needed. The token is in the link's fragment
    (never sent, so never logged): accounts/freeze-link.js copies it into the form, which posts it.
    GET only shows the button: mail scanners open links, and must not freeze accounts."""
    form = FreezeLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.freeze_link_user(token=form.cleaned_data["token"].strip())
        if user is None:
            return render(request, "accounts/freeze_link_invalid.html", status=400)
        if user.is_frozen:
            return redirect("accounts:frozen")
        return _freeze_and_leave(request, user, AccountFreeze.Source.EMAIL_LINK, form)
    return render(request, "accounts/freeze.html", {"form": form, "via_link": True}, status=400 if form.errors else 200)


def frozen(request):
    return render(request, "accounts/frozen.html")
