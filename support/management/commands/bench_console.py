"""`manage.py bench_console`: the console's queue page with 100 tickets, its server time and
query count. Seeds the tickets (and a desk, if the database has none) inside a transaction that
is rolled back at the end, so it can run against any database, including a live one's copy."""

import statistics
import time
from datetime import time as clock_time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import roles_sync
from config.languages import SUPPORT_LANGUAGES
from support.models import AgentProfile, Calendar, CalendarInterval, Queue, SlaClock, SlaPolicy, SlaPolicyVersion, Ticket, TicketCategory
from support.services.tickets import ticket_create


class Command(BaseCommand):
    help = "Time the console queue page with N seeded tickets (p50 of the renders) and count its queries; nothing is kept."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100)
        parser.add_argument("--renders", type=int, default=30)

    def handle(self, *args, tickets, renders, **options):
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]), transaction.atomic():
            agent = self._seed(tickets)
            client = Client()
            client.force_login(agent)
            url = reverse("console:queue")
            secure = bool(getattr(settings, "SECURE_SSL_REDIRECT", False))
            for _ in range(3):  # warm the session, the permission and template caches
                assert client.get(url, secure=secure).status_code == 200
            timings = []
            for _ in range(renders):
                start = time.perf_counter()
                response = client.get(url, secure=secure)
                timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, secure=secure)
            rows = response.content.decode().count("<tr data-reference=")
            transaction.set_rollback(True)
        self.stdout.write(
            f"console queue page, {rows} tickets on {connection.vendor}: p50 {statistics.median(timings):.1f} ms, "
            f"p90 {sorted(timings)[int(len(timings) * 0.9) - 1]:.1f} ms over {renders} renders, {len(queries)} queries"
        )

    def _seed(self, count: int) -> User:
        """A desk when there is none, one English agent, `count` open tickets with running clocks
        (a tenth breached, a tenth at risk) from 20 customers."""
        if not Queue.objects.filter(language="en").exists():
            calendar = Calendar.objects.create(name="bench 24/7", time_zone="UTC", around_the_clock=True)
            for day in range(7):
                CalendarInterval.objects.create(calendar=calendar, weekday=day, start=clock_time(0), end=clock_time(0))
            for code in SUPPORT_LANGUAGES:
                Queue.objects.get_or_create(language=code, defaults={"name": f"{code} queue", "calendar": calendar})
        if not TicketCategory.objects.exists():
            TicketCategory.objects.create(slug="other", name="Other", name_en="Other")
        version = SlaPolicyVersion.objects.first()
        if version is None:
            calendar = Queue.objects.get(language="en").calendar
            policy = SlaPolicy.objects.create(
                name="bench", position=999_999, calendar=calendar, warn_before=timedelta(minutes=30), version=1
            )
            version = SlaPolicyVersion.objects.create(
                policy=policy,
                version=1,
                calendar=calendar,
                warn_before=timedelta(minutes=30),
                targets={"normal": {"first_response": 86400}},
            )
        roles_sync()
        agent = User.objects.create_user(email="bench-agent@bench.invalid", is_staff=True)
        agent.groups.add(Group.objects.get(name="support_agent"))
        AgentProfile.objects.create(user=agent, display_name="bench", languages=["en"], presence="online")
        customers = [User.objects.create_user(email=f"bench-customer-{i}@bench.invalid") for i in range(20)]
        categories = list(TicketCategory.objects.all())
        now = timezone.now()
        for i in range(count):
            ticket, _message = ticket_create(
                customer=customers[i % 20],
                subject=f"Bench ticket {i}",
                body="Where is my deposit?",
                category=categories[i % len(categories)],
                language="en",
            )
            due = now + timedelta(minutes=(i - count // 10) * 13)
            SlaClock.objects.create(
                ticket=ticket,
                metric="first_response",
                policy_version=version,
                target_seconds=86400,
                started_at=now - timedelta(hours=1),
                due_at=due,
                warn_at=due - timedelta(minutes=30),
                breached_at=due if due < now else None,
            )
            Ticket.objects.filter(pk=ticket.pk).update(next_due_at=due)
        return agent
