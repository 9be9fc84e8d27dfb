"""Pure decisions about compensation: which policy applies, whose fault it was, how much, who may
approve it, and what each check concludes.

No ORM, no I/O: plain values in, plain values out, table-tested in tests/compensation/test_rules.py.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
EUR = "EUR"
FAULTS = ("vendor", "platform", "mixed")

# Roles that approve, least senior first; flagged cases need at least a care lead.
APPROVERS = ("care_agent", "care_lead", "finance")
FLAGGED_CASE_ROLE = "care_lead"

# "More than 3 compensations in 30 days" — counting the one being decided.
FREQUENCY_WINDOW_DAYS = 30
FREQUENCY_LIMIT = 3

AUTO_SEVERITIES = ("low", "medium")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- Fault ---------------------------------------------------------------------------------------


def fault_of(*, category: str, context: Mapping[str, object], vendor: str = "") -> str:
    """Whose fault an incident was: the incident's own say (context `fault`) first; a vendor
    incident, or one that names a vendor, is the vendor's; anything else is the platform's."""
    stated = str(context.get("fault") or "").lower()
    if stated in FAULTS:
        return stated
    if category == "vendor" or context.get("vendor") or context.get("vendor_id") or vendor:
        return "vendor"
    return "platform"


# --- Policy matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """The facts a policy is matched against."""

    category: str
    severity: str
    source: str
    fault: str
    product: str = ""
    market: str = ""


@dataclass(frozen=True)
class PolicyCriteria:
    """A policy's match lists; an empty list matches anything."""

    id: int
    priority: int = 100
    categories: Sequence[str] = ()
    severities: Sequence[str] = ()
    sources: Sequence[str] = ()
    faults: Sequence[str] = ()
    products: Sequence[str] = ()
    markets: Sequence[str] = ()

    def _criteria(self, case: Case) -> list[tuple[Sequence[str], str]]:
        return [
            (self.categories, case.category),
            (self.severities, case.severity),
            (self.sources, case.source),
            (self.faults, case.fault),
            (self.products, case.product),
            (self.markets, case.market),
        ]

    def matches(self, case: Case) -> bool:
        return all(not allowed or value in allowed for allowed, value in self._criteria(case))

    @property
    def specificity(self) -> int:
        return sum(bool(allowed) for allowed, _ in self._criteria(Case("", "", "", "")))


def match_policy(policies: Iterable[PolicyCriteria], case: Case) -> PolicyCriteria | None:
    """The policy for a case: among those that match, the most specific (the most criteria
    given), then the lowest priority number, then the oldest."""
    matching = [policy for policy in policies if policy.matches(case)]
    if not matching:
        return None
    return min(matching, key=lambda policy: (-policy.specificity, policy.priority, policy.id))


# --- Money ---------------------------------------------------------------------------------------


class UnknownCurrency(ValueError):
    def __init__(self, currency: str):
        super().__init__(f"No exchange rate for {currency}.")
        self.currency = currency


