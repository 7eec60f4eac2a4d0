"""Moves SLA clocks on ticket events, in the caller's transaction (support/services/tickets.py
calls these; nothing else does). Exactly ../shared/design/support-sla.md."""

from datetime import datetime

from support.models import Message, Ticket


def ticket_opened(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A new ticket with its first customer message: resolution and first-response clocks start."""


def customer_message(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A later customer message: starts next response if none is running (older messages win)."""


def public_reply(*, ticket: Ticket, message: Message, at: datetime) -> None:
    """A public reply by a human agent: fulfils first/next response, restarts periodic update."""


def status_changed(*, ticket: Ticket, old: str, at: datetime) -> None:
    """Pause/resume resolution; solve cancels next response and stops resolution; reopen resumes."""


def reapply(*, ticket: Ticket, at: datetime, reason: str) -> None:
    """Priority, tier or policy change: keep elapsed time, pick the policy again, recompute."""
