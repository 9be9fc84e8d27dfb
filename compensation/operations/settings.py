"""What finance and care leads configure: policies (versioned), approval limits, budgets, exchange
rates, and fraud flags."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from compensation.models import (
    ApprovalLimit,
    ApproverRole,
    Budget,
    CompensationPolicy,
    ExchangeRate,
    FraudFlag,
)
from opsconsole.registry import Actor, Conflict, Invalid, after_commit, operation

POLICY_FIELDS = (
    "name",
    "description",
    "is_active",
    "categories",
    "severities",
    "sources",
    "faults",
    "products",
    "markets",
    "priority",
    "channel",
    "refund_percent",
    "value_type",
    "value",
    "cap",
    "currency",
    "auto_approve",
    "compensation_profile_id",
    "reason_code",
)


@operation("compensation.save_policy", permission="compensation.change_compensationpolicy")
def policy_save(
    *, actor: Actor, fields: dict[str, Any], previous: CompensationPolicy | None = None
) -> CompensationPolicy:
    """Create a policy, or a new version of `previous`: the old version is kept, retired, and
    proposals made under it keep pointing at it."""
    values = {name: fields[name] for name in POLICY_FIELDS if name in fields}
    if previous is None:
        key = slugify(fields.get("key") or values.get("name", ""))[:60]
        if not key:
            raise Invalid("Name the policy.", fields={"name": ["Required."]})
        if CompensationPolicy.objects.filter(key=key).exists():
            raise Conflict(
                f"A policy with the key {key!r} exists; edit it instead.",
                fields={"name": ["Taken; choose another name."]},
            )
        version = 1
    else:
        current = (
            CompensationPolicy.objects.select_for_update().filter(key=previous.key).current().get()
        )
        if current.pk != previous.pk:
            raise Conflict(
                f"{previous} was replaced by version {current.version} meanwhile; "
                "reload and edit that.",
                code="stale_version",
            )
        key = previous.key
        values = {name: getattr(previous, name) for name in POLICY_FIELDS} | values
        version = (
            CompensationPolicy.objects.filter(key=key).aggregate(top=Max("version"))["top"] + 1
        )
        CompensationPolicy.objects.filter(pk=previous.pk).update(is_current=False)
    policy = CompensationPolicy(key=key, version=version, created_by=actor.user, **values)
    policy.full_clean(validate_unique=False, validate_constraints=False)
    policy.save()
    return policy


@operation(
    "compensation.set_approval_limit",
    permission="compensation.change_approvallimit",
)
def approval_limit_set(*, actor: Actor, role: str, max_eur: Decimal | None) -> ApprovalLimit:
    """Set the most a role may approve for one proposal (None: no limit)."""
    if role not in ApproverRole.values:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": ["Choose an approving role."]})
    if max_eur is not None and max_eur < 0:
        raise Invalid("A limit cannot be negative.", fields={"max_eur": ["At least 0."]})
    limit, _ = ApprovalLimit.objects.select_for_update().get_or_create(role=role)
    limit.max_eur, limit.updated_by = max_eur, actor.user
    limit.save()
    return limit


@operation("compensation.set_budget", permission="compensation.change_budget")
def budget_set(*, actor: Actor, market: str, month: date, amount_eur: Decimal) -> Budget:
    """Set a market's compensation budget for a month; never below what is reserved already."""
    month = month.replace(day=1)
    if amount_eur < 0:
        raise Invalid("A budget cannot be negative.", fields={"amount_eur": ["At least 0."]})
    budget = Budget.objects.select_for_update().filter(market=market, month=month).first()
    if budget is None:
        budget = Budget(market=market, month=month, amount_eur=amount_eur, updated_by=actor.user)
        budget.full_clean(validate_unique=False, validate_constraints=False)
    elif amount_eur < budget.used_eur:
        raise Invalid(
            f"{budget.used_eur} EUR of {market}'s {month:%Y-%m} budget is reserved already; "
            "the budget cannot be less.",
            fields={"amount_eur": [f"At least {budget.used_eur}."]},
        )
    budget.amount_eur, budget.updated_by = amount_eur, actor.user
    budget.save()
    return budget


@operation("compensation.set_exchange_rate", permission="compensation.change_exchangerate")
def exchange_rate_set(*, actor: Actor, currency: str, eur_per_unit: Decimal) -> ExchangeRate:
    """Set what one unit of a currency is worth in EUR; proposals waiting for it move on."""
    currency = currency.strip().upper()
    if currency == "EUR" and eur_per_unit != 1:
        raise Invalid("1 EUR is 1 EUR.", fields={"eur_per_unit": ["Must be 1 for EUR."]})
    if eur_per_unit <= 0:
        raise Invalid("A rate is more than 0.", fields={"eur_per_unit": ["More than 0."]})
    rate = ExchangeRate.objects.select_for_update().filter(currency=currency).first()
    rate = rate or ExchangeRate(currency=currency)
    rate.eur_per_unit, rate.updated_by = eur_per_unit, actor.user
    rate.full_clean(validate_unique=False, validate_constraints=False)
    rate.save()

    def route_waiting() -> None:
        from compensation.tasks import propose_task
        from opsconsole.jobs import enqueue

        enqueue(propose_task)

    after_commit(route_waiting)
    return rate


@operation(
    "compensation.flag_fraud",
    permission="compensation.change_fraudflag",
    scope="compensation:write",
)
def fraud_flag_raise(*, actor: Actor, user_ref: str, reason: str, source: str = "") -> FraudFlag:
    """Flag a user as suspected of abuse (Trutta sends these); one open flag per user."""
    user_ref, reason = user_ref.strip(), reason.strip()
    if not user_ref or not reason:
        raise Invalid(
            "Say which user and why.",
            fields={
                name: ["Required."]
                for name, value in (("user_ref", user_ref), ("reason", reason))
                if not value
            },
        )
    open_flag = FraudFlag.objects.filter(user_ref=user_ref, cleared_at__isnull=True).first()
    if open_flag is not None:
        return open_flag
    return FraudFlag.objects.create(
        user_ref=user_ref,
        reason=reason[:300],
        source=(source or ("trutta" if actor.api_key else actor.label))[:40],
        raised_at=timezone.now(),
    )


@operation("compensation.clear_fraud_flag", permission="compensation.change_fraudflag")
def fraud_flag_clear(*, actor: Actor, user_ref: str, reason: str) -> FraudFlag:
    """Clear a user's open fraud flag, saying why."""
    flag = (
        FraudFlag.objects.select_for_update()
        .filter(user_ref=user_ref.strip(), cleared_at__isnull=True)
        .first()
    )
    if flag is None:
        raise Conflict(f"{user_ref} has no open fraud flag.")
    if len(reason.strip()) < 5:
        raise Invalid("Say why the flag is cleared.", fields={"reason": ["At least 5 characters."]})
    flag.cleared_at = timezone.now()
    flag.save()
    return flag
