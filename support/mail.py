"""The support desk's mail addresses and threading headers.

Replies go to `support+<token>@SUPPORT_MAIL_DOMAIN`. The token is a django.core.signing signature
over the ticket id and the customer id, written in lower-case base32 so that a mail system which
lowercases local parts (many do) leaves it valid, and short enough for a local part (RFC 5321: 64).
Every outbound mail has its own random Message-ID; In-Reply-To and References point at the
ticket's thread root, so the customer's client keeps the conversation in one thread.
"""

import base64
import re
import secrets
from email.utils import formataddr, getaddresses, parseaddr

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from support.models import Message, Ticket

LOCAL_PART = "support"
TOKEN_SALT = "support.mail.reply-to"
_SIGNATURE_BYTES = 10  # 80 bits: 16 base32 characters, no padding; each guess costs the guesser one mail
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_MSGID = re.compile(r"<[^<>\s]+>")


class _LowerBase32Signer(signing.Signer):
    """django.core.signing.Signer (salted HMAC, SECRET_KEY_FALLBACKS honoured on unsign) whose
    signature survives lowercasing: base32 instead of case-sensitive base64."""

    def signature(self, value, key=None):
        digest = salted_hmac(self.salt + "signer", value, key or self.key, algorithm=self.algorithm).digest()
        return base64.b32encode(digest[:_SIGNATURE_BYTES]).decode().lower()


def _signer() -> signing.Signer:
    return _LowerBase32Signer(sep=".", salt=TOKEN_SALT, algorithm="sha256")


def _b36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _B36[rest] + digits
        if not number:
            return digits


def reply_token(*, ticket: Ticket) -> str:
    """`<ticket id>-<customer id>.<signature>`, all lower case, e.g. `2s-5.mfrggzdfmztwq2lk`."""
    return _signer().sign(f"{_b36(ticket.pk)}-{_b36(ticket.customer_id)}")


def reply_token_read(token: str) -> tuple[int, int] | None:
    """(ticket id, customer id) of a token we signed, or None for anything else (forged, altered,
    truncated). Case-insensitive."""
    try:
        value = _signer().unsign(token.strip().lower())
        ticket_id, customer_id = (int(part, 36) for part in value.split("-"))
    except (signing.BadSignature, ValueError):
        return None
    return ticket_id, customer_id


def reply_address(*, ticket: Ticket) -> str:
    """The Reply-To of every mail about `ticket`, with the support desk's display name."""
    return formataddr((desk_name(), f"{LOCAL_PART}+{reply_token(ticket=ticket)}@{settings.SUPPORT_MAIL_DOMAIN}"))


def desk_name() -> str:
    """The support desk's display name (SUPPORT_FROM_EMAIL's), e.g. "Agora Support"."""
    return parseaddr(settings.SUPPORT_FROM_EMAIL)[0] or settings.SITE_NAME


def token_of_address(address: str) -> str | None:
    """The token part of `support+<token>@SUPPORT_MAIL_DOMAIN` (None: not such an address)."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.SUPPORT_MAIL_DOMAIN.lower():
        return None
    base, plus, token = local.partition("+")
    if base.lower() != LOCAL_PART or not plus or not token:
        return None
    return token


def is_support_address(address: str) -> bool:
    """Any address of ours: the plain support address or a reply address."""
    return address.strip().strip("<>").rpartition("@")[2].lower() == settings.SUPPORT_MAIL_DOMAIN.lower()


def mail_id_new(*, message: Message) -> str:
    """A Message-ID for one outbound mail: random (not guessable: header threading trusts it), on our domain."""
    return f"<{secrets.token_hex(12)}.{message.pk}@{settings.SUPPORT_MAIL_DOMAIN}>"


def thread_root(*, ticket: Ticket) -> str:
    """The Message-ID the whole conversation hangs from: the customer's own first mail when the
    ticket was opened by email (their client then threads our replies under it), else a fixed id."""
    first = ticket.messages.filter(kind=Message.Kind.CUSTOMER).exclude(email_message_id="").order_by("created_at", "id").first()
    if first is not None and first.email_message_id.startswith("<"):
        return first.email_message_id
    return f"<ticket.{ticket.reference.lower()}@{settings.SUPPORT_MAIL_DOMAIN}>"


def mail_ids_in(value: str | None) -> list[str]:
    """The `<...>` Message-IDs in an In-Reply-To or References header, in order."""
    return _MSGID.findall(str(value or ""))


def addresses_in(*values) -> list[str]:
    """The mailboxes (`local@domain`) of address headers (From, To, Delivered-To, ...), in order."""
    return [address for _name, address in getaddresses([str(value) for value in values if value is not None]) if "@" in address]


_REFUSAL_REASONS = {
    "sender_mismatch": _("the sender is not this ticket's customer"),
    "too_large": _("the mail is larger than the size limit"),
    "unauthenticated": _("our mail server could not confirm that it came from the customer's address"),
}


def mail_event_text(message: Message) -> str:
    """The agents' text of an internal mail event on a ticket (support/services/mail_inbound.py
    writes them), in the active language; '' for any other event."""
    data = message.data
    if message.event == "mail_refused":
        reason = _REFUSAL_REASONS.get(data.get("reason"), data.get("reason", ""))
        return gettext("A mail from %(sender)s was refused (%(reason)s) and not added to the conversation.") % {
            "sender": data.get("sender", ""),
            "reason": reason,
        }
    if message.event == "mail_attachment_refused":
        names = ", ".join(item.get("name", "") for item in data.get("files", []))
        return ngettext(
            "An attachment of the customer's mail was refused: %(names)s.",
            "Attachments of the customer's mail were refused: %(names)s.",
            len(data.get("files", [])),
        ) % {"names": names}
    if message.event == "mail_follow_up":
        return gettext("The customer answered closed ticket #%(reference)s by email; this ticket follows it up.") % {
            "reference": data.get("previous", "")
        }
    return ""
