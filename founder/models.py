"""Founder actions — freeze, throttle, incident override — and the bookkeeping of enforcement.

A FounderAction is active from its creation until it is reversed or expires; its row keeps who,
why and when. What a tenant may do is never stored: it is computed from the tenant's actions by
`founder.rules.tenant_state`, at the moment it is asked for, so an action whose `expires_at` has
passed stops counting then, whether or not the expiry job has marked it `expired` yet.

EnforcementClock and TenantEnforcement are not in pghistory: they are counters derived from the
actions (a version per change, for the enforcement change feed), and the actions' own history
says everything about each change.
"""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from opsconsole.models import Tenant


class ActionType(models.TextChoices):
    FREEZE = "freeze_tenant", "Freeze"
    THROTTLE = "throttle_tenant", "Throttle"
    OVERRIDE = "override_incident", "Incident override"


TENANT_ACTIONS = (ActionType.FREEZE, ActionType.THROTTLE)


class ActionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVERSED = "reversed", "Reversed"
    EXPIRED = "expired", "Expired"


class ReasonCode(models.TextChoices):
    ABUSE = "abuse", "Abuse or spam"
    FRAUD = "fraud", "Suspected fraud"
    NON_PAYMENT = "non_payment", "Unpaid invoices"
    SECURITY = "security", "Security risk"
    RUNAWAY_TRAFFIC = "runaway_traffic", "Runaway traffic"
    INCIDENT_RESPONSE = "incident_response", "Incident response"
    LEGAL = "legal", "Legal or compliance"
    CUSTOMER_REQUEST = "customer_request", "Customer's own request"


class OverrideKind(models.TextChoices):
    SEVERITY = "severity", "Force severity"
    SUPPRESS = "suppress", "Suppress until"
    FORCE_RESOLVE = "force_resolve", "Force-resolve"


MIN_REASON_LENGTH = 10
MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 90 * 24 * 60
MIN_THROTTLE_RPM = 1
MAX_THROTTLE_RPM = 1_000_000


class FounderActionQuerySet(models.QuerySet):
    def active(self) -> "FounderActionQuerySet":
        """Not reversed and not yet marked expired — which may still include actions whose
        expiry time has passed; `counting(now)` leaves those out."""
        return self.filter(status=ActionStatus.ACTIVE)

    def counting(self, now) -> "FounderActionQuerySet":
        """Actions in force at `now`: active and not past their expiry."""
        return self.active().filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def lapsed(self, now) -> "FounderActionQuerySet":
        """Active actions whose expiry has passed: the expiry job's work."""
        return self.active().filter(expires_at__lte=now)


