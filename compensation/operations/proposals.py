"""Making proposals: from the policy job (one per incident and user, however often it runs), from
Customer Care tools and the console, and routing each one — automatic approval or the queue.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone

from compensation import rules
from compensation.evaluation import (
    check_budget_headroom,
    check_fraud,
    check_frequency,
    check_limit,
    check_rate,
    limits,
    month_of,
    rates,
    reserve,
    set_check,
)
from compensation.models import (
    Channel,
    CompensationPolicy,
    CompensationProposal,
    Origin,
    Status,
    ValueType,
    currency_validator,
)
from incidents.models import AffectedUser, Incident
from incidents.selectors import affected_user_get
from opsconsole.models import User
from opsconsole.registry import Actor, Conflict, Invalid, after_commit, operation

# --- Routing: proposed → auto-approved | pending approval ----------------------------------------


def kick_issue(proposal_id: int) -> None:
    from compensation.tasks import issue_task
    from opsconsole.jobs import enqueue

    enqueue(issue_task, proposal_id)


def route(proposal: CompensationProposal) -> None:
    """Work out the amount and run the checks; approve automatically what the policy allows, queue
    the rest for a person. Without an exchange rate the proposal stays `proposed` and waits."""
    if not check_rate(proposal, rates()):
        proposal.save()
        return
    check_frequency(proposal)
    check_fraud(proposal)
    known_limits = limits()
    check_limit(proposal, known_limits)
    month = month_of(timezone.now())
    policy = proposal.policy
    automatic, why = rules.auto_approvable(
        policy_allows=bool(policy and policy.auto_approve),
        value_from_policy=policy is not None,
        severity=proposal.incident_severity,
        flags=proposal.flags,
        amount_eur=proposal.amount_eur,
        auto_limit=known_limits.get("care_agent", Decimal(0)),
    )
    if automatic:
        refusal = reserve(proposal, month)
        if not refusal:
            _approve_automatically(proposal, why)
            return
        set_check(proposal, "budget", "fail", refusal)
    else:
        check_budget_headroom(proposal, month)
        limit_check = proposal.check_result("limit")
        set_check(proposal, "limit", limit_check["result"], f"{limit_check['detail']} {why}")
    set_check(
        proposal,
        "four_eyes",
        "pending",
        f"Proposed by {proposal.proposed_by_label}; "
        + (
            "anyone else with the limit may approve."
            if proposal.proposed_by_id
            else "any approver with the limit may approve."
        ),
    )
    proposal.requires_approval = True
    proposal.submit()
    proposal.save()


def _approve_automatically(proposal: CompensationProposal, why: str) -> None:
    policy = proposal.policy
    proposal.auto_approve()
    proposal.requires_approval = False
    proposal.decided_by_label = f"system (policy {policy.key} v{policy.version})"
    proposal.decided_at = timezone.now()
    proposal.decision_reason = why
    set_check(proposal, "limit", "pass", f"Automatic: within the care agent limit. {why}")
    set_check(proposal, "four_eyes", "pass", "Approved by policy; no person proposed it.")
    proposal.save()
    pk = proposal.pk
    after_commit(lambda: kick_issue(pk))


# --- From the policy job -------------------------------------------------------------------------


def _criteria(policy: CompensationPolicy) -> rules.PolicyCriteria:
    return rules.PolicyCriteria(
        id=policy.pk,
        priority=policy.priority,
        categories=policy.categories,
        severities=policy.severities,
        sources=policy.sources,
        faults=policy.faults,
        products=policy.products,
        markets=policy.markets,
    )


@dataclass(frozen=True)
class Facts:
    """What a proposal is decided on: the incident's facts and the affected user's order."""

    case: rules.Case
    product_version: str
    vendor: str


def facts_of(incident: Incident, affected: AffectedUser | None) -> Facts:
    context = incident.context or {}
    vendor = (affected.vendor if affected else "") or str(context.get("vendor", "") or "")
    return Facts(
        case=rules.Case(
            category=incident.category,
            severity=incident.severity,
            source=incident.source,
            fault=rules.fault_of(category=incident.category, context=context, vendor=vendor),
            product=(affected.product if affected else "") or str(context.get("product", "") or ""),
            market=(affected.market if affected else "") or str(context.get("market", "") or ""),
        ),
        product_version=(affected.product_version if affected else "")
        or str(context.get("product_version", "") or ""),
        vendor=vendor,
    )


def policy_value(policy: CompensationPolicy) -> dict:
    """The seed's `proposed_value` shape for a policy."""
    return {
        "type": policy.value_type,
        "value": str(policy.value),
        "cap": str(policy.cap) if policy.cap is not None else None,
        "currency": policy.currency,
    }


