"""Compensation fixtures: incidents with affected users (made through the incidents
operations), policies, budgets, and people in each approving role."""

from datetime import date
from decimal import Decimal
from importlib import import_module

import pytest
from django.utils import timezone

from compensation.operations import budget_set, policy_save, proposals_create_for_affected_users
from incidents.operations import affected_users_attach, incident_open_or_update
from incidents.selectors import affected_users_after
from opsconsole.registry import Actor

MARKET = "AT-VIE"


def this_month() -> date:
    return timezone.localdate().replace(day=1)


@pytest.fixture(autouse=True)
def _default_limits_and_euro(request):
    """The data migration's limits and EUR rate, again after a transactional test's flush."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from django.apps import apps

    import_module("compensation.migrations.0002_default_limits").create(apps, None)


@pytest.fixture
def make_incident(system):
    count = iter(range(1, 1_000_000))

    def make(*, severity="low", category="vendor", source="tjm", context=None):
        number = next(count)
        return incident_open_or_update(
            actor=system,
            fingerprint=f"comp-{number}",
            title=f"Vendor no-show {number}",
            component="tjm-booking",
            category=category,
            severity=severity,
            source=source,
            message="Vendor did not show up",
            context=context if context is not None else {"vendor": "VEN-123", "market": MARKET},
        ).unwrap()

    return make


@pytest.fixture
def attach(system):
    def add(incident, *users: dict):
        rows = [
            {
                "user_ref": user.get("user_ref", f"USR-{index}"),
                "order_amount": user.get("order_amount", Decimal("20.00")),
                "currency": user.get("currency", "EUR"),
                "market": user.get("market", MARKET),
                "product": user.get("product", "coffee-pass"),
                "product_version": "PRDV-1",
                "vendor": user.get("vendor", "VEN-123"),
            }
            for index, user in enumerate(users)
        ]
        return affected_users_attach(
            actor=system, incident=incident, users=rows, source="manual"
        ).unwrap()

    return add


@pytest.fixture
def make_policy(system):
    def make(**fields):
        values = {
            "name": fields.pop("name", "Vendor no-show"),
            "channel": "trutta_token",
            "value_type": "percentage_of_amount",
            "value": Decimal("100"),
            "cap": Decimal("50"),
            "currency": "EUR",
            "auto_approve": False,
            "reason_code": "VENDOR_NO_SHOW",
            "compensation_profile_id": "COMP-VIEN-COFFEE-100",
            **fields,
        }
        return policy_save(actor=system, fields=values).unwrap()

    return make


@pytest.fixture
def budget(system):
    return budget_set(
        actor=system, market=MARKET, month=this_month(), amount_eur=Decimal("1000")
    ).unwrap()


@pytest.fixture
def run_policies(system):
    """Apply the policies to every affected user (what the job does, without the job)."""

    def run() -> dict:
        users = affected_users_after(after_id=0, limit=10_000)
        return proposals_create_for_affected_users(actor=system, affected=users).unwrap()

    return run


@pytest.fixture
def people(make_user):
    """One person in each approving role, as actors."""
    return {
        role: Actor(user=make_user(role, username=f"{role}-person"))
        for role in ("care_agent", "care_lead", "finance")
    }


@pytest.fixture
def policy(make_policy):
    """A token policy worth the whole order, uncapped, that asks for a person's approval."""
    return make_policy(cap=None)


@pytest.fixture
def pending(policy, make_incident, attach, run_policies, budget):
    """pending(amount, user_ref) → a proposal pending approval, worth `amount` EUR."""
    from compensation.models import CompensationProposal

    def make(amount: str = "20.00", user_ref: str = "USR-1", channel: str = ""):
        incident = make_incident(severity="high")
        attach(incident, {"user_ref": user_ref, "order_amount": Decimal(amount)})
        run_policies()
        proposal = CompensationProposal.objects.get(incident=incident, user_ref=user_ref)
        if channel:
            CompensationProposal.objects.filter(pk=proposal.pk).update(proposed_channel=channel)
            proposal.refresh_from_db()
        return proposal

    return make
