"""Who may see which ticket: the one rule every support page, attachment link and email reply
goes through (a ticket another may not see is answered as if it did not exist: 404)."""

from django.db.models import Q, QuerySet

from accounts.models import User
from support.models import Ticket


def agent_languages(user: User) -> list[str]:
    agent = getattr(user, "agent", None) if user.is_authenticated else None
    return list(agent.languages) if agent is not None else []


def is_console_user(user: User) -> bool:
    """Staff who work tickets (support agents and supervisors) and have an agent profile."""
    return user.is_authenticated and user.is_active and user.has_perm("support.work_ticket") and hasattr(user, "agent")


def tickets_for_agent(user: User) -> QuerySet[Ticket]:
    """The tickets an agent may open: every one for a supervisor; otherwise those in a queue of the
    agent's languages (now or before a fallback) and those assigned to them."""
    if not is_console_user(user):
        return Ticket.objects.none()
    if user.has_perm("support.supervise_ticket"):
        return Ticket.objects.all()
    languages = agent_languages(user)
    return Ticket.objects.filter(Q(queue__language__in=languages) | Q(home_queue__language__in=languages) | Q(assignee=user))


def ticket_visible_to(user: User, ticket: Ticket) -> bool:
    """The customer who owns it, or an agent who may open it."""
    if not user.is_authenticated:
        return False
    if ticket.customer_id == user.pk:
        return True
    return tickets_for_agent(user).filter(pk=ticket.pk).exists()


def customers_for_agent(user: User) -> QuerySet[User]:
    """An agent reads the context of customers whose tickets they can see, no one else's."""
    return User.objects.filter(pk__in=tickets_for_agent(user).values("customer_id"))
