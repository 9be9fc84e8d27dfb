"""The kernel's models: reference data every app points at, and the machinery every write uses.

Tenant is domain data (tracked in history). The rest records what the console did — operation
records, outbox events and deliveries, idempotency keys, job runs, API keys — and is written only
by the kernel modules named in each model's docstring.
"""

import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone


class User(AbstractUser):
    """A person who works in the console. Their roles are their Django groups."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())


class Segment(models.TextChoices):
    ENTERPRISE = "enterprise", "Enterprise"
    MID_MARKET = "mid_market", "Mid-market"
    SMB = "smb", "SMB"
    SELF_SERVE = "self_serve", "Self-serve"


class Plan(models.TextChoices):
    STARTER = "starter", "Starter"
    GROWTH = "growth", "Growth"
    SCALE = "scale", "Scale"
    ENTERPRISE = "enterprise", "Enterprise"


tenant_ref_validator = RegexValidator(r"^TEN-[0-9A-Z]{1,20}$", "A tenant ref looks like TEN-123.")
market_validator = RegexValidator(
    r"^[A-Z]{2}(-[A-Z]{3})?$", "A market code looks like AT or AT-VIE."
)


class TenantQuerySet(models.QuerySet):
    def search(self, text: str) -> "TenantQuerySet":
        text = text.strip()
        if not text:
            return self
        return self.filter(models.Q(ref__iexact=text) | models.Q(name__icontains=text))


@pghistory.track()
class Tenant(models.Model):
    """A customer of the platform, known by the platform's `ref` (TEN-123)."""

    ref = models.CharField(max_length=24, unique=True, validators=[tenant_ref_validator])
    name = models.CharField(max_length=200)
    segment = models.CharField(max_length=20, choices=Segment.choices, db_index=True)
    plan = models.CharField(max_length=20, choices=Plan.choices)
    market = models.CharField(max_length=6, validators=[market_validator], db_index=True)
    mrr = models.DecimalField("MRR (EUR)", max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name", "id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(mrr__gte=0), name="tenant_mrr_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ref})"


class RuntimeMode(models.TextChoices):
    NORMAL = "normal", "Normal"
    DEGRADED = "degraded", "Degraded"
    MAINTENANCE = "maintenance", "Maintenance"


@pghistory.track()
class RuntimeSwitch(models.Model):
    """The console's authority switch; a single row (id 1) read by every operation.

    `degraded`: operations run, a banner shows and records are tagged. `maintenance`: every write
    is refused except switching back.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    mode = models.CharField(max_length=12, choices=RuntimeMode.choices, default=RuntimeMode.NORMAL)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="runtime_switch_single_row")
        ]
        permissions = [
            ("set_runtime_mode", "Can switch the console between normal, degraded and maintenance")
        ]

    def __str__(self) -> str:
        return self.get_mode_display()


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    DENIED = "denied", "Denied"
    INVALID = "invalid", "Invalid"
    CONFLICT = "conflict", "Conflict"
    FAILED = "failed", "Failed"


class OperationRecord(models.Model):
    """One call of a registered operation, whatever its outcome. Written by opsconsole.operations.

    Append-only: the database refuses updates and deletes.
    """

    operation = models.CharField(max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="user, api-key:<name> or system:<job>")
    role = models.CharField(max_length=200, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_code = models.CharField(max_length=60, blank=True)
    message = models.TextField(blank=True)
    duration_ms = models.FloatField()
    request_id = models.CharField(max_length=64, blank=True)
    runtime_mode = models.CharField(max_length=12, choices=RuntimeMode.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["operation", "-id"]),
            models.Index(fields=["target_type", "target_id", "-id"]),
            models.Index(fields=["actor", "-id"]),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.operation} by {self.actor_label}: {self.outcome}"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it announces.

    Its `id` is the event id consumers use to drop repeats. Written by opsconsole.outbox.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100, db_index=True)
    aggregate = models.CharField(max_length=120, help_text="what changed, e.g. tenant:TEN-42")
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    operation = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate}"


@pghistory.track()
class Subscriber(models.Model):
    """An HTTP endpoint that receives outbox events, configured in admin."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Shared secret for the HMAC signature.")
    event_types = ArrayField(
        models.CharField(max_length=100),
        help_text="Event types to receive, e.g. tenant.frozen; `*` receives everything.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead (gave up)"


class Delivery(models.Model):
    """One event for one subscriber, retried with backoff until delivered. Written by the relay."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Also the lease: a claimed delivery is pushed a minute ahead, so if its worker dies it
    # simply becomes due again.
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="delivery_once_per_subscriber"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscriber}: {self.status}"


class IdempotencyKey(models.Model):
    """The first response to an API write sent with an `Idempotency-Key`, replayed on repeats."""

    owner = models.CharField(max_length=60, help_text="user:<id> or api-key:<id>")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One run of a background job: progress while it runs, its outcome when done.

    Written by opsconsole.jobs, outside the job's own transactions so progress shows live.
    """

    name = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    rows = models.BigIntegerField(default=0, help_text="rows read or written")
    watermark_from = models.BigIntegerField(null=True, blank=True)
    watermark_to = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["name", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("job_detail", kwargs={"pk": self.pk})

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.status == JobStatus.SUCCEEDED else None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


@pghistory.track(exclude=["last_used_at"])
class ApiKey(models.Model):
    """A platform service's key. Only a SHA-256 of the key is stored; the key is shown once."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to recognise the key.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=40))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
