import hmac

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import translate_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.services import profile_update
from config.health import health_report
from config.languages import LANGUAGE_CODES
from config.locale import language_for_request
from support.selectors import announcements_current


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
    if request.user.is_authenticated and request.user.language != language:
        profile_update(user=request.user, language=language)
    response = HttpResponseRedirect(translate_url(next_url, language))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
    )
    return response
