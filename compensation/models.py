"""Compensation: policies that turn incidents into proposals, the people who approve them within
limits and budgets, and the issuing of tokens (Trutta) and refunds (Billing) through the outbox.

Money is kept in the currency it is paid in and, beside it, in EUR at the rate of the moment it
was computed: every limit and budget is in EUR ("50 EUR or equivalent").
"""

from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from incidents.models import Category, Incident, Severity, Source
from opsconsole.models import OutboxEvent, Tenant, market_validator

currency_validator = RegexValidator(r"^[A-Z]{3}$", "A currency is an ISO 4217 code like EUR.")
EUR = "EUR"


class Fault(models.TextChoices):
    VENDOR = "vendor", "Vendor"
    PLATFORM = "platform", "Platform"
    MIXED = "mixed", "Mixed"


class Channel(models.TextChoices):
    TRUTTA_TOKEN = "trutta_token", "Trutta token"
    REFUND = "refund", "Refund"
    MIXED = "mixed", "Token and refund"


class ValueType(models.TextChoices):
    PERCENTAGE_OF_AMOUNT = "percentage_of_amount", "Percentage of the order"
    FIXED = "fixed", "Fixed amount"


# --- Reference data finance keeps ----------------------------------------------------------------


@pghistory.track()
class ExchangeRate(models.Model):
    """What one unit of a currency is worth in EUR; finance keeps these current."""

    currency = models.CharField(max_length=3, unique=True, validators=[currency_validator])
    eur_per_unit = models.DecimalField(
        "EUR per unit", max_digits=14, decimal_places=6, validators=[MinValueValidator(0)]
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(condition=Q(eur_per_unit__gt=0), name="rate_positive"),
            models.CheckConstraint(
                condition=~Q(currency=EUR) | Q(eur_per_unit=1), name="rate_eur_is_one"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.eur_per_unit} EUR"


class ApproverRole(models.TextChoices):
    CARE_AGENT = "care_agent", "Care agent"
    CARE_LEAD = "care_lead", "Care lead"
    FINANCE = "finance", "Finance"


# Seniority: a case that needs a care lead may be approved by a care lead or by finance.
APPROVER_RANK = {ApproverRole.CARE_AGENT: 1, ApproverRole.CARE_LEAD: 2, ApproverRole.FINANCE: 3}


@pghistory.track()
class ApprovalLimit(models.Model):
    """The most a role may approve for one proposal, in EUR; no maximum means no limit."""

    role = models.CharField(max_length=20, choices=ApproverRole.choices, unique=True)
    max_eur = models.DecimalField(
        "maximum (EUR)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Empty means no limit.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["max_eur"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_eur__isnull=True) | Q(max_eur__gte=0), name="limit_not_negative"
            )
        ]

    def __str__(self) -> str:
        limit = f"{self.max_eur} EUR" if self.max_eur is not None else "no limit"
        return f"{self.get_role_display()}: {limit}"


