import hmac
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.services import profile_update
from config.health import health_report
from config.languages import LANGUAGE_CODES
from config.locale import language_choice_remember, language_for_request
from support.selectors.announcements import announcements_current


def _health_details_allowed(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("X-Healthz-Token", "")
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@never_cache
def healthz(request):
    """Everyone gets {"status": "ok"} (200) or {"status": "degraded"} (503); staff and monitoring
    with HEALTHZ_TOKEN also get each check (versions, latencies and backends help an attacker)."""
    report = health_report()
    body = report if _health_details_allowed(request) else {"status": report["status"]}
    return JsonResponse(body, status=200 if report["status"] == "ok" else 503)


def root_redirect(request):
    """`/` -> `/<language>/` by saved preference, cookie, then Accept-Language."""
    response = HttpResponseRedirect(f"/{language_for_request(request)}/")
    response["Vary"] = "Cookie, Accept-Language"
    return response


def home(request):
    return render(request, "home.html", {"announcements": announcements_current()})


@require_POST
def language_set(request):
    """Switch language: sets the cookie, saves the preference of a signed-in user, and returns to
    the same page in the new language."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    if language not in LANGUAGE_CODES:
        return HttpResponseRedirect(next_url)
    if request.user.is_authenticated:
        if request.user.language != language:
            profile_update(user=request.user, language=language)
    else:
        language_choice_remember(request, language)
    # translate_url resolves the page's path in the active language, which here (an unprefixed
    # URL) is the saved preference: a page in any other language did not resolve, and the switch
    # silently went back to the same page. Resolve it in its own language instead.
    with translation.override(translation.get_language_from_path(urlsplit(next_url).path) or translation.get_language()):
        target = translate_url(next_url, language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
    )
    return response


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a translated page in the request's language instead of Django's
    English one, telling a missing cookie apart from an expired or foreign form."""
    from django.middleware.csrf import REASON_NO_CSRF_COOKIE

    return render(request, "errors/csrf.html", {"no_cookie": reason == REASON_NO_CSRF_COOKIE}, status=403)
