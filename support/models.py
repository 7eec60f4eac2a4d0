import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.languages import SUPPORT_LANGUAGES


class Announcement(models.Model):
    """Curated news shown on the home page; title and body are translated per language
    (django-modeltranslation, falling back to the nearest language, then English)."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self):
        return self.title


# --- The support desk -------------------------------------------------------------------------------
#
# Ownership of the pieces (docs/architecture.md, "Support desk"): tickets and messages are written only by
# support/services/tickets.py, which moves the SLA clocks (support/sla/engine.py) in the same transaction;
# the clock arithmetic itself is pure Python in support/sla/clock.py.

SUPPORT_LANGUAGE_CHOICES = [(code, code) for code in SUPPORT_LANGUAGES]


class Priority(models.TextChoices):
    LOW = "low", pgettext_lazy("ticket priority", "Low")
    NORMAL = "normal", pgettext_lazy("ticket priority", "Normal")
    HIGH = "high", pgettext_lazy("ticket priority", "High")
    URGENT = "urgent", pgettext_lazy("ticket priority", "Urgent")


class Channel(models.TextChoices):
    WEB = "web", pgettext_lazy("support channel", "Web")
    EMAIL = "email", pgettext_lazy("support channel", "Email")
    CHAT = "chat", pgettext_lazy("support channel", "Chat")


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    PERIODIC_UPDATE = "periodic_update", _("Periodic update")
    RESOLUTION = "resolution", pgettext_lazy("SLA metric", "Resolution")
    CHAT_ANSWER = "chat_answer", _("Chat speed of answer")


class Calendar(models.Model):
    """Business hours in an IANA time zone: weekly intervals in local wall time plus holidays.
    Edits recompute the running clocks that use it (a background job)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone, e.g. Europe/Madrid")
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code whose public holidays seed this calendar (holidays package)"
    )
    around_the_clock = models.BooleanField(default=False, help_text="24/7: every hour counts and notifications go out at any hour")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.time_zone})"


class CalendarInterval(models.Model):
    """Working time starting on a weekday (0 = Monday), local wall time. An end not after the start
    runs to that time on the next day (22:00-02:00; 00:00-00:00 is the whole day)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=[(d, d) for d in range(7)])
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        constraints = [models.CheckConstraint(condition=Q(weekday__lte=6), name="calendar_interval_weekday")]

    def __str__(self):
        return f"{self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class Holiday(models.Model):
    """A local date range with no business time on a calendar."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    name = models.CharField(max_length=200)
    first_day = models.DateField()
    last_day = models.DateField()

    class Meta:
        ordering = ["calendar", "first_day"]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="holiday_range_ordered"),
            models.UniqueConstraint(fields=["calendar", "first_day", "name"], name="holiday_unique_per_calendar"),
        ]

    def __str__(self):
        return f"{self.name} {self.first_day}"


class Queue(models.Model):
    """A support language queue (one per support language). Tickets keep the customer's own language
    and the queue they are in now (the English queue after a fallback)."""

    language = models.CharField(max_length=8, choices=SUPPORT_LANGUAGE_CHOICES, unique=True)
    name = models.CharField(max_length=100)
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="queues")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_queues")
    fallback_after = models.DurationField(
        null=True, blank=True, help_text="unassigned this long, a ticket moves to the English queue (empty: never)"
    )
    is_active = models.BooleanField(default=True)
    reassign_on_breach = models.BooleanField(
        default=False, help_text="a breached ticket goes back to the queue, unassigned, for the next free agent"
    )

    class Meta:
        ordering = ["language"]

    def __str__(self):
        return self.name


class TicketCategory(models.Model):
    """What a ticket is about; the name is translated (modeltranslation)."""

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    default_priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    # Which of the customer's objects the new-ticket form offers to link: deposit, withdrawal, order, recovery.
    links = models.CharField(max_length=16, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = "ticket category"
        verbose_name_plural = "ticket categories"

    def __str__(self):
        return self.slug


class AgentProfile(models.Model):
    """A support agent's languages, capacity and presence (staff with the support_agent or supervisor role)."""

    class Presence(models.TextChoices):
        ONLINE = "online", pgettext_lazy("agent presence", "Online")
        AWAY = "away", pgettext_lazy("agent presence", "Away")
        OFFLINE = "offline", pgettext_lazy("agent presence", "Offline")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=64, help_text="the name customers see on replies")
    languages = models.JSONField(default=list, help_text='support languages this agent answers, e.g. ["es", "en"]')
    capacity = models.PositiveSmallIntegerField(default=20, help_text="open tickets this agent carries at most")
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.OFFLINE, db_index=True)
    presence_changed_at = models.DateTimeField(default=timezone.now)
    # The router's last tie-break: among equally loaded agents, the one waiting longest gets the next ticket.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    is_head_of_support = models.BooleanField(default=False)
    calendar = models.ForeignKey(
        Calendar,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="working hours for notifications (empty: the calendar of the agent's first language queue)",
    )

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name


