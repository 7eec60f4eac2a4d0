"""Canned replies and macros in the console: the body in the ticket's language with its placeholders
filled, and sending a reply that applies a macro's status and priority in the same transaction."""

import re

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from config.formatting import amount_format
from support.errors import TicketRefused
from support.models import CannedReply, Message, Ticket
from support.selectors.access import tickets_for_agent
from support.services.tickets import message_post_agent, ticket_priority_set

PLACEHOLDERS = ("customer_name", "asset", "amount", "ticket")
# Only these names are replaced: str.format would also read attributes ({ticket.customer.password}).
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def _linked_amount(ticket: Ticket) -> tuple[str, object, int] | None:
    """(asset symbol, amount, places) of the ticket's linked object, the first of deposit,
    withdrawal, recovery request and order that is set."""
    if ticket.deposit_id:
        d = ticket.deposit
        asset = d.network.asset if d.network_id else None
        return (asset.symbol if asset else d.token), d.amount, (asset.precision if asset else 18)
    if ticket.withdrawal_id:
        w = ticket.withdrawal
        return w.network.asset.symbol, w.amount, w.network.asset.precision
    if ticket.recovery_id:
        r = ticket.recovery
        return (r.asset.symbol if r.asset_id else r.token), r.amount, (r.asset.precision if r.asset_id else 18)
    if ticket.order_id:
        o = ticket.order
        return o.market.base.symbol, (o.quantity if o.quantity is not None else o.executed_qty), o.market.base.precision
    return None


def canned_values(*, ticket: Ticket) -> dict[str, str]:
    """The placeholder values for this ticket; asset and amount only when an object is linked."""
    customer = ticket.customer
    values = {
        "customer_name": customer.get_full_name().strip() or customer.email.split("@")[0],
        "ticket": ticket.reference,
    }
    linked = _linked_amount(ticket)
    if linked is not None:
        symbol, amount, places = linked
        values["asset"] = symbol
        # In the customer's language: the reply is written to them.
        values["amount"] = amount_format(amount, places, language=ticket.language, trim=True)
    return values


def canned_fill(*, text: str, values: dict[str, str]) -> str:
    """Replace the known placeholders that have a value; the others stay as written so the agent
    sees what is left to fill in before sending."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def canned_unfilled(text: str) -> list[str]:
    """The placeholders still in `text` (shown as a warning above the reply box)."""
    return sorted({m.group(1) for m in PLACEHOLDER.finditer(text or "")})


def canned_render(*, canned: CannedReply, ticket: Ticket) -> str:
    """The canned body in the ticket's language (modeltranslation falls back, e.g. es-419 -> es -> en),
    with the placeholders filled from the ticket and its linked object."""
    with translation.override(ticket.language):
        body = canned.body  # the descriptor reads the active language's column, then its fallbacks
    return canned_fill(text=body, values=canned_values(ticket=ticket))


@transaction.atomic
def reply_send(
    *,
    ticket: Ticket,
    agent: User,
    body: str,
    internal: bool = False,
    status: str | None = None,
    priority: str | None = None,
    canned: CannedReply | None = None,
) -> Message:
    """An agent's public reply or internal note from the console. `status` / `priority` None take
    the macro's (a canned reply with set_status / set_priority); "" keeps the ticket's: the console
    form shows the macro's choice pre-selected, so what it posts is the agent's last word. Reply,
    status and priority change together or not at all."""
    if not tickets_for_agent(agent).filter(pk=ticket.pk).exists():
        raise TicketRefused("not_found", _("This ticket does not exist or is not in your queues."))
    if status is None:
        status = canned.set_status if canned else ""
    if priority is None:
        priority = canned.set_priority if canned else ""
    message = message_post_agent(ticket=ticket, agent=agent, body=body, internal=internal, status=status or None)
    if priority:
        ticket_priority_set(ticket=ticket, priority=priority, by=agent)
    return message
