"""Which queue a ticket goes to, and who works it."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.languages import support_queue_for
from support.errors import TicketRefused
from support.models import Message, Queue, Ticket


def queue_for_language(language: str) -> Queue:
    """The queue of the customer's language (the fallback map in config.languages: kk->ru, az->tr,
    es-419->es, any other language without a queue -> en)."""
    code = support_queue_for(language)
    queue = Queue.objects.filter(language=code, is_active=True).select_related("calendar").first()
    if queue is None:
        queue = Queue.objects.select_related("calendar").get(language="en")
    return queue


def _can_work(user, ticket) -> bool:
    agent = getattr(user, "agent", None)
    return agent is not None and (ticket.queue.language in agent.languages or user.has_perm("support.supervise_ticket"))


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User | None) -> Ticket:
    """Give the ticket to `assignee` (None: back to the queue). Agents may take tickets of their
    languages; assigning to someone else needs a supervisor. Logged as an internal event."""
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("queue").get(pk=ticket.pk)
    if by is not None and not by.has_perm("support.supervise_ticket") and assignee != by:
        raise TicketRefused("not_supervisor", _("Only a supervisor can give a ticket to someone else."))
    if assignee is not None and not _can_work(assignee, ticket):
        raise TicketRefused("agent_language", _("This agent does not answer this queue's language."))
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    now = timezone.now()
    old = ticket.assignee_id
    ticket.assignee, ticket.assigned_at, ticket.updated_at = assignee, now if assignee else None, now
    ticket.save(update_fields=["assignee", "assigned_at", "updated_at"])
    Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.SYSTEM,
        internal=True,
        author=by,
        event="assigned",
        data={"old": old, "new": assignee.pk if assignee else None},
        created_at=now,
    )
    return ticket


def agent_presence_set(*, agent: User, presence: str) -> None:
    """Online / away / offline. Only online agents are given new tickets."""
    from support.models import AgentProfile

    if presence not in AgentProfile.Presence.values:
        raise TicketRefused("bad_presence", _("Choose online, away or offline."))
    AgentProfile.objects.filter(user=agent).exclude(presence=presence).update(presence=presence, presence_changed_at=timezone.now())
