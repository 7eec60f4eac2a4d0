"""Liveness of the parts the web process depends on, for /healthz and operators."""

import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

HEARTBEAT_KEY = "agora:worker-heartbeat"


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, timezone.now().timestamp(), timeout=24 * 3600)


def _timed(check):
    started = time.perf_counter()
    try:
        detail = check() or {}
        ok = detail.pop("ok", True)
    except Exception as exc:  # noqa: BLE001 - a health check reports failures, it never raises them
        ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"}
    return {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 2), **detail}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _cache():
    cache.set("agora:healthz", "1", timeout=10)
    return {"ok": cache.get("agora:healthz") == "1", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _broker():
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport.driver_type}


def _worker():
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        return {"ok": False, "last_heartbeat": None, "age_s": None}
    age = timezone.now().timestamp() - float(beat)
    return {
        "ok": age <= settings.WORKER_HEARTBEAT_MAX_AGE,
        "last_heartbeat": datetime.fromtimestamp(float(beat), tz=UTC).isoformat(),
        "age_s": round(age, 1),
    }


def health_report() -> dict:
    checks = {"database": _timed(_database), "cache": _timed(_cache), "broker": _timed(_broker), "worker": _timed(_worker)}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "degraded", "checks": checks}
