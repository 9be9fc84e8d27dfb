"""Reads of compensation: the queue, a proposal with its context, settings pages, the cost of
incidents, and the headline figures the founder's pulse shows (see docs/compensation.md).

Every reader of compensation data may see every proposal (there is no per-tenant scoping in
Customer Care); `viewer` is taken so that can change in one place.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from compensation import rules
from compensation.evaluation import limits, month_of
from compensation.models import (
    ApprovalLimit,
    Budget,
    CompensationPolicy,
    CompensationProposal,
    ExchangeRate,
    FraudFlag,
    Issuance,
    IssueStatus,
    Status,
)
from opsconsole.models import OperationRecord

ZERO = Decimal("0.00")


def proposal_list(*, viewer=None) -> QuerySet[CompensationProposal]:
    return CompensationProposal.objects.select_related("policy", "tenant").prefetch_related(
        Prefetch("issuances", queryset=Issuance.objects.order_by("attempt", "channel"))
    )


def proposal_get(*, pk: int, viewer=None) -> CompensationProposal | None:
    return proposal_list(viewer=viewer).filter(pk=pk).first()


def user_history(*, proposal: CompensationProposal, limit: int = 20) -> list[CompensationProposal]:
    """The same user's other compensations, newest first."""
    return list(
        CompensationProposal.objects.filter(user_ref=proposal.user_ref)
        .exclude(pk=proposal.pk)
        .order_by("-created_at", "-id")[:limit]
    )


def proposal_records(*, proposal: CompensationProposal, limit: int = 30) -> list[OperationRecord]:
    """Every operation asked of this proposal, refusals included (they leave no other trace)."""
    return list(
        OperationRecord.objects.filter(
            target_type="compensation.compensationproposal", target_id=str(proposal.pk)
        ).order_by("-id")[:limit]
    )


@dataclass(frozen=True)
class ApproverView:
    """What the signed-in person may approve, for the queue's "at a glance" column."""

    role: str
    limit_eur: Decimal | None
    user_id: int | None
    can_approve: bool

    def may_approve(self, proposal: CompensationProposal) -> bool:
        if not self.can_approve or proposal.status != Status.PENDING_APPROVAL:
            return False
        if proposal.proposed_by_id is not None and proposal.proposed_by_id == self.user_id:
            return False
        verdict = rules.approval_verdict(
            approver_roles=[self.role],
            amount_eur=proposal.amount_eur or ZERO,
            limits={self.role: self.limit_eur},
            flagged=bool(proposal.flags),
        )
        return verdict.allowed


def approver_view(*, viewer) -> ApproverView:
    roles = set(viewer.role_names())
    known = limits()
    usable = [role for role in rules.APPROVERS if role in roles and role in known]
    role = usable[-1] if usable else ""
    return ApproverView(
        role=role,
        limit_eur=known.get(role) if role else ZERO,
        user_id=viewer.pk,
        can_approve=bool(role) and viewer.has_perm("compensation.approve_compensationproposal"),
    )


# --- Settings ------------------------------------------------------------------------------------


def policy_list(*, include_retired: bool = False) -> QuerySet[CompensationPolicy]:
    policies = CompensationPolicy.objects.select_related("created_by")
    return policies if include_retired else policies.current()


def policy_versions(*, policy: CompensationPolicy) -> list[CompensationPolicy]:
    return list(
        CompensationPolicy.objects.filter(key=policy.key)
        .select_related("created_by")
        .order_by("-version")
    )


def policy_usage(*, policy: CompensationPolicy) -> int:
    return CompensationProposal.objects.filter(policy=policy).count()


def limit_list() -> list[ApprovalLimit]:
    order = {role: index for index, role in enumerate(rules.APPROVERS)}
    return sorted(
        ApprovalLimit.objects.select_related("updated_by"), key=lambda row: order[row.role]
    )


def budget_list(*, month: date) -> list[Budget]:
    return list(Budget.objects.filter(month=month).order_by("market"))


def budget_months() -> list[date]:
    return list(Budget.objects.order_by("-month").values_list("month", flat=True).distinct()[:24])


def rate_list() -> list[ExchangeRate]:
    return list(ExchangeRate.objects.select_related("updated_by"))


def fraud_flag_list(*, include_cleared: bool = False) -> QuerySet[FraudFlag]:
    flags = FraudFlag.objects.all()
    return flags if include_cleared else flags.filter(cleared_at__isnull=True)


# --- Cost of incidents ---------------------------------------------------------------------------