def _from_policy(
    affected: AffectedUser, facts: Facts, policy: CompensationPolicy, actor: Actor
) -> CompensationProposal:
    return CompensationProposal(
        incident=affected.incident,
        user_ref=affected.user_ref,
        tenant_id=affected.tenant_id,
        product=facts.case.product,
        product_version=facts.product_version,
        market=facts.case.market,
        vendor=facts.vendor,
        incident_category=facts.case.category,
        incident_severity=facts.case.severity,
        incident_source=facts.case.source,
        fault=facts.case.fault,
        order_amount=affected.order_amount,
        order_currency=affected.currency or "",
        policy=policy,
        proposed_channel=policy.channel,
        refund_percent=policy.refund_percent,
        proposed_value=policy_value(policy),
        reason_code=policy.reason_code,
        amount=Decimal(0),
        currency=affected.currency or policy.currency,
        origin=Origin.POLICY_JOB,
        proposed_by_label=actor.label,
    )


@operation("compensation.propose_for_affected_users")
def proposals_create_for_affected_users(
    *, actor: Actor, affected: list[AffectedUser]
) -> dict[str, int]:
    """Apply the current policies to affected users: one proposal per incident and user, made
    once (a unique constraint and ON CONFLICT DO NOTHING), then routed. Returns counts."""
    policies = {
        policy.pk: policy for policy in CompensationPolicy.objects.current().filter(is_active=True)
    }
    criteria = [_criteria(policy) for policy in policies.values()]
    counts = {"created": 0, "no_policy": 0, "no_order_amount": 0}
    rows = []
    for user in affected:
        facts = facts_of(user.incident, user)
        match = rules.match_policy(criteria, facts.case)
        if match is None:
            counts["no_policy"] += 1
            continue
        policy = policies[match.id]
        if policy.value_type == ValueType.PERCENTAGE_OF_AMOUNT and user.order_amount is None:
            counts["no_order_amount"] += 1
            continue
        rows.append(_from_policy(user, facts, policy, actor))
    if not rows:
        return counts
    CompensationProposal.objects.bulk_create(rows, ignore_conflicts=True)
    # What this call inserted is exactly what is still `proposed` among these pairs: proposals
    # committed by others were routed in their own transaction.
    pairs = Q()
    for row in rows:
        pairs |= Q(incident_id=row.incident_id, user_ref=row.user_ref)
    created = (
        CompensationProposal.objects.filter(pairs, status=Status.PROPOSED)
        .select_related("policy")
        .select_for_update(of=("self",))
    )
    for proposal in created:
        route(proposal)
        counts["created"] += 1
    return counts


@operation("compensation.route_waiting")
def proposals_route_waiting(*, actor: Actor, limit: int = 500) -> int:
    """Route proposals still waiting (for an exchange rate); returns how many left `proposed`."""
    waiting = (
        CompensationProposal.objects.filter(status=Status.PROPOSED)
        .select_related("policy")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")[:limit]
    )
    routed = 0
    for proposal in waiting:
        route(proposal)
        routed += proposal.status != Status.PROPOSED
    return routed


# --- From Customer Care tools and the console ----------------------------------------------------


