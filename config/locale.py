"""Which language a request is served in.

Prefixed paths (/ar/...) are served in that language. Anything else is redirected to a prefix
chosen by: the signed-in user's saved preference, then the language cookie, then the
Accept-Language header mapped with config.languages (es-MX -> es-419, zh-TW -> zh-hant, ...),
then English.

A language chosen with the switcher always wins and is saved: signed in, it becomes the saved
preference at once; signed out, it is kept in the session and becomes the preference at the next
sign-in (instead of the old preference overriding it).
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from config.languages import LANGUAGE_CODES, language_from_accept_header

CHOSEN_SESSION_KEY = "language_chosen"


def language_choice_remember(request, language: str) -> None:
    """A signed-out visitor's explicit choice, to be saved as the preference when they sign in."""
    if hasattr(request, "session"):
        request.session[CHOSEN_SESSION_KEY] = language


def language_choice_pop(request) -> str | None:
    """The explicit choice made before signing in, if any (and forget it)."""
    if not hasattr(request, "session"):
        return None
    language = request.session.pop(CHOSEN_SESSION_KEY, None)
    return language if language in LANGUAGE_CODES else None


def language_for_request(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language in LANGUAGE_CODES:
        return user.language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in LANGUAGE_CODES:
        return cookie
    return language_from_accept_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")) or settings.LANGUAGE_CODE


class AgoraLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        from_path = translation.get_language_from_path(request.path_info)
        language = from_path or language_for_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
