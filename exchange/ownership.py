"""Which engine process owns which market.

On PostgreSQL a market belongs to the process holding the session-level advisory lock
(ENGINE_LOCK_SPACE, market id) on its database connection. Any number of engine processes on any
number of machines can run: each tries the locks of markets it does not own; when a process dies
its connection closes, PostgreSQL frees its locks, and another process takes the markets over on
its next round. Embedded mode (SQLite) has one engine process, which owns every market.

Waking: an accepted order or cancel sends NOTIFY on WAKE_CHANNEL inside its transaction, so
PostgreSQL delivers it exactly when the command commits; engine processes LISTEN and wait on
their connection instead of sleeping, and start the batch at once."""

from django.db import connection

ENGINE_LOCK_SPACE = 0x4147  # "AG": the first key of pg_advisory_lock(int, int)
WAKE_CHANNEL = "agora_engine"


def shared_locks() -> bool:
    return connection.vendor == "postgresql"


def market_claim(market_id: int) -> bool:
    if not shared_locks():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ENGINE_LOCK_SPACE, market_id])
        return cursor.fetchone()[0]


def market_release(market_id: int) -> None:
    if shared_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ENGINE_LOCK_SPACE, market_id])


def markets_held() -> set[int]:
    """The markets whose locks this connection really holds (a dropped connection holds none)."""
    if not shared_locks():
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND pid = pg_backend_pid() AND granted",
            [ENGINE_LOCK_SPACE],
        )
        return {row[0] for row in cursor.fetchall()}


def wake_notify(market_id: int) -> None:
    """Inside the transaction that accepts a command: the engines hear of it when it commits."""
    if shared_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [WAKE_CHANNEL, str(market_id)])


def wake_listen() -> object:
    """LISTEN on this session; returns the session's driver connection, so the caller can tell
    when a new session needs to LISTEN again."""
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {WAKE_CHANNEL}")
    return connection.connection


def wake_wait(timeout: float) -> set[int]:
    """Wait up to `timeout` seconds for a wake-up (outside any transaction); returns the markets
    named by what arrived (empty on timeout)."""
    woken = set()
    for notify in connection.connection.notifies(timeout=timeout, stop_after=1):
        woken.add(int(notify.payload))
    return woken
