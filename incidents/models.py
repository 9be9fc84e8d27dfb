"""Error events from the platform, the incidents they group into, and each incident's timeline.

ErrorEvent and IncidentTenant are not in pghistory: events are immutable facts arriving by the
thousand, and IncidentTenant holds counters derived from them; history of either would only
repeat them. Every incident change that matters is on its timeline and in its history.
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex, GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from opsconsole.models import Tenant


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Category(models.TextChoices):
    AVAILABILITY = "availability", "Availability"
    LATENCY = "latency", "Latency"
    DATA = "data", "Data"
    PAYMENT = "payment", "Payment"
    VENDOR = "vendor", "Vendor"
    SAFETY = "safety", "Safety"
    QUALITY = "quality", "Quality"
    SECURITY = "security", "Security"


class Source(models.TextChoices):
    PRG = "prg", "PRG"
    TJM = "tjm", "TJM"
    LEM = "lem", "LEM"
    TRUTTA = "trutta", "Trutta"
    MONITORING = "monitoring", "Monitoring"
    CONSOLE = "console", "Console"
    SLO = "slo", "SLO alert"
    POLICY = "ops_policy", "Ops policy"


# The sources platform services may send error events from; slo and ops_policy incidents are
# opened by the console itself.
EVENT_SOURCES = [
    Source.PRG,
    Source.TJM,
    Source.LEM,
    Source.TRUTTA,
    Source.MONITORING,
    Source.CONSOLE,
]


class SeverityHint(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    CRITICAL = "critical", "Critical"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    REGRESSED = "regressed", "Regressed"
    SUPPRESSED = "suppressed", "Suppressed"


ACTIVE_STATUSES = [Status.OPEN, Status.ACKNOWLEDGED, Status.REGRESSED, Status.SUPPRESSED]


@pghistory.track()
class Component(models.Model):
    """A part of the platform; its criticality weighs in the severity of its incidents."""

    name = models.CharField(max_length=100, unique=True)
    criticality = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    upstream = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="downstream",
        help_text="The component this one depends on; cascades are traced along this link.",
    )
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IncidentQuerySet(models.QuerySet):
    def active(self) -> "IncidentQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)


@pghistory.track(exclude=["event_count", "tenant_count", "last_seen_at", "updated_at"])
class Incident(ConcurrentTransitionMixin, models.Model):
    """Errors that share a fingerprint, worked from open to resolved.

    At most one incident per fingerprint is not resolved (a partial unique index); a resolved
    incident that sees its errors again within the regression window reopens as `regressed`.
    Status changes go through the transitions below, and saving one is a conditional update
    (ConcurrentTransitionMixin): two people changing the same incident at once cannot both win.
    """

    fingerprint = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    component = models.CharField(max_length=100)
    error_class = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    severity_forced = models.BooleanField(
        default=False, help_text="Set by a founder's override: the rules no longer change it."
    )
    status = FSMField(max_length=15, choices=Status.choices, default=Status.OPEN, protected=True)
    source = models.CharField(max_length=15, choices=Source.choices)
    event_count = models.BigIntegerField(default=0)
    tenant_count = models.PositiveIntegerField("affected tenants", default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    context = models.JSONField(
        default=dict, blank=True, help_text="Context of the first event (market, vendor, …)."
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    time_to_acknowledge = models.DurationField(null=True, blank=True)
    time_to_resolve = models.DurationField(null=True, blank=True)
    suppressed_until = models.DateTimeField(null=True, blank=True)
    regression_count = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~models.Q(status="resolved"),
                name="incident_one_unresolved_per_fingerprint",
            ),
            models.CheckConstraint(
                condition=models.Q(first_seen_at__lte=models.F("last_seen_at")),
                name="incident_seen_in_order",
            ),
        ]
        indexes = [
            models.Index(fields=["-last_seen_at", "-id"], name="incident_recent"),
            models.Index(fields=["status", "-last_seen_at", "-id"], name="incident_status_recent"),
            models.Index(
                fields=["severity", "-last_seen_at", "-id"], name="incident_severity_recent"
            ),
            # icontains compares UPPER(title): the trigram index is on that expression.
            GinIndex(
                OpClass(Upper("title"), name="gin_trgm_ops"), name="incident_title_upper_trgm"
            ),
            # Regressions look resolved incidents up by fingerprint; the list filters by component.
            # (Category, source and severity have a handful of values each: their filters scan
            # incident_recent.) Every index here is rewritten with each batch's counters.
            models.Index(fields=["fingerprint"], name="incident_fingerprint"),
            models.Index(fields=["component"], name="incident_component"),
            # MTTA/MTTR windows and pattern detection read incidents by when they opened/resolved.
            models.Index(fields=["opened_at"], name="incident_opened"),
            models.Index(
                fields=["resolved_at"],
                condition=models.Q(resolved_at__isnull=False),
                name="incident_resolved",
            ),
        ]
        permissions = [
            ("acknowledge_incident", "Can acknowledge, assign and annotate incidents"),
            ("resolve_incident", "Can resolve and reopen incidents"),
            ("override_incident", "Can force an incident's severity, suppress or force-resolve it"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", kwargs={"pk": self.pk})

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    # --- Lifecycle (called only by incidents.operations) ---------------------------------------

    @transition(field=status, source=[Status.OPEN, Status.REGRESSED], target=Status.ACKNOWLEDGED)
    def acknowledge(self) -> None:
        pass

    @transition(field=status, source=ACTIVE_STATUSES, target=Status.RESOLVED)
    def resolve(self) -> None:
        pass

    @transition(field=status, source=Status.RESOLVED, target=Status.OPEN)
    def reopen(self) -> None:
        pass

    @transition(field=status, source=Status.RESOLVED, target=Status.REGRESSED)
    def regress(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.OPEN, Status.ACKNOWLEDGED, Status.REGRESSED],
        target=Status.SUPPRESSED,
    )
    def suppress(self) -> None:
        pass

    @transition(field=status, source=Status.SUPPRESSED, target=Status.ACKNOWLEDGED)
    def unsuppress(self) -> None:
        pass


@pgtrigger.register(pgtrigger.Protect(name="events_are_facts", operation=pgtrigger.Update))
class ErrorEvent(models.Model):
    """One error a platform service reported. Immutable once stored; `event_id` dedupes replays."""

    event_id = models.UUIDField(unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    # Indexed by event_incident_recent, which leads with it.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="error_events", db_index=False
    )
    component = models.CharField(max_length=100)
    error_class = models.CharField(max_length=200)
    message = models.TextField()
    severity_hint = models.CharField(max_length=10, choices=SeverityHint.choices, blank=True)
    source = models.CharField(max_length=15, choices=Source.choices)
    context = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        # Every index is paid for by each of the thousands of events a second, so there are
        # few: the incident's recent events (detail page, severity volume), and a BRIN on
        # occurred_at — events arrive in time order, so a block range index answers the window
        # summaries (counts by class and component) at a sliver of a b-tree's insert cost.
        indexes = [
            models.Index(fields=["incident", "-occurred_at"], name="event_incident_recent"),
            BrinIndex(fields=["occurred_at"], name="event_occurred_brin", pages_per_range=32),
        ]

    def __str__(self) -> str:
        return f"{self.error_class} in {self.component} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class IncidentTenant(models.Model):
    """How an incident touched one tenant: counters kept per ingested batch."""

    # Indexed by the unique pair and by incident_tenant_by_tenant.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="tenant_links", db_index=False
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="incident_links", db_index=False
    )
    event_count = models.BigIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "tenant"], name="incident_tenant_once")
        ]
        # Only the tenant is indexed beside the unique pair: the counters change with every batch,
        # and with no indexed column among them PostgreSQL updates the row in place (HOT).
        indexes = [models.Index(fields=["tenant"], name="incident_tenant_by_tenant")]

    def __str__(self) -> str:
        return f"{self.incident_id} and {self.tenant_id}"


class CountDelta(models.Model):
    """Events a batch added to one incident for one tenant, waiting to be folded into the
    incident's counters and its IncidentTenant row (incidents.operations.fold).

    Batches write deltas instead of updating the incidents they touch, so concurrent batches on
    the same busy incidents never wait for each other's row locks; one folder at a time applies
    them, usually the next batch itself, otherwise the beat sweep. Plumbing, not history.
    """

    id = models.BigAutoField(primary_key=True)
    # No database foreign keys: an insert would take a key-share lock on the incident row, and
    # the fold is the only reader.
    incident = models.ForeignKey(
        Incident, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    events = models.PositiveIntegerField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    hint_rank = models.PositiveSmallIntegerField(help_text="0 none, 1 info … 4 critical")

    def __str__(self) -> str:
        return f"+{self.events} for #{self.incident_id}"


class TimelineKind(models.TextChoices):
    OPENED = "opened", "Opened"
    ESCALATED = "escalated", "Escalated"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ASSIGNED = "assigned", "Assigned"
    NOTE = "note", "Note"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    REGRESSED = "regressed", "Regressed"
    SUPPRESSED = "suppressed", "Suppressed"
    UNSUPPRESSED = "unsuppressed", "Suppression ended"
    OVERRIDDEN = "overridden", "Overridden"
    PATTERN = "pattern", "Part of a pattern"
    ALERT = "alert", "Alert"


@pgtrigger.register(
    pgtrigger.Protect(name="timeline_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
)
class TimelineEntry(models.Model):
    """Every change of an incident, with who made it. Append-only."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=15, choices=TimelineKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "-created_at"], name="timeline_incident_recent")
        ]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_label}"