def _clean_value(channel: str, value: dict) -> dict:
    """The seed's proposed_value, checked; errors name the field."""
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["proposed_channel"] = [f"One of {', '.join(Channel.values)}."]
    kind = value.get("type")
    if kind not in ValueType.values:
        errors["proposed_value.type"] = [f"One of {', '.join(ValueType.values)}."]
    try:
        number = Decimal(str(value.get("value")))
        if number < 0 or (kind == ValueType.PERCENTAGE_OF_AMOUNT and number > 100):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["proposed_value.value"] = ["A number from 0 (and at most 100 for a percentage)."]
    cap = value.get("cap")
    if cap is not None:
        try:
            if Decimal(str(cap)) < 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["proposed_value.cap"] = ["A number from 0, or null."]
    currency = str(value.get("currency") or "EUR")
    try:
        currency_validator(currency)
    except Exception:
        errors["proposed_value.currency"] = ["An ISO 4217 code like EUR."]
    if errors:
        raise Invalid("The proposed value is not valid.", fields=errors)
    return {
        "type": kind,
        "value": str(number),
        "cap": str(Decimal(str(cap))) if cap is not None else None,
        "currency": currency,
    }


@operation(
    "compensation.propose",
    permission="compensation.add_compensationproposal",
    scope="compensation:write",
)
def proposal_create(
    *,
    actor: Actor,
    incident: Incident,
    user_ref: str,
    order_amount: Decimal | None = None,
    order_currency: str = "",
    product: str = "",
    product_version: str = "",
    market: str = "",
    vendor: str = "",
    tenant_id: int | None = None,
    proposed_channel: str = "",
    proposed_value: dict | None = None,
    reason_code: str = "",
    note: str = "",
    proposed_by: User | None = None,
) -> CompensationProposal:
    """Propose a compensation for one user of an incident. Without a channel and value the
    matching policy decides them; a value a person sets always goes to another person."""
    user_ref = user_ref.strip()
    if not user_ref:
        raise Invalid("Say which user.", fields={"user_ref": ["Required."]})
    existing = CompensationProposal.objects.filter(incident=incident, user_ref=user_ref).first()
    if existing is not None:
        raise Conflict(
            f"{existing.ref} already compensates {user_ref} for this incident.",
            code="duplicate",
        )
    affected = affected_user_get(incident_id=incident.pk, user_ref=user_ref)
    if affected is not None:
        order_amount = order_amount if order_amount is not None else affected.order_amount
        order_currency = order_currency or affected.currency
        tenant_id = tenant_id or affected.tenant_id
    facts = facts_of(incident, affected)
    case = rules.Case(
        category=facts.case.category,
        severity=facts.case.severity,
        source=facts.case.source,
        fault=facts.case.fault,
        product=product or facts.case.product,
        market=market or facts.case.market,
    )
    policy = None
    if proposed_value is None:
        current = {p.pk: p for p in CompensationPolicy.objects.current().filter(is_active=True)}
        match = rules.match_policy([_criteria(p) for p in current.values()], case)
        if match is None:
            raise Invalid(
                "No policy matches this incident and user; give proposed_channel and "
                "proposed_value.",
                fields={"proposed_value": ["Required when no policy matches."]},
            )
        policy = current[match.id]
        proposed_channel, value = policy.channel, policy_value(policy)
        refund_percent, reason_code = policy.refund_percent, policy.reason_code
    else:
        value = _clean_value(proposed_channel, proposed_value)
        refund_percent = 50
    if value["type"] == ValueType.PERCENTAGE_OF_AMOUNT and order_amount is None:
        raise Invalid(
            "A percentage of the order needs the order amount.",
            fields={"order_amount": ["Required for a percentage of the order."]},
        )
    proposer = actor.user or proposed_by
    proposal = CompensationProposal.objects.create(
        incident=incident,
        user_ref=user_ref,
        tenant_id=tenant_id,
        product=case.product,
        product_version=product_version or facts.product_version,
        market=case.market,
        vendor=vendor or facts.vendor,
        incident_category=case.category,
        incident_severity=case.severity,
        incident_source=case.source,
        fault=case.fault,
        order_amount=order_amount,
        order_currency=order_currency or "",
        policy=policy,
        proposed_channel=proposed_channel,
        refund_percent=refund_percent,
        proposed_value=value,
        reason_code=(reason_code or "GOODWILL")[:40],
        amount=Decimal(0),
        currency=order_currency or value["currency"],
        origin=Origin.API if actor.api_key else Origin.CONSOLE,
        note=note.strip(),
        proposed_by=proposer,
        proposed_by_label=(
            f"{proposer.get_username()} via {actor.label}"
            if proposer and actor.api_key
            else actor.label
        ),
    )
    route(proposal)
    return proposal
