"""Compensation's demo: rates, limits, budgets, policies (one edited, so it has two versions), and
six months of incidents whose affected users became proposals in every state.

Idempotent: policies by key, budgets and rates by natural key, incidents by fingerprint, affected
users and proposals once per incident and user; decisions are only taken on proposals still
waiting for them. Past months are played at their own dates (time-machine) so the cost chart and
the budgets have history. Everything goes through operations.
"""

from datetime import timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from compensation.models import CompensationPolicy, CompensationProposal, Status
from compensation.operations import (
    budget_set,
    exchange_rate_set,
    fraud_flag_raise,
    issue_result_record,
    policy_save,
    proposal_approve,
    proposal_cancel,
    proposal_issue,
    proposal_reject,
    proposals_create_for_affected_users,
)
from incidents.operations import affected_users_attach, incident_open_or_update
from incidents.selectors import affected_users_after
from opsconsole.demo import MARKETS, DemoContext
from opsconsole.registry import Actor

RATES = {"CZK": "0.040", "PLN": "0.230", "GBP": "1.170", "USD": "0.920"}  # no HUF: one waits
CURRENCY = {"CZ-PRG": "CZK", "PL-WAW": "PLN", "GB-LON": "GBP"}

POLICIES = [
    {
        "key": "vendor-no-show",
        "name": "Vendor no-show: full value as tokens",
        "faults": ["vendor"],
        "channel": "trutta_token",
        "value_type": "percentage_of_amount",
        "value": Decimal("100"),
        "cap": Decimal("50"),
        "auto_approve": True,
        "compensation_profile_id": "COMP-VIEN-COFFEE-100",
        "reason_code": "VENDOR_NO_SHOW",
    },
    {
        "key": "platform-outage",
        "name": "Platform outage: money back",
        "faults": ["platform"],
        "severities": ["high", "critical"],
        "channel": "refund",
        "value_type": "percentage_of_amount",
        "value": Decimal("100"),
        "cap": Decimal("400"),
        "reason_code": "PLATFORM_OUTAGE",
    },
    {
        "key": "payment-failure",
        "name": "Payment failure: half back, half tokens",
        "categories": ["payment"],
        "channel": "mixed",
        "refund_percent": 50,
        "value_type": "percentage_of_amount",
        "value": Decimal("60"),
        "cap": Decimal("120"),
        "reason_code": "PAYMENT_FAILED",
        "priority": 10,
    },
    {
        "key": "slow-journey",
        "name": "Slow journey: goodwill token",
        "categories": ["latency"],
        "channel": "trutta_token",
        "value_type": "fixed",
        "value": Decimal("5"),
        "auto_approve": True,
        "compensation_profile_id": "COMP-GOODWILL-5",
        "reason_code": "SLOW_SERVICE",
    },
]

# (category, severity, source, context) per incident of a month; the vendor ones dominate.
INCIDENTS = [
    ("vendor", "medium", "tjm", {"vendor": "VEN-123"}),
    ("vendor", "low", "lem", {"vendor": "VEN-207"}),
    ("availability", "high", "monitoring", {}),
    ("payment", "high", "prg", {}),
    ("latency", "low", "tjm", {}),
    ("vendor", "high", "tjm", {"vendor": "VEN-311"}),
]
PRODUCTS = ["coffee-pass", "city-tour", "museum-pass", "airport-ride"]


def seed(context: DemoContext) -> None:
    system = context.actor
    for currency, rate in RATES.items():
        exchange_rate_set(actor=system, currency=currency, eur_per_unit=Decimal(rate)).unwrap()
    _policies(system)
    fraud_flag_raise(actor=system, user_ref="USR-4407", reason="Chargeback pattern").unwrap()
    months = [_month_start(context.now, back) for back in range(5, -1, -1)]
    for month in months:
        for market in MARKETS:
            amount = Decimal("3000") if market == "AT-VIE" else Decimal("1500")
            budget_set(actor=system, market=market, month=month, amount_eur=amount).unwrap()
    for index, month in enumerate(months):
        moment = timezone.make_aware(timezone.datetime(month.year, month.month, 12, 10))
        is_current = index == len(months) - 1
        moment = context.now - timedelta(hours=30) if is_current else moment
        with time_machine.travel(moment, tick=True):
            _play_month(context, index, is_current)
    waiting = CompensationProposal.objects.filter(status=Status.PENDING_APPROVAL).count()
    context.say(
        f"  proposals: {CompensationProposal.objects.count()} ({waiting} pending approval), "
        f"policies: {CompensationPolicy.objects.current().count()}"
    )


