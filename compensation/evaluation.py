"""What the operations read to decide a proposal, and the checks they record on it.

The decisions themselves are in rules.py; this module only fetches their inputs (rates, limits,
the user's history, fraud flags, budgets) and keeps the checks in one shape:
`{"name", "result", "detail", "at"}` with result `pass`, `flag` (allowed, but a care lead must
decide), `fail` (blocks) or `pending` (decided at approval).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from compensation import rules
from compensation.models import (
    ApprovalLimit,
    Budget,
    CompensationProposal,
    ExchangeRate,
    Flag,
    FraudFlag,
)

CHECK_ORDER = ("rate", "frequency", "fraud", "limit", "four_eyes", "budget")
CHECK_LABELS = {
    "rate": "EUR rate",
    "frequency": "Frequency",
    "fraud": "Fraud flags",
    "limit": "Approval limit",
    "four_eyes": "Four eyes",
    "budget": "Budget",
}


def rates() -> dict[str, Decimal]:
    return dict(ExchangeRate.objects.values_list("currency", "eur_per_unit"))


def limits() -> dict[str, Decimal | None]:
    return dict(ApprovalLimit.objects.values_list("role", "max_eur"))


def month_of(moment: datetime) -> date:
    return timezone.localdate(moment).replace(day=1)


def set_check(proposal: CompensationProposal, name: str, result: str, detail: str) -> None:
    """Record (or replace) one check on the proposal, keeping the checks in a fixed order."""
    checks = {check["name"]: check for check in proposal.checks}
    checks[name] = {
        "name": name,
        "result": result,
        "detail": detail,
        "at": timezone.now().isoformat(),
    }
    proposal.checks = [checks[key] for key in CHECK_ORDER if key in checks]


def set_flag(proposal: CompensationProposal, flag: str, raised: bool) -> None:
    flags = set(proposal.flags)
    flags.add(flag) if raised else flags.discard(flag)
    proposal.flags = sorted(flags)


def check_frequency(proposal: CompensationProposal) -> None:
    since = timezone.now() - timedelta(days=rules.FREQUENCY_WINDOW_DAYS)
    granted = (
        CompensationProposal.objects.granted()
        .filter(user_ref=proposal.user_ref, created_at__gte=since)
        .exclude(pk=proposal.pk)
        .count()
    )
    frequent = rules.is_frequent(granted)
    set_flag(proposal, Flag.FREQUENT, frequent)
    window = f"in the last {rules.FREQUENCY_WINDOW_DAYS} days"
    if frequent:
        set_check(
            proposal,
            "frequency",
            "flag",
            f"This would be compensation no. {granted + 1} {window} "
            f"(more than {rules.FREQUENCY_LIMIT}): a care lead decides.",
        )
    else:
        noun = "compensation" if granted == 1 else "compensations"
        set_check(proposal, "frequency", "pass", f"{granted} earlier {noun} {window}.")


def check_fraud(proposal: CompensationProposal) -> None:
    flag = FraudFlag.objects.filter(user_ref=proposal.user_ref, cleared_at__isnull=True).first()
    set_flag(proposal, Flag.FRAUD, flag is not None)
    if flag is None:
        set_check(proposal, "fraud", "pass", "No open fraud flag.")
    else:
        set_check(
            proposal,
            "fraud",
            "flag",
            f"Flagged by {flag.source}: {flag.reason}. A care lead decides.",
        )


def check_rate(proposal: CompensationProposal, known: dict[str, Decimal]) -> bool:
    """Work out the amount (in the order's currency) and its EUR value; False when a rate is
    missing, and the proposal waits for finance to add it."""
    value = proposal.proposed_value
    try:
        amount, currency = rules.proposed_amount(
            value_type=value["type"],
            value=Decimal(str(value["value"])),
            cap=Decimal(str(value["cap"])) if value.get("cap") is not None else None,
            policy_currency=value["currency"],
            order_amount=proposal.order_amount,
            order_currency=proposal.order_currency,
            rates=known,
        )
        amount_eur = rules.to_eur(amount, currency, known)
    except rules.UnknownCurrency as missing:
        proposal.amount_eur = None
        set_check(
            proposal,
            "rate",
            "fail",
            f"No exchange rate for {missing.currency}: it waits until finance adds one.",
        )
        return False
    proposal.amount, proposal.currency, proposal.amount_eur = amount, currency, amount_eur
    shown = "" if currency == rules.EUR else f"{amount} {currency} = "
    set_check(proposal, "rate", "pass", f"{shown}{amount_eur} EUR.")
    return True


def check_limit(proposal: CompensationProposal, known: dict[str, Decimal | None]) -> None:
    role = rules.required_role(proposal.amount_eur, known, flagged=bool(proposal.flags))
    proposal.required_role = role or ""
    if role is None:
        set_check(proposal, "limit", "fail", f"No role may approve {proposal.amount_eur} EUR.")
        return
    limit = known[role]
    within = "no limit" if limit is None else f"up to {limit} EUR"
    why = " because it is flagged" if proposal.flags and role != "care_agent" else ""
    set_check(
        proposal,
        "limit",
        "pending",
        f"Needs a {role.replace('_', ' ')} ({within}){why}.",
    )


def budget_for(market: str, month: date) -> Budget | None:
    return Budget.objects.filter(market=market, month=month).first()


def check_budget_headroom(proposal: CompensationProposal, month: date) -> None:
    """Before approval: would the budget take it? (Nothing is reserved yet.)"""
    budget = budget_for(proposal.market, month)
    if budget is None:
        set_check(
            proposal,
            "budget",
            "fail",
            f"No budget for {proposal.market or 'an unknown market'} in {month:%Y-%m}: "
            "finance sets one before this can be approved.",
        )
    elif budget.remaining_eur < proposal.amount_eur:
        set_check(
            proposal,
            "budget",
            "fail",
            rules.budget_refusal(
                market=budget.market,
                month=f"{month:%Y-%m}",
                remaining=budget.remaining_eur,
                amount=proposal.amount_eur,
            ),
        )
    else:
        set_check(
            proposal,
            "budget",
            "pending",
            f"{budget.remaining_eur} EUR left for {budget.market} in {month:%Y-%m}.",
        )


def reserve(proposal: CompensationProposal, month: date) -> str:
    """Reserve the proposal's EUR amount in its market's budget for `month` in one conditional
    UPDATE; returns "" on success or the refusal, saying how much is left."""
    amount = proposal.amount_eur
    budget = budget_for(proposal.market, month)
    if budget is None:
        return (
            f"No budget for {proposal.market or 'an unknown market'} in {month:%Y-%m}; "
            "finance sets budgets."
        )
    taken = Budget.objects.filter(pk=budget.pk, used_eur__lte=F("amount_eur") - amount).update(
        used_eur=F("used_eur") + amount, updated_at=timezone.now()
    )
    budget.refresh_from_db()
    if not taken:
        return rules.budget_refusal(
            market=budget.market,
            month=f"{month:%Y-%m}",
            remaining=budget.remaining_eur,
            amount=amount,
        )
    proposal.budget, proposal.reserved_eur = budget, amount
    set_check(
        proposal,
        "budget",
        "pass",
        f"Reserved {amount} EUR; {budget.remaining_eur} EUR left for {budget.market} "
        f"in {month:%Y-%m}.",
    )
    return ""


def release(proposal: CompensationProposal) -> None:
    """Give the reserved amount back to its budget (a cancelled compensation spends nothing)."""
    if proposal.budget_id and proposal.reserved_eur:
        Budget.objects.filter(pk=proposal.budget_id).update(
            used_eur=F("used_eur") - proposal.reserved_eur, updated_at=timezone.now()
        )
        set_check(proposal, "budget", "pass", f"Released {proposal.reserved_eur} EUR.")
        proposal.reserved_eur = Decimal(0)
