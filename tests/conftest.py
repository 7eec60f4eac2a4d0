import os
import re
import time

import pytest
from django.core.cache import cache

from tests.factories import PASSWORD, UserFactory


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API leaves an event loop on the main thread, which
    async tests (pytest-asyncio) cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _browser_quiet(request):
    """Browser tests: no request may still run in the live server when the database is flushed
    after the test (a TRUNCATE beside a request's reads deadlocks on PostgreSQL, and SQLite's shared
    in-memory database refuses a second writer). The account-events socket every page opens is not
    served by the WSGI live server, and its retries are requests: answered in the browser. At the
    end every page leaves for about:blank and a request already received gets time to finish."""
    if request.node.get_closest_marker("browser") is None:
        yield
        return
    context = request.getfixturevalue("context")
    context.route_web_socket(re.compile(r"/ws/"), lambda socket: None)
    yield
    for page in context.pages:
        page.goto("about:blank")
    time.sleep(0.5)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits and used TOTP codes live in the cache; no test may see another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def totp_user(db):
    """A user with an authenticator app; returns (user, secret)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = UserFactory()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def totp_code(secret: str, offset: int = 0) -> str:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


def on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


def run_concurrently(count: int, target, expected=()) -> list:
    """Start `count` threads on a barrier, each calling target(i) with its own DB connection.
    Returns each thread's result; exceptions of the `expected` types come back as "refused",
    any other exception is returned as is so the test can assert there were none."""
    import threading

    from django.db import connection

    barrier, outcomes, lock = threading.Barrier(count), [], threading.Lock()

    def worker(i):
        try:
            barrier.wait()
            result = target(i)
        except expected:
            result = "refused"
        except Exception as exc:  # noqa: BLE001 - deadlocks and the unexpected surface in the caller's assertions
            result = exc
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes
