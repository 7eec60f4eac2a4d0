"""Who is on the other end of a request: IP (proxy-aware, through allauth) and user agent."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str = ""
    device_id: str = ""


def client_info(request) -> ClientInfo:
    from allauth.account.adapter import get_adapter

    try:
        ip = get_adapter(request).get_client_ip(request)
    except Exception:  # noqa: BLE001 - allauth refuses unparseable proxy headers; record no IP rather than fail a login
        ip = request.META.get("REMOTE_ADDR") or None
    return ClientInfo(
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
        device_id=getattr(request, "agora_device_id", ""),
    )
