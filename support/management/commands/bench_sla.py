"""Benchmark: one SLA sweep over 100,000 open tickets with 300,000 running clocks (PostgreSQL).

Runs in a throw-away database (test_<name>, created and dropped here). Tickets and clocks are
loaded with COPY, not through the services (the sweep is what is measured): three running clocks
per ticket (first response, resolution, periodic update) under a 24/7 policy, due over the next 30
days, except `--due` clocks already past due and `--warn` inside their 30-minute warning window.
Every queue has a lead on a 24/7 calendar, so each breach and warning writes a notification.
Prints the EXPLAIN ANALYZE of the sweeper's two selections, the time of one sweep per phase and
of an idle sweep, then the rate at which the mailing task renders those notifications (the
locmem backend: rendering, not SMTP).
"""

import random
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

METRICS = ("first_response", "resolution", "periodic_update")


class Command(BaseCommand):
    help = "Time one SLA sweep over 100,000 open tickets and 300,000 running clocks (PostgreSQL only)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--due", type=int, default=1000, help="clocks already past due (breached by the sweep)")
        parser.add_argument("--warn", type=int, default=1000, help="clocks inside their warning window (warned by the sweep)")
        parser.add_argument("--seed", type=int, default=10)
        parser.add_argument("--keepdb", action="store_true")

    def handle(self, *args, tickets, due, warn, seed, keepdb, **options):
        if connection.vendor != "postgresql":
            self.stdout.write(
                "bench_sla needs PostgreSQL (SKIP LOCKED and partial indexes are what it measures): "
                "set DATABASE_URL=postgres://... to run it. Skipped."
            )
            return
        creation = connection.creation
        old_name = connection.settings_dict["NAME"]
        self.stdout.write("database: postgresql; creating a throw-away copy of the schema...")
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb)
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                self._run(tickets, due, warn, seed)
        finally:
            creation.destroy_test_db(old_name, verbosity=0, keepdb=keepdb)

    def _setup(self):
        from accounts.models import User
        from config.languages import SUPPORT_LANGUAGES
        from support.models import AgentProfile, Calendar, CalendarInterval, Queue, SlaPolicy, SlaTarget, TicketCategory
        from support.sla.engine import policy_version_publish

        calendar = Calendar.objects.create(name="bench 24/7", time_zone="UTC", around_the_clock=True)
        CalendarInterval.objects.bulk_create(CalendarInterval(calendar=calendar, weekday=d, start="00:00", end="00:00") for d in range(7))
        leads = User.objects.bulk_create(
            User(email=f"lead-{code}@bench.example", password="!", is_staff=True) for code in SUPPORT_LANGUAGES
        )
        AgentProfile.objects.bulk_create(
            AgentProfile(user=u, display_name=u.email, languages=[code], calendar=calendar) for u, code in zip(leads, SUPPORT_LANGUAGES)
        )
        queues = [
            Queue.objects.create(language=code, name=code, calendar=calendar, lead=lead) for code, lead in zip(SUPPORT_LANGUAGES, leads)
        ]
        category = TicketCategory.objects.create(slug="other", name="Other", name_en="Other")
        policy = SlaPolicy.objects.create(name="bench", position=1, calendar=calendar, warn_before=timedelta(minutes=30))
        for metric, seconds in (("first_response", 86400), ("resolution", 5 * 86400), ("periodic_update", 86400)):
            SlaTarget.objects.create(policy=policy, priority="normal", metric=metric, seconds=seconds)
        version = policy_version_publish(policy=policy)
        customers = User.objects.bulk_create(User(email=f"customer{n}@bench.example", password="!") for n in range(1000))
        return queues, category, version, customers

    def _load(self, n_tickets, n_due, n_warn, seed):
        """COPY the tickets and their clocks; returns the sweep's `now`."""
        queues, category, version, customers = self._setup()
        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        lead = timedelta(minutes=30)
        clocks_total = n_tickets * len(METRICS)
        # Which clock positions are past due / inside their warning window.
        special = rng.sample(range(clocks_total), n_due + n_warn)
        due_now, warn_now = set(special[:n_due]), set(special[n_due:])
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM support_ticket")
            first_id = cursor.fetchone()[0] + 1
            ticket_rows, clock_rows = [], []
            for t in range(n_tickets):
                created = now - timedelta(seconds=rng.randint(600, 3 * 86400))
                dues = []
                for m, metric in enumerate(METRICS):
                    position = t * len(METRICS) + m
                    if position in due_now:
                        due_at = now - timedelta(seconds=rng.randint(0, 600))
                    elif position in warn_now:
                        due_at = now + timedelta(seconds=rng.randint(60, 1500))
                    else:
                        due_at = now + timedelta(seconds=rng.randint(3600, 30 * 86400))
                    dues.append(due_at)
                    clock_rows.append((first_id + t, metric, 1, "running", version.pk, 86400, created, 0, created, due_at, due_at - lead))
                queue = queues[t % len(queues)]
                ticket_rows.append(
                    (
                        first_id + t,
                        f"B{t:09d}",
                        "Where is my withdrawal?",
                        "normal",
                        "open",
                        "web",
                        queue.language,
                        0,
                        min(dues),
                        created,
                        created,
                        created,
                        0,
                        customers[t % len(customers)].pk,
                        queue.pk,
                        queue.pk,
                        version.pk,
                        category.pk,
                    )
                )
            ticket_columns = (
                "id, reference, subject, priority, status, channel, language, tier, next_due_at, created_at, updated_at,"
                " last_customer_message_at, reopen_count, customer_id, home_queue_id, queue_id, policy_version_id, category_id"
            )
            with cursor.copy(f"COPY support_ticket ({ticket_columns}) FROM STDIN") as copy:
                for row in ticket_rows:
                    copy.write_row(row)
            clock_columns = "ticket_id, metric, cycle, state, policy_version_id, target_seconds, started_at, used_seconds, segment_start, due_at, warn_at"
            with cursor.copy(f"COPY support_slaclock ({clock_columns}) FROM STDIN") as copy:
                for row in clock_rows:
                    copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('support_ticket', 'id'), (SELECT MAX(id) FROM support_ticket))")
            cursor.execute("ANALYZE support_ticket")
            cursor.execute("ANALYZE support_slaclock")
        self.stdout.write(
            f"loaded {n_tickets:,} open tickets and {clocks_total:,} running clocks ({n_due:,} past due, "
            f"{n_warn:,} inside their warning window) with COPY in {time.perf_counter() - started:.1f} s"
        )
        return now

    def _explain(self, now):
        from support.sla.sweep import due_clocks, locked_batch, warn_clocks

        for title, index, queryset in (
            ("breach selection", "sla_clock_running_due", due_clocks(now)),
            ("warning selection", "sla_clock_running_warn", warn_clocks(now)),
        ):
            with transaction.atomic():
                plan = locked_batch(queryset, 500).explain(analyze=True, buffers=True)
                transaction.set_rollback(True)
            self.stdout.write(f"\nEXPLAIN ANALYZE, {title} (one batch of 500, FOR NO KEY UPDATE SKIP LOCKED):\n{plan}")
            self.stdout.write(f"uses the partial index {index}: {'yes' if index in plan else 'NO'}")

    def _run(self, n_tickets, n_due, n_warn, seed):
        from support.models import SlaEvent, SlaNotification
        from support.sla.sweep import clocks_sweep, notifications_send

        now = self._load(n_tickets, n_due, n_warn, seed)
        self._explain(now)

        timings = {}
        started = time.perf_counter()
        result = clocks_sweep(now=now, timings=timings)
        total = time.perf_counter() - started
        phases = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items())
        self.stdout.write(
            f"\none sweep: {total:.3f} s ({phases}): {result.breached:,} breached and {result.warned:,} warned, "
            f"events and notifications written, {len(result.upcoming):,} instants in the lookahead"
        )
        breaches = SlaEvent.objects.filter(kind="breach").count()
        warnings = SlaEvent.objects.filter(kind="warn").count()
        assert (breaches, warnings) == (n_due, n_warn), (breaches, warnings)
        assert SlaNotification.objects.count() == n_due + n_warn

        timings = {}
        started = time.perf_counter()
        idle = clocks_sweep(now=now + timedelta(seconds=30), timings=timings)
        self.stdout.write(
            f"idle sweep 30 s later (nothing due): {time.perf_counter() - started:.3f} s; "
            f"{idle.breached + idle.warned} fired, {len(idle.upcoming)} instants in the lookahead"
        )

        started = time.perf_counter()
        sent = notifications_send(now=now, limit=500)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"mailing (its own task, not the sweep): {sent:,} notifications in {elapsed:.3f} s ({sent / elapsed:,.0f}/s, locmem backend)"
        )
