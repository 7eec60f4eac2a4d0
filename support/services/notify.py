"""What the customer is told by email: every public reply and every customer-visible status
change (rendered in the customer's language, with the anti-phishing code). tickets.py calls
`message_notify` for each such message; delivery is a Celery task queued after commit."""

from support.models import Message


def message_notify(*, message: Message) -> None:
    """Queue the customer's email for a public message (a public reply or a public system event)."""