DIMENSIONS = {
    "month": "Month",
    "product": "Product",
    "market": "Market",
    "vendor": "Vendor",
    "incident_category": "Incident category",
}


def issued_between(start: date, end: date) -> QuerySet[Issuance]:
    """What was paid out: issued tokens and refunds, by when the rail confirmed them."""
    return Issuance.objects.filter(
        status=IssueStatus.ISSUED, finished_at__date__gte=start, finished_at__date__lt=end
    )


@dataclass(frozen=True)
class CostRow:
    key: str
    tokens_eur: Decimal
    refunds_eur: Decimal
    compensations: int

    @property
    def total_eur(self) -> Decimal:
        return self.tokens_eur + self.refunds_eur


def cost_by(*, dimension: str, start: date, end: date) -> list[CostRow]:
    """Issued tokens and refunds in EUR between `start` and `end`, grouped by a dimension,
    largest first (months in order)."""
    issued = issued_between(start, end)
    if dimension == "month":
        grouped = issued.annotate(key=TruncMonth("finished_at")).values("key")
    else:
        grouped = issued.values(key=Coalesce(f"proposal__{dimension}", "proposal__market"))
    rows = grouped.annotate(
        tokens=Coalesce(Sum("amount_eur", filter=Q(channel="trutta_token")), ZERO),
        refunds=Coalesce(Sum("amount_eur", filter=Q(channel="refund")), ZERO),
        compensations=Count("proposal", distinct=True),
    ).order_by()
    result = [
        CostRow(
            key=f"{row['key']:%Y-%m}" if dimension == "month" else (row["key"] or "—"),
            tokens_eur=row["tokens"],
            refunds_eur=row["refunds"],
            compensations=row["compensations"],
        )
        for row in rows
    ]
    if dimension == "month":
        return sorted(result, key=lambda row: row.key)
    return sorted(result, key=lambda row: (-row.total_eur, row.key))


def monthly_cost_series(*, start: date, end: date) -> dict:
    """The cost chart's data for console.js: months on x, tokens and refunds (EUR) on y."""
    rows = cost_by(dimension="month", start=start, end=end)
    by_month = {row.key: row for row in rows}
    months, cursor = [], start.replace(day=1)
    while cursor < end:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    keys = [f"{month:%Y-%m}" for month in months]
    empty = CostRow("", ZERO, ZERO, 0)
    return {
        "series": [
            {"label": "Tokens (EUR)", "color": "#2f6fde"},
            {"label": "Refunds (EUR)", "color": "#d46b08"},
            {"label": "Total (EUR)", "color": "#1b2230", "dash": [4, 3]},
        ],
        "data": [
            [int(datetime(m.year, m.month, 1, tzinfo=UTC).timestamp()) for m in months],
            [float(by_month.get(key, empty).tokens_eur) for key in keys],
            [float(by_month.get(key, empty).refunds_eur) for key in keys],
            [float(by_month.get(key, empty).total_eur) for key in keys],
        ],
        "yLabel": "EUR",
    }


# --- Headline figures (the founder's pulse) -------------------------------------------------------


@dataclass(frozen=True)
class PendingSummary:
    count: int
    value_eur: Decimal
    oldest_created_at: datetime | None
    flagged: int


def pending_summary() -> PendingSummary:
    """Proposals waiting for a person: how many, worth how much (EUR), the oldest, flagged."""
    figures = CompensationProposal.objects.pending().aggregate(
        count=Count("id"),
        value=Coalesce(Sum("amount_eur"), ZERO),
        oldest=Min("created_at"),
        flagged=Count("id", filter=~Q(flags=[])),
    )
    return PendingSummary(
        count=figures["count"],
        value_eur=figures["value"],
        oldest_created_at=figures["oldest"],
        flagged=figures["flagged"],
    )


@dataclass(frozen=True)
class MonthCost:
    this_month_eur: Decimal
    last_month_eur: Decimal

    @property
    def change_percent(self) -> int | None:
        if not self.last_month_eur:
            return None
        return round(100 * (self.this_month_eur - self.last_month_eur) / self.last_month_eur)


def cost_this_month_vs_last(*, today: date | None = None) -> MonthCost:
    """Compensation issued (tokens and refunds, EUR) this month so far, and all of last month."""
    this_month = month_of(timezone.now()) if today is None else today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)

    def total(start: date, end: date) -> Decimal:
        return issued_between(start, end).aggregate(total=Coalesce(Sum("amount_eur"), ZERO))[
            "total"
        ]

    return MonthCost(total(this_month, next_month), total(last_month, this_month))