class SlaPolicy(models.Model):
    """First matching policy by `position` wins. Filters left empty match everything. Editing
    targets, calendar or warning lead time creates a new SlaPolicyVersion; running clocks keep
    the version they started with until re-applied."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(unique=True)
    is_active = models.BooleanField(default=True)
    tiers = models.JSONField(default=list, blank=True, help_text="VIP tiers (0-5) this policy is for; empty: all")
    queues = models.ManyToManyField(Queue, blank=True, related_name="+")
    channels = models.JSONField(default=list, blank=True, help_text="web, email, chat; empty: all")
    categories = models.ManyToManyField(TicketCategory, blank=True, related_name="+")
    priorities = models.JSONField(default=list, blank=True, help_text="low, normal, high, urgent; empty: all")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="policies")
    warn_before = models.DurationField(help_text="warn this much business time before a target is due")
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["position"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self):
        return f"{self.position}. {self.name}"


class SlaTarget(models.Model):
    """Business seconds allowed for one metric at one priority under a policy."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=8, choices=Priority.choices)
    metric = models.CharField(max_length=16, choices=Metric.choices)
    seconds = models.PositiveIntegerField()

    class Meta:
        ordering = ["policy", "priority", "metric"]
        constraints = [models.UniqueConstraint(fields=["policy", "priority", "metric"], name="sla_target_unique")]
        verbose_name = "SLA target"

    def __str__(self):
        return f"{self.priority} {self.metric} {self.seconds}s"


class SlaPolicyVersion(models.Model):
    """An immutable snapshot of a policy's targets, calendar and warning lead time."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="+")
    warn_before = models.DurationField()
    targets = models.JSONField(help_text='{"normal": {"first_response": 86400, ...}, ...}')
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [models.UniqueConstraint(fields=["policy", "version"], name="sla_policy_version_unique")]
        verbose_name = "SLA policy version"

    def __str__(self):
        return f"{self.policy.name} v{self.version}"


def ticket_reference_generate() -> str:
    # Not guessable, not sequential (no count of tickets leaks), easy to read aloud: no 0/O, 1/I;
    # no E either, so no reference reads as a number in exponent form (2E10) to a spreadsheet.
    alphabet = "23456789ABCDFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Ticket(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING = "pending", _("Waiting for your reply")
        ON_HOLD = "on_hold", pgettext_lazy("ticket status", "On hold")
        WAITING = "waiting", _("Waiting on the network or a review")
        SOLVED = "solved", pgettext_lazy("ticket status", "Solved")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")

    # Statuses that pause the resolution clock.
    PAUSED = {Status.PENDING, Status.ON_HOLD, Status.WAITING}
    OPEN_STATUSES = {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.WAITING}

    reference = models.CharField(max_length=12, unique=True, default=ticket_reference_generate, editable=False)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets")
    subject = models.CharField(_("subject"), max_length=200)
    category = models.ForeignKey(TicketCategory, on_delete=models.PROTECT, related_name="tickets")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    language = models.CharField(max_length=10, help_text="the customer's language: replies and email use it")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets", help_text="where it is routed now")
    home_queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="+", help_text="the queue of the customer's language (before any fallback)"
    )
    fallback_at = models.DateTimeField(null=True, blank=True, help_text="when it moved to the English queue")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    tier = models.PositiveSmallIntegerField(default=0, help_text="the customer's VIP tier the SLA applies")
    policy_version = models.ForeignKey(SlaPolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Earliest due_at of the ticket's running clocks: queues sort by it (kept by the SLA engine).
    next_due_at = models.DateTimeField(null=True, blank=True)
    # Linked objects (the customer's own, checked by the service).
    deposit = models.ForeignKey("wallets.Deposit", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    withdrawal = models.ForeignKey("wallets.Withdrawal", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    order = models.ForeignKey("exchange.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    recovery = models.ForeignKey("wallets.RecoveryRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_public_reply_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["queue", "status", "next_due_at"], name="ticket_queue_urgency"),
            models.Index(fields=["assignee", "status", "next_due_at"], name="ticket_assignee_urgency"),
            models.Index(fields=["customer", "-updated_at"], name="ticket_customer_recent"),
        ]
        permissions = [
            ("work_ticket", "Can work tickets in the helpdesk console"),
            ("supervise_ticket", "Can see every queue and reassign tickets"),
        ]

    def __str__(self):
        return f"#{self.reference} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Message(models.Model):
    """One entry of a ticket's conversation. Customers see only rows with internal=False.

    kind=customer: the customer wrote it (web or email). kind=agent: an agent; internal=True is an
    internal note, internal=False a public reply. kind=system: an event (status change, recovery
    state, security action) rendered from `event` and `data` in the reader's language; internal
    events (security actions, assignment) are for agents only.
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer", pgettext_lazy("message author", "Customer")
        AGENT = "agent", pgettext_lazy("message author", "Agent")
        SYSTEM = "system", pgettext_lazy("message author", "System")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    internal = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(blank=True)
    event = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    # Inbound mail's Message-ID (an MTA may deliver the same mail twice) and outbound threading.
    email_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_time")]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="customer", internal=True), name="customer_message_is_public"),
            models.UniqueConstraint(fields=["email_message_id"], condition=~Q(email_message_id=""), name="message_email_id_unique"),
        ]

    def __str__(self):
        return f"{self.ticket_id} {self.kind}{' note' if self.internal else ''} {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def event_add(cls, *, ticket, event: str, data: dict, internal: bool, by=None, at=None) -> "Message":
        """The one way a system event joins a conversation (status, assignment, fallback, recovery
        state, security action, mail report); the services decide when, this row says what."""
        return cls.objects.create(
            ticket=ticket, kind=cls.Kind.SYSTEM, internal=internal, author=by, event=event, data=data, created_at=at or timezone.now()
        )

    @property
    def is_public_reply(self) -> bool:
        """A customer-visible reply by a human agent: the only thing that fulfils response clocks."""
        return self.kind == self.Kind.AGENT and not self.internal