@pghistory.track()
class Budget(models.Model):
    """What a market may spend on compensation in one month, in EUR, and how much is reserved.

    Approval reserves its amount with one conditional UPDATE (`used + amount <= amount_eur`), so
    concurrent approvals can never overdraw; the check constraint says so again.
    """

    market = models.CharField(max_length=6, validators=[market_validator])
    month = models.DateField(help_text="The first day of the month.")
    amount_eur = models.DecimalField(
        "budget (EUR)", max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    used_eur = models.DecimalField("reserved (EUR)", max_digits=14, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "market"]
        constraints = [
            models.UniqueConstraint(fields=["market", "month"], name="budget_once_per_month"),
            models.CheckConstraint(condition=Q(used_eur__gte=0), name="budget_used_not_negative"),
            models.CheckConstraint(
                condition=Q(used_eur__lte=F("amount_eur")), name="budget_never_overdrawn"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="budget_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.market} {self.month:%Y-%m}: {self.used_eur} of {self.amount_eur} EUR"

    @property
    def remaining_eur(self) -> Decimal:
        return self.amount_eur - self.used_eur

    @property
    def percent_used(self) -> int:
        if not self.amount_eur:
            return 100
        return min(100, round(100 * self.used_eur / self.amount_eur))


@pghistory.track()
class FraudFlag(models.Model):
    """A platform user Trutta (or Customer Care) suspects of abuse; open flags stop automatic
    approval and send the case to a care lead."""

    user_ref = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=300)
    source = models.CharField(max_length=40, default="trutta")
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_ref"], condition=Q(cleared_at__isnull=True), name="one_open_flag"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_ref}: {self.reason}"


# --- Policies ------------------------------------------------------------------------------------


class PolicyQuerySet(models.QuerySet):
    def current(self) -> "PolicyQuerySet":
        return self.filter(is_current=True)


@pghistory.track()
class CompensationPolicy(models.Model):
    """One version of a compensation policy. Editing makes a new version and retires this one, so
    a proposal always points at the exact rules it was made under.

    Empty match lists match anything; the most specific matching policy wins (see rules).
    """

    key = models.SlugField(max_length=60, help_text="Stays the same across versions.")
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True, help_text="Inactive policies match nothing.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    categories = ArrayField(
        models.CharField(max_length=20, choices=Category.choices), default=list, blank=True
    )
    severities = ArrayField(
        models.CharField(max_length=10, choices=Severity.choices), default=list, blank=True
    )
    sources = ArrayField(
        models.CharField(max_length=15, choices=Source.choices), default=list, blank=True
    )
    faults = ArrayField(
        models.CharField(max_length=10, choices=Fault.choices), default=list, blank=True
    )
    products = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    markets = ArrayField(
        models.CharField(max_length=6, validators=[market_validator]), default=list, blank=True
    )
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Among equally specific matches, the lower number wins."
    )
    channel = models.CharField(max_length=15, choices=Channel.choices)
    refund_percent = models.PositiveSmallIntegerField(
        default=50, help_text="For a mixed channel: the share paid back as money."
    )
    value_type = models.CharField(max_length=25, choices=ValueType.choices)
    value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="A percentage of the order, or a fixed amount in the policy's currency.",
    )
    cap = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="The most a percentage may come to, in the policy's currency.",
    )
    currency = models.CharField(max_length=3, default=EUR, validators=[currency_validator])
    auto_approve = models.BooleanField(
        default=False,
        help_text="Approve low and medium severity cases automatically (within a care agent's "
        "limit, without flags, within budget).",
    )
    compensation_profile_id = models.CharField(
        max_length=60, blank=True, help_text="Trutta's compensation profile, e.g. COMP-VIEN-100."
    )
    reason_code = models.CharField(
        max_length=40, help_text="Sent to Trutta and Billing, e.g. VENDOR_NO_SHOW."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "compensation policies"
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="policy_version_once"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(is_current=True), name="policy_one_current_version"
            ),
            models.CheckConstraint(
                condition=~Q(value_type="percentage_of_amount") | Q(value__lte=100),
                name="policy_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(refund_percent__lte=100), name="policy_refund_share_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("compensation:policy_detail", kwargs={"pk": self.pk})


# --- Proposals -----------------------------------------------------------------------------------


class Status(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    AUTO_APPROVED = "auto_approved", "Auto-approved"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ISSUING = "issuing", "Issuing"
    ISSUED = "issued", "Issued"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Open: something may still happen to it. Issuing is not cancellable: the rail may be paying.
CANCELLABLE = [
    Status.PROPOSED,
    Status.PENDING_APPROVAL,
    Status.AUTO_APPROVED,
    Status.APPROVED,
    Status.FAILED,
]
# Money is reserved against the budget from approval until it is issued or let go.
RESERVED = [Status.AUTO_APPROVED, Status.APPROVED, Status.ISSUING, Status.FAILED]
# A compensation the user got, or is getting: what the frequency check counts.
GRANTED = [Status.AUTO_APPROVED, Status.APPROVED, Status.ISSUING, Status.ISSUED]


class Origin(models.TextChoices):
    POLICY_JOB = "policy_job", "Policy job"
    API = "api", "Care tool (API)"
    CONSOLE = "console", "Console"


class Flag(models.TextChoices):
    FREQUENT = "frequent", "Frequent"
    FRAUD = "fraud", "Fraud flag"


class ProposalQuerySet(models.QuerySet):
    def pending(self) -> "ProposalQuerySet":
        return self.filter(status=Status.PENDING_APPROVAL)

    def granted(self) -> "ProposalQuerySet":
        return self.filter(status__in=GRANTED)


@pghistory.track()
class CompensationProposal(ConcurrentTransitionMixin, models.Model):
    """What one end user is offered for one incident (seed PD-010 §4.2), and what became of it.

    One per incident and user. The checks it went through are kept on it (`checks`), with the
    facts of the incident it was decided on, so the decision reads the same after the incident
    changes.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="+")
    user_ref = models.CharField("user", max_length=64)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.CharField(max_length=100, blank=True)
    product_version = models.CharField(max_length=100, blank=True)
    market = models.CharField(max_length=6, blank=True)
    vendor = models.CharField(max_length=100, blank=True)
    incident_category = models.CharField(max_length=20, choices=Category.choices)
    incident_severity = models.CharField(max_length=10, choices=Severity.choices)
    incident_source = models.CharField(max_length=15, choices=Source.choices)
    fault = models.CharField(max_length=10, choices=Fault.choices)
    order_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    order_currency = models.CharField(max_length=3, blank=True)
    policy = models.ForeignKey(
        CompensationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_channel = models.CharField(max_length=15, choices=Channel.choices)
    refund_percent = models.PositiveSmallIntegerField(default=0)
    proposed_value = models.JSONField(
        help_text='The seed\'s shape: {"type", "value", "cap", "currency"}.'
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    amount_eur = models.DecimalField(
        "amount (EUR)", max_digits=12, decimal_places=2, null=True, blank=True
    )
    reason_code = models.CharField(max_length=40, default="GOODWILL")
    requires_approval = models.BooleanField(default=True)
    required_role = models.CharField(max_length=20, choices=ApproverRole.choices, blank=True)
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.PROPOSED, protected=True
    )
    origin = models.CharField(max_length=12, choices=Origin.choices)
    flags = ArrayField(models.CharField(max_length=12, choices=Flag.choices), default=list)
    checks = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by_label = models.CharField(max_length=150)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The last decision (approval, automatic approval, rejection, cancellation) and why.
    decided_by_label = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    budget = models.ForeignKey(
        Budget, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    reserved_eur = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "user_ref"], name="proposal_once_per_user"),
            # Four eyes: whoever proposed a compensation cannot be the one who approves it.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | Q(proposed_by__isnull=True)
                | ~Q(approved_by=F("proposed_by")),
                name="proposal_four_eyes",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="proposal_amount_positive"),
            models.CheckConstraint(
                condition=Q(reserved_eur__gte=0), name="proposal_reserved_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at", "id"], name="proposal_queue"),
            models.Index(fields=["user_ref", "-created_at"], name="proposal_user_recent"),
            models.Index(fields=["issued_at"], name="proposal_issued"),
            GinIndex(fields=["flags"], name="proposal_flags"),
        ]
        permissions = [
            ("approve_compensationproposal", "Can approve and reject compensation proposals"),
            ("cancel_compensationproposal", "Can cancel proposals and retry failed issuing"),
            ("record_issue_result", "Can record what Trutta or Billing did with an issue"),
            ("view_cost_of_incidents", "Can see the cost of incidents"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.user_ref}"

    def get_absolute_url(self) -> str:
        return reverse("compensation:proposal_detail", kwargs={"pk": self.pk})

    @property
    def ref(self) -> str:
        return f"CMP-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in CANCELLABLE

    def check_result(self, name: str) -> dict | None:
        return next((check for check in self.checks if check["name"] == name), None)

    # --- Lifecycle (called only by compensation.operations) ------------------------------------

    @transition(field=status, source=Status.PROPOSED, target=Status.AUTO_APPROVED)
    def auto_approve(self) -> None:
        pass

    @transition(field=status, source=Status.PROPOSED, target=Status.PENDING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING_APPROVAL, target=Status.REJECTED)
    def reject(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.AUTO_APPROVED, Status.APPROVED, Status.FAILED],
        target=Status.ISSUING,
    )
    def start_issuing(self) -> None:
        pass

    @transition(field=status, source=Status.ISSUING, target=Status.ISSUED)
    def mark_issued(self) -> None:
        pass

    @transition(field=status, source=Status.ISSUING, target=Status.FAILED)
    def mark_failed(self) -> None:
        pass

    @transition(field=status, source=CANCELLABLE, target=Status.CANCELLED)
    def cancel(self) -> None:
        pass


class IssueStatus(models.TextChoices):
    ISSUING = "issuing", "Issuing"
    ISSUED = "issued", "Issued"
    FAILED = "failed", "Failed"


@pghistory.track()
class Issuance(models.Model):
    """One request to a rail — a Trutta token or a Billing refund — for one proposal: the outbox
    event that carries it (its id is the consumer's dedupe key) and the result that came back.

    A mixed proposal has a token part and a refund part; a retry after a failure is a new attempt.
    """

    proposal = models.ForeignKey(
        CompensationProposal, on_delete=models.CASCADE, related_name="issuances"
    )
    channel = models.CharField(max_length=15, choices=Channel.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    amount_eur = models.DecimalField(max_digits=12, decimal_places=2)
    event = models.OneToOneField(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=IssueStatus.choices, default=IssueStatus.ISSUING
    )
    external_reference = models.CharField(max_length=120, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["proposal", "attempt", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "channel", "attempt"], name="issuance_once_per_attempt"
            ),
            models.UniqueConstraint(
                fields=["proposal", "channel"],
                condition=Q(status__in=["issuing", "issued"]),
                name="issuance_never_twice",
            ),
        ]
        indexes = [models.Index(fields=["status", "finished_at"], name="issuance_done")]

    def __str__(self) -> str:
        return f"{self.proposal.ref} {self.channel} #{self.attempt}: {self.status}"
