import secrets
import zoneinfo

from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils import timezone

DEVICE_COOKIE = "agora_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 3600


class FrozenAccountMiddleware:
    """A frozen account has no session: if one survives (another store, a race), end it here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.frozen_at is not None:
            logout(request)
            return redirect("accounts:frozen")
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Times on pages are shown in the signed-in user's time zone (stored as UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.time_zone and user.time_zone != "UTC":
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class DeviceCookieMiddleware:
    """Gives each browser a random long-lived id, so a login from a new device can be told apart."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        device_id = request.COOKIES.get(DEVICE_COOKIE, "")
        fresh = not (16 <= len(device_id) <= 64 and device_id.replace("-", "").replace("_", "").isalnum())
        if fresh:
            device_id = secrets.token_urlsafe(24)
        request.agora_device_id = device_id
        response = self.get_response(request)
        if fresh:
            response.set_cookie(
                DEVICE_COOKIE, device_id, max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
            )
        return response
