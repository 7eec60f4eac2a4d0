"""Absolute links for emails: always on settings.SITE_URL (the configured public address), never
on the host a request happened to arrive on (a proxy, another port, a spoofed Host header)."""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


def site_url(path: str) -> str:
    """SITE_URL joined with an absolute path ("/en/account/...")."""
    return settings.SITE_URL.rstrip("/") + path


def site_url_rebase(value: str, *, request_host: str) -> str:
    """An absolute URL built from the request (allauth builds its email links that way) moved onto
    SITE_URL; anything else is returned unchanged."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not request_host or parts.netloc != request_host:
        return value
    site = urlsplit(settings.SITE_URL)
    return urlunsplit((site.scheme, site.netloc, site.path.rstrip("/") + parts.path, parts.query, parts.fragment))
