"""The project's URLs plus three views that fail, to render the error pages in any language."""

from django.conf.urls.i18n import i18n_patterns
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import URLResolver, path

from config import urls


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    raise PermissionDenied


def _bad(request):
    raise SuspiciousOperation("bad input")


_plain = [p for p in urls.urlpatterns if not (isinstance(p, URLResolver) and "LocalePrefix" in type(p.pattern).__name__)]
_prefixed = next(p for p in urls.urlpatterns if p not in _plain)
urlpatterns = _plain + i18n_patterns(
    path("test-errors/500/", _boom),
    path("test-errors/403/", _forbidden),
    path("test-errors/400/", _bad),
    *_prefixed.url_patterns,
    prefix_default_language=True,
)