@pghistory.track()
class FounderAction(models.Model):
    """A founder's freeze, throttle or incident override, with its reason and its end.

    One active freeze per tenant and one active override of each kind per incident are
    guaranteed by partial unique indexes on `status = 'active'`. The index cannot look at the
    clock, so an operation that would add a freeze first marks the tenant's lapsed actions
    `expired` (see founder.operations) — the index then holds exactly the actions in force.
    """

    type = models.CharField(max_length=20, choices=ActionType.choices)
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.ACTIVE
    )
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="founder_actions"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="founder_actions"
    )
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices)
    reason = models.TextField()
    throttle_rpm = models.PositiveIntegerField(
        "throttle (requests per minute)", null=True, blank=True
    )
    override_kind = models.CharField(max_length=15, choices=OverrideKind.choices, blank=True)
    override_severity = models.CharField(max_length=10, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it stopped counting: reversed, or its expiry time."
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_by_label = models.CharField(max_length=150, blank=True)
    reversal_reason = models.TextField(blank=True)

    objects = FounderActionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(type=ActionType.FREEZE, status=ActionStatus.ACTIVE),
                name="founder_one_active_freeze_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["incident", "override_kind"],
                condition=models.Q(type=ActionType.OVERRIDE, status=ActionStatus.ACTIVE),
                name="founder_one_active_override_per_kind",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type__in=TENANT_ACTIONS, tenant__isnull=False, incident__isnull=True)
                    | models.Q(
                        type=ActionType.OVERRIDE, tenant__isnull=True, incident__isnull=False
                    )
                ),
                name="founder_action_target_fits_type",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        type=ActionType.THROTTLE,
                        throttle_rpm__gte=MIN_THROTTLE_RPM,
                        throttle_rpm__lte=MAX_THROTTLE_RPM,
                    )
                    | (~models.Q(type=ActionType.THROTTLE) & models.Q(throttle_rpm__isnull=True))
                ),
                name="founder_throttle_rpm_in_range",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type=ActionType.OVERRIDE, override_kind__in=OverrideKind.values)
                    | (~models.Q(type=ActionType.OVERRIDE) & models.Q(override_kind=""))
                ),
                name="founder_override_kind_fits_type",
            ),
            models.CheckConstraint(
                condition=models.Q(reason_code__in=ReasonCode.values),
                name="founder_reason_code_known",
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("reason"), MIN_REASON_LENGTH),
                name="founder_reason_written",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True)
                | models.Q(expires_at__gt=models.F("created_at")),
                name="founder_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=models.Q(status=ActionStatus.ACTIVE, ended_at__isnull=True)
                | (~models.Q(status=ActionStatus.ACTIVE) & models.Q(ended_at__isnull=False)),
                name="founder_ended_unless_active",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-id"], name="founder_action_tenant"),
            models.Index(fields=["incident", "-id"], name="founder_action_incident"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status=ActionStatus.ACTIVE, expires_at__isnull=False),
                name="founder_action_expiring",
            ),
            models.Index(
                fields=["tenant", "type"],
                condition=models.Q(status=ActionStatus.ACTIVE),
                name="founder_action_in_force",
            ),
        ]
        permissions = [
            ("freeze_tenant", "Can freeze a tenant"),
            ("throttle_tenant", "Can throttle a tenant"),
            ("override_incident", "Can override an incident as a founder action"),
            ("reverse_founderaction", "Can reverse a founder action"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_type_display()} of {self.target_label}"

    def get_absolute_url(self) -> str:
        return reverse("founder:action_detail", kwargs={"pk": self.pk})

    @property
    def target_label(self) -> str:
        if self.tenant_id:
            return self.tenant.ref
        return f"incident #{self.incident_id}"

    @property
    def is_active(self) -> bool:
        return self.status == ActionStatus.ACTIVE

    def counts_at(self, now) -> bool:
        return self.is_active and (self.expires_at is None or self.expires_at > now)

    @property
    def summary(self) -> str:
        """What the action does, in a few words: "frozen", "120 rpm", "severity → critical"."""
        if self.type == ActionType.FREEZE:
            return "frozen"
        if self.type == ActionType.THROTTLE:
            return f"{self.throttle_rpm:,} rpm"
        if self.override_kind == OverrideKind.SEVERITY:
            return f"severity → {self.override_severity}"
        return self.get_override_kind_display().lower()


class EnforcementClock(models.Model):
    """One row (id 1): the enforcement version.

    Every enforcement change takes the next version with an UPDATE of this row, so the row lock
    orders the changes: a change's version is handed out only after every earlier one has
    committed or rolled back, and a reader who has seen version N has seen everything below it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="enforcement_clock_single_row")
        ]

    def __str__(self) -> str:
        return f"version {self.version}"


class TenantEnforcement(models.Model):
    """A tenant's last enforcement change: its version (what the change feed is read from) and
    time — together the stamp every cached answer is checked against."""

    tenant = models.OneToOneField(
        Tenant, primary_key=True, on_delete=models.CASCADE, related_name="enforcement"
    )
    version = models.BigIntegerField(unique=True)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tenant_id} at version {self.version}"
