"""Support-desk factories shared by the support tests. `desk()` builds a working desk: the 14
language queues on one calendar, the six categories and one policy (24 h standard, 1 h high)."""

from datetime import time, timedelta

import factory
from django.contrib.auth.models import Group

from accounts.services import roles_sync
from config.languages import SUPPORT_LANGUAGES
from support.models import AgentProfile, Calendar, CalendarInterval, Queue, SlaPolicy, SlaPolicyVersion, SlaTarget, TicketCategory
from tests.factories import UserFactory

CATEGORIES = [
    ("deposit", "Deposit", "deposit"),
    ("withdrawal", "Withdrawal", "withdrawal"),
    ("trading", "Trading", "order"),
    ("account_security", "Account security", ""),
    ("fund_recovery", "Fund recovery", "recovery"),
    ("other", "Other", ""),
]
HOUR = 3600


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Calendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"calendar {n}")
    time_zone = "UTC"
    around_the_clock = True

    @factory.post_generation
    def week(obj, create, extracted, **kwargs):
        """week={weekday: [(start, end), ...]}; default 24/7."""
        if not create:
            return
        week = extracted if extracted is not None else {d: [(time(0), time(0))] for d in range(7)}
        for weekday, spans in week.items():
            for start, end in spans:
                CalendarInterval.objects.create(calendar=obj, weekday=weekday, start=start, end=end)


def policy_create(
    *, name: str, position: int, calendar: Calendar, targets: dict, warn_before=timedelta(minutes=30), **filters
) -> SlaPolicy:
    """targets = {"normal": {"first_response": 86400, ...}, ...}; publishes version 1."""
    queues, categories = filters.pop("queues", []), filters.pop("categories", [])
    policy = SlaPolicy.objects.create(name=name, position=position, calendar=calendar, warn_before=warn_before, version=1, **filters)
    policy.queues.set(queues)
    policy.categories.set(categories)
    for priority, metrics in targets.items():
        for metric, seconds in metrics.items():
            SlaTarget.objects.create(policy=policy, priority=priority, metric=metric, seconds=seconds)
    SlaPolicyVersion.objects.create(policy=policy, version=1, calendar=calendar, warn_before=warn_before, targets=targets)
    return policy


STANDARD_TARGETS = {
    priority: {"first_response": first, "next_response": first, "periodic_update": 24 * HOUR, "resolution": 5 * 24 * HOUR}
    for priority, first in (("low", 48 * HOUR), ("normal", 24 * HOUR), ("high", HOUR), ("urgent", HOUR))
}


def desk(*, calendar: Calendar | None = None) -> dict:
    """Queues for the 14 support languages, the six categories and a standard policy."""
    calendar = calendar or CalendarFactory(name="desk 24/7")
    queues = {code: Queue.objects.create(language=code, name=f"{code} queue", calendar=calendar) for code in SUPPORT_LANGUAGES}
    categories = {
        slug: TicketCategory.objects.create(slug=slug, name=name, name_en=name, position=i, links=links)
        for i, (slug, name, links) in enumerate(CATEGORIES)
    }
    policy = policy_create(name="standard", position=100, calendar=calendar, targets=STANDARD_TARGETS)
    return {"calendar": calendar, "queues": queues, "categories": categories, "policy": policy}


def agent_create(*, languages=("en",), role: str = "support_agent", presence: str = "online", capacity: int = 20, **user_fields):
    """A staff user with the role's permissions and an agent profile."""
    roles_sync()
    user = UserFactory(is_staff=True, **user_fields)
    user.groups.add(Group.objects.get(name=role))
    AgentProfile.objects.create(
        user=user, display_name=user.email.split("@")[0], languages=list(languages), presence=presence, capacity=capacity
    )
    return user


def ticket_open(
    *, customer=None, language: str = "en", category: str = "other", subject: str = "Help", body: str = "Please help.", **fields
):
    """A ticket opened through the service (routing waits for commit, which these tests do not reach
    unless they capture on_commit callbacks). `category` is a slug of desk()'s categories."""
    from support.services.tickets import ticket_create

    customer = customer or UserFactory(language=language)
    ticket, _message = ticket_create(
        customer=customer, subject=subject, body=body, category=TicketCategory.objects.get(slug=category), **fields
    )
    return ticket