def _month_start(now, back: int):
    month = now.date().replace(day=1)
    for _ in range(back):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def _policies(system: Actor) -> None:
    for fields in POLICIES:
        if not CompensationPolicy.objects.filter(key=fields["key"]).exists():
            policy_save(actor=system, fields={**fields, "currency": "EUR"}).unwrap()
    first = CompensationPolicy.objects.current().get(key="vendor-no-show")
    if first.version == 1:  # finance raised the cap once: two versions to compare
        policy_save(actor=system, previous=first, fields={"cap": Decimal("60")}).unwrap()


def _play_month(context: DemoContext, index: int, is_current: bool) -> None:
    system, rng = context.actor, context.rng
    for number, (category, severity, source, extra) in enumerate(INCIDENTS):
        market = MARKETS[(index + number) % len(MARKETS)]
        incident = incident_open_or_update(
            actor=system,
            fingerprint=f"demo-comp-{index}-{number}",
            title=f"{category.capitalize()} trouble in {market} ({severity})",
            component="tjm-booking" if category == "vendor" else "checkout",
            category=category,
            severity=severity,
            source=source,
            message="Customers could not complete their journey",
            context={"market": market, **extra},
        ).unwrap()
        users = [
            {
                "user_ref": f"USR-{4400 + (index * 7 + number * 3 + n) % 40}",
                "order_amount": Decimal(rng.choice([12, 18, 24, 35, 48, 75, 140, 260])),
                "currency": CURRENCY.get(market, "EUR"),
                "market": market,
                "product": rng.choice(PRODUCTS),
                "product_version": "PRDV-2026.1",
                "vendor": extra.get("vendor", ""),
            }
            for n in range(4)
        ]
        if is_current and number == 0:
            users.append({**users[0], "user_ref": "USR-HUF-1", "currency": "HUF"})
        affected_users_attach(actor=system, incident=incident, users=users, source="context")
    proposals_create_for_affected_users(
        actor=system, affected=affected_users_after(after_id=0, limit=5000)
    ).unwrap()
    if not is_current:
        _decide_and_issue(context, complete=True)
    else:
        _decide_and_issue(context, complete=False)


def _decide_and_issue(context: DemoContext, *, complete: bool) -> None:
    """Past months: nearly everything decided and issued. This month: a queue to work through,
    and a few of each later state."""
    lead = Actor(user=context.users["carelead"])
    finance = Actor(user=context.users["finance"])
    care = Actor(user=context.users["care"])
    pending = list(CompensationProposal.objects.filter(status=Status.PENDING_APPROVAL))
    for position, proposal in enumerate(pending):
        if not complete and position % 3:
            continue  # left for the care team
        if position % 7 == 6:
            proposal_reject(
                actor=care, proposal=proposal, reason="Already refunded by the vendor directly"
            )
        else:
            approver = finance if (proposal.amount_eur or 0) > 500 else lead
            proposal_approve(actor=approver, proposal=proposal)
    approved = list(
        CompensationProposal.objects.filter(status__in=[Status.APPROVED, Status.AUTO_APPROVED])
    )
    for position, proposal in enumerate(approved):
        if not complete and position % 4 == 0:
            continue  # approved, not yet sent
        if not complete and position % 4 == 1:
            proposal_cancel(actor=lead, proposal=proposal, reason="Customer closed the account")
            continue
        proposal_issue(actor=context.actor, proposal=proposal)
        if not complete and position % 4 == 2:
            continue  # still issuing
        outcome = "failed" if position % 9 == 8 else "issued"
        for issuance in proposal.issuances.all():
            issue_result_record(
                actor=context.actor,
                proposal=proposal,
                status=outcome,
                event_id=str(issuance.event_id),
                external_reference=f"EXT-{issuance.event_id.hex[:8].upper()}",
                message="Trutta profile paused" if outcome == "failed" else "",
            )
