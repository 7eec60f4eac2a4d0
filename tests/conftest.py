import os

import pytest
from django.core.cache import cache

from tests.factories import PASSWORD, UserFactory


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API leaves an event loop on the main thread, which
    async tests (pytest-asyncio) cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


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
