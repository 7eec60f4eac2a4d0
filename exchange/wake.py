"""Waking the engine after a command is accepted: the one thing the order services need from it.

`engine_wake` runs inside the transaction that accepted an order or a cancel. On PostgreSQL it
sends NOTIFY (delivered when that transaction commits; engine processes LISTEN, see
exchange/ownership.py). With ENGINE_INLINE (tests, embedded single-process use) the command is also
applied in this process right after the commit, by the applier the engine package registers when
Django starts (exchange/apps.py): services depend on this module, not on the engine."""

from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from exchange import ownership

_inline: dict[str, Callable[[int], object]] = {}  # "apply": the engine package's in-process applier


def inline_register(apply: Callable[[int], object]) -> None:
    """The engine package's in-process applier: called with a market id, applies its pending commands."""
    _inline["apply"] = apply


def engine_wake(market_id: int) -> None:
    """Inside the transaction that accepted a command for this market."""
    ownership.wake_notify(market_id)
    transaction.on_commit(lambda: _apply_inline(market_id))


def _apply_inline(market_id: int) -> None:
    apply = _inline.get("apply")
    if getattr(settings, "ENGINE_INLINE", False) and apply is not None:
        apply(market_id)