def _rate(currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    if currency == EUR:
        return Decimal(1)
    if currency not in rates:
        raise UnknownCurrency(currency)
    return rates[currency]


def convert(amount: Decimal, source: str, target: str, rates: Mapping[str, Decimal]) -> Decimal:
    """`amount` in `source` as `target`, through EUR; `rates` maps a currency to what one unit
    is worth in EUR."""
    if source == target:
        return cents(amount)
    return cents(amount * _rate(source, rates) / _rate(target, rates))


def to_eur(amount: Decimal, currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    return convert(amount, currency, EUR, rates)


class NoOrderAmount(ValueError):
    pass


def proposed_amount(
    *,
    value_type: str,
    value: Decimal,
    cap: Decimal | None,
    policy_currency: str,
    order_amount: Decimal | None,
    order_currency: str,
    rates: Mapping[str, Decimal],
) -> tuple[Decimal, str]:
    """What the user is offered, in the currency of their order (a refund can only go back in
    it); fixed values and caps are stated in the policy's currency and converted."""
    currency = order_currency or policy_currency
    if value_type == "fixed":
        return convert(value, policy_currency, currency, rates), currency
    if order_amount is None:
        raise NoOrderAmount("A percentage of the order needs the order amount.")
    amount = cents(order_amount * value / 100)
    if cap is not None:
        amount = min(amount, convert(cap, policy_currency, currency, rates))
    return amount, currency


def split_mixed(amount: Decimal, refund_percent: int) -> tuple[Decimal, Decimal]:
    """A mixed compensation as (token part, refund part); the parts add up to the whole."""
    refund = cents(amount * refund_percent / 100)
    return amount - refund, refund


def parts(channel: str, amount: Decimal, refund_percent: int) -> list[tuple[str, Decimal]]:
    """The rails a compensation goes out on, with each one's amount (parts of zero are skipped)."""
    if channel == "mixed":
        token, refund = split_mixed(amount, refund_percent)
        return [
            (name, part) for name, part in (("trutta_token", token), ("refund", refund)) if part
        ]
    return [(channel, amount)]


# --- Checks --------------------------------------------------------------------------------------


def is_frequent(granted_in_window: int) -> bool:
    """`granted_in_window` counts the user's compensations in the window before this one."""
    return granted_in_window + 1 > FREQUENCY_LIMIT


def required_role(
    amount_eur: Decimal, limits: Mapping[str, Decimal | None], *, flagged: bool
) -> str | None:
    """The least senior role that may approve this amount (a flagged case at least a care
    lead); None when no role's limit covers it."""
    start = APPROVERS.index(FLAGGED_CASE_ROLE) if flagged else 0
    for role in APPROVERS[start:]:
        if role in limits and (limits[role] is None or amount_eur <= limits[role]):
            return role
    return None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    role: str = ""


def approval_verdict(
    *,
    approver_roles: Iterable[str],
    amount_eur: Decimal,
    limits: Mapping[str, Decimal | None],
    flagged: bool,
) -> Verdict:
    """May a person with these roles approve this amount? They act in their most generous role."""
    roles = [role for role in APPROVERS if role in set(approver_roles) and role in limits]
    if flagged:
        roles = [role for role in roles if APPROVERS.index(role) >= 1]
        if not roles:
            return Verdict(False, "This case is flagged: a care lead or finance must approve it.")
    if not roles:
        return Verdict(False, "Your role has no approval limit.")
    best = roles[-1]
    limit = limits[best]
    if limit is not None and amount_eur > limit:
        return Verdict(
            False,
            f"{amount_eur} EUR is over your limit of {limit} EUR as {best.replace('_', ' ')}.",
            best,
        )
    shown = "no limit" if limit is None else f"limit {limit} EUR"
    return Verdict(True, f"Within {best.replace('_', ' ')} {shown}.", best)


def auto_approvable(
    *,
    policy_allows: bool,
    value_from_policy: bool,
    severity: str,
    flags: Sequence[str],
    amount_eur: Decimal,
    auto_limit: Decimal | None,
) -> tuple[bool, str]:
    """Can the system approve this without a person? Only what the policy allows, for low and
    medium severity, unflagged, and within what the least senior approver could approve."""
    if not policy_allows:
        return False, "The policy asks for a person's approval."
    if not value_from_policy:
        return False, "The value was set by a person, so another person approves it."
    if severity not in AUTO_SEVERITIES:
        return False, f"{severity.capitalize()} severity needs a person's approval."
    if flags:
        return False, f"Flagged ({', '.join(flags)})."
    if auto_limit is not None and amount_eur > auto_limit:
        return False, f"Over the automatic limit of {auto_limit} EUR."
    return True, "Policy approves low and medium severity cases automatically."


def budget_refusal(*, market: str, month: str, remaining: Decimal, amount: Decimal) -> str:
    return (
        f"Over budget: {market} has {remaining} EUR left for {month}; "
        f"this compensation needs {amount} EUR."
    )