class AffectedUserSource(models.TextChoices):
    RUNTIME = "runtime", "Runtime events"
    CONTEXT = "context", "Incident context"
    MANUAL = "manual", "Attached by a person"
    SLO = "slo", "SLO breach"


@pghistory.track()
class AffectedUser(models.Model):
    """An end user an incident hurt, with the order it spoiled: what compensation works from."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected_users")
    user_ref = models.CharField(max_length=64)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    product = models.CharField(max_length=100, blank=True)
    product_version = models.CharField(max_length=100, blank=True)
    market = models.CharField(max_length=6, blank=True)
    vendor = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=10, choices=AffectedUserSource.choices)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user_ref"], name="affected_user_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_ref} in #{self.incident_id}"


class PatternKind(models.TextChoices):
    CATEGORY_CLUSTER = "category_cluster", "Category cluster"
    SEVERITY_SPIKE = "severity_spike", "Severity spike"
    CASCADE = "cascade", "Cascade failure"


class Pattern(models.Model):
    """Incidents that belong together: a cluster in one category, a spike of serious incidents, or
    a cascade from one upstream component or one session.

    Found by incidents.detect_patterns over sliding windows. A pattern still under way when the
    next window is examined is extended rather than found again, and (kind, key, window_start) is
    unique, so rerunning a window creates nothing twice. Not in pghistory: a detection is a fact
    the job derives; what it changes on an incident is on that incident's timeline.
    """

    kind = models.CharField(max_length=20, choices=PatternKind.choices)
    key = models.CharField(
        max_length=200, help_text="What ties the incidents: a category, a component, a session…"
    )
    title = models.CharField(max_length=300)
    confidence = models.FloatField(help_text="0 to 1: how sure the rules are that this is real.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    incident_count = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    incidents = models.ManyToManyField(Incident, related_name="patterns", blank=True)
    detected_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-window_end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "window_start"], name="pattern_once_per_window"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1),
                name="pattern_confidence_0_to_1",
            ),
            models.CheckConstraint(
                condition=models.Q(window_start__lte=models.F("window_end")),
                name="pattern_window_in_order",
            ),
        ]
        indexes = [
            models.Index(fields=["-window_end", "-id"], name="pattern_recent"),
            models.Index(fields=["kind", "key", "-window_end"], name="pattern_kind_key_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("incidents:pattern_list") + f"#pattern-{self.pk}"