def attachment_path(instance, filename):
    # The stored name never comes from the customer (the original name is kept in a column).
    return f"support/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    """A file on a message; served only to the ticket's participants (never from MEDIA_URL)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, help_text="sniffed from the content, not the name or the sender's claim")
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.original_name


class SatisfactionRating(models.Model):
    """The customer's rating of a solved ticket (CSAT 1-5), one per solve."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    solve_number = models.PositiveSmallIntegerField(help_text="1 for the first solve, 2 after one reopen, ...")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="csat_score_1_to_5"),
            models.UniqueConstraint(fields=["ticket", "solve_number"], name="csat_once_per_solve"),
        ]
        verbose_name = "CSAT rating"

    def __str__(self):
        return f"{self.ticket_id}: {self.score}"


class CannedReply(models.Model):
    """A reply agents insert, translated per language (modeltranslation); placeholders
    {customer_name}, {asset}, {amount}, {ticket}. A macro also sets status and/or priority."""

    title = models.CharField(max_length=100)
    body = models.TextField()
    category = models.ForeignKey(TicketCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    set_status = models.CharField(max_length=8, choices=Ticket.Status.choices, blank=True)
    set_priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "title"]
        verbose_name = "canned reply or macro"
        verbose_name_plural = "canned replies and macros"

    def __str__(self):
        return self.title

    @property
    def is_macro(self) -> bool:
        return bool(self.set_status or self.set_priority)


class SlaClock(models.Model):
    """One SLA clock per (ticket, metric, cycle). `due_at` and `warn_at` are stored (recomputed on
    every transition by support/sla/engine.py), never computed on read; the sweeper reads them
    through partial indexes on running clocks."""

    class State(models.TextChoices):
        RUNNING = "running", pgettext_lazy("SLA clock", "Running")
        PAUSED = "paused", pgettext_lazy("SLA clock", "Paused")
        FULFILLED = "fulfilled", pgettext_lazy("SLA clock", "Fulfilled")
        BREACHED = "breached", pgettext_lazy("SLA clock", "Breached")
        CANCELLED = "cancelled", pgettext_lazy("SLA clock", "Cancelled")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="clocks")
    metric = models.CharField(max_length=16, choices=Metric.choices)
    cycle = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    policy_version = models.ForeignKey(SlaPolicyVersion, on_delete=models.PROTECT, related_name="clocks")
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # Business seconds used before the current running segment began (at `segment_start`).
    used_seconds = models.PositiveIntegerField(default=0)
    segment_start = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # When the head of support was alerted about this breach (the last rung of the ladder).
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "metric", "cycle"]
        constraints = [models.UniqueConstraint(fields=["ticket", "metric", "cycle"], name="sla_clock_unique_cycle")]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="running"), name="sla_clock_running_due"),
            models.Index(fields=["warn_at"], condition=Q(state="running", warned_at__isnull=True), name="sla_clock_running_warn"),
            models.Index(
                fields=["breached_at"],
                condition=Q(state="breached", escalated_at__isnull=True, stopped_at__isnull=True),
                name="sla_clock_breach_unescalated",
            ),
        ]
        verbose_name = "SLA clock"

    def __str__(self):
        return f"{self.ticket_id} {self.metric}#{self.cycle} {self.state}"


class SlaEventQuerySet(models.QuerySet):
    """SLA events are facts: rows are added, never rewritten (no update path, also not in bulk)."""

    def update(self, **kwargs):
        raise TypeError("SLA events are append-only")

    def bulk_update(self, objs, fields, batch_size=None):
        raise TypeError("SLA events are append-only")


class SlaEvent(models.Model):
    """Append-only: what happened to a clock. The audit trail and the reporting source; warn and
    breach are unique per clock, so they fire once however many sweepers run."""

    objects = SlaEventQuerySet.as_manager()

    class Kind(models.TextChoices):
        ACTIVATE = "activate", "activate"
        PAUSE = "pause", "pause"
        RESUME = "resume", "resume"
        FULFIL = "fulfil", "fulfil"
        WARN = "warn", "warn"
        BREACH = "breach", "breach"
        REAPPLY = "reapply", "reapply"
        CANCEL = "cancel", "cancel"
        ESCALATE = "escalate", "escalate"

    ONCE = {Kind.WARN, Kind.BREACH}

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    used_seconds = models.PositiveIntegerField(default=0, help_text="business seconds used at this event")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "kind"], condition=Q(kind__in=["warn", "breach"]), name="sla_event_warn_breach_once"),
            models.UniqueConstraint(fields=["clock", "kind"], condition=Q(kind="escalate"), name="sla_event_escalate_once"),
        ]
        verbose_name = "SLA event"

    def __str__(self):
        return f"{self.clock_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("SLA events are append-only")
        super().save(*args, **kwargs)


class SlaNotification(models.Model):
    """An email of the escalation ladder (warn, breach, escalate), written with its SLA event and
    held until `send_after` (the recipient's working hours; at once under a 24/7 calendar). One per
    clock, step and recipient; the sweep task sends it and stamps `sent_at`."""

    class Step(models.TextChoices):
        WARN = "warn", "warn"
        BREACH = "breach", "breach"
        ESCALATE = "escalate", "escalate"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=8, choices=Step.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    send_after = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["send_after", "id"]
        constraints = [models.UniqueConstraint(fields=["clock", "step", "recipient"], name="sla_notification_once")]
        indexes = [models.Index(fields=["send_after"], condition=Q(sent_at__isnull=True), name="sla_notification_unsent")]
        verbose_name = "SLA notification"

    def __str__(self):
        return f"{self.clock_id} {self.step} -> {self.recipient_id}"


class InboundMail(models.Model):
    """Every mail the inbound command read, and what became of it (a refused sender is reported here)."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "accepted"
        DUPLICATE = "duplicate", "duplicate"
        REFUSED = "refused", "refused"
        UNMATCHED = "unmatched", "unmatched"

    mail_id = models.CharField(max_length=255, blank=True, help_text="the mail's Message-ID header")
    sender = models.CharField(max_length=320, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mails")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # One outcome per Message-ID, so a mail the MTA delivers twice (even at once) counts once.
            models.UniqueConstraint(fields=["mail_id"], condition=~Q(outcome="duplicate") & ~Q(mail_id=""), name="inbound_mail_once"),
        ]

    def __str__(self):
        return f"{self.sender} {self.outcome}"


class OutboundMail(models.Model):
    """The email a public message sends the customer (support/services/notify.py queues it, the task
    in support/mail_tasks.py sends it once). Its Message-ID threads the customer's reply back."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbound_mails")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="outbound_mail")
    # A status change made together with a reply goes out in the reply's email, not a second one.
    status_event = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="folded_into_mail")
    mail_id = models.CharField(max_length=255, unique=True, help_text="the Message-ID header it was sent with")
    recipient = models.CharField(max_length=320, blank=True, help_text="the address it went to")
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.ticket_id} {self.mail_id}"
