"""Policies turn affected users into proposals: once per incident and user, routed to automatic
approval or to the queue, each check recorded."""

from decimal import Decimal

import pytest

from compensation.models import CompensationProposal, Status
from compensation.operations import (
    exchange_rate_set,
    fraud_flag_raise,
    policy_save,
    proposal_create,
    proposals_route_waiting,
)
from compensation.tasks import propose_task
from opsconsole.models import JobRun
from tests.compensation.conftest import MARKET
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


def checks_of(proposal) -> dict[str, str]:
    return {check["name"]: check["result"] for check in proposal.checks}


@pytest.mark.django_db(transaction=True)
def test_the_job_makes_one_proposal_per_incident_and_user_however_often_it_runs(
    make_incident, attach, policy, budget
):
    incident = make_incident(severity="high")
    attach(incident, {"user_ref": "USR-1"}, {"user_ref": "USR-2"})
    assert propose_task() is True
    assert propose_task() is True
    assert CompensationProposal.objects.count() == 2
    attach(incident, {"user_ref": "USR-3"})
    propose_task()
    assert sorted(CompensationProposal.objects.values_list("user_ref", flat=True)) == [
        "USR-1",
        "USR-2",
        "USR-3",
    ]
    runs = JobRun.objects.filter(name="compensation.propose").order_by("id")
    assert [run.result["created"] for run in runs] == [2, 0, 1]
    assert runs.last().watermark_to > runs.first().watermark_to


def test_applying_policies_to_the_same_users_again_makes_nothing_new(
    make_incident, attach, policy, budget, run_policies
):
    """ON CONFLICT DO NOTHING, not the watermark, is what guarantees one proposal per user."""
    attach(make_incident(), {"user_ref": "USR-1"})
    assert run_policies()["created"] == 1
    assert run_policies()["created"] == 0
    assert CompensationProposal.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_still_make_one_proposal_per_user(
    make_incident, attach, policy, budget, run_policies
):
    incident = make_incident()
    attach(incident, *({"user_ref": f"USR-{n}"} for n in range(20)))
    results = run_concurrently(run_policies, 2)
    assert sum(result["created"] for result in results) == 20
    assert CompensationProposal.objects.count() == 20


def test_a_proposal_keeps_the_seed_shape_and_the_policy_version_it_came_from(
    make_incident, attach, make_policy, budget, run_policies, system
):
    policy = make_policy()
    incident = make_incident(severity="high")
    attach(incident, {"user_ref": "USR-7", "order_amount": Decimal("80.00")})
    run_policies()
    edited = policy_save(actor=system, previous=policy, fields={"cap": Decimal("30")}).unwrap()
    proposal = CompensationProposal.objects.get()
    assert edited.version == 2 and proposal.policy == policy and proposal.policy.version == 1
    assert proposal.proposed_channel == "trutta_token"
    assert proposal.proposed_value == {
        "type": "percentage_of_amount",
        "value": "100.00",
        "cap": "50.00",
        "currency": "EUR",
    }
    assert proposal.amount == Decimal("50.00") and proposal.amount_eur == Decimal("50.00")
    assert proposal.fault == "vendor" and proposal.vendor == "VEN-123"
    assert proposal.market == MARKET and proposal.product_version == "PRDV-1"
    assert proposal.requires_approval and proposal.status == Status.PENDING_APPROVAL


def test_a_low_severity_case_the_policy_allows_is_approved_automatically_and_reserved(
    make_incident, attach, make_policy, budget, run_policies, django_capture_on_commit_callbacks
):
    make_policy(auto_approve=True)
    attach(make_incident(severity="low"), {"user_ref": "USR-1"})
    run_policies()
    proposal = CompensationProposal.objects.get()
    assert proposal.status == Status.AUTO_APPROVED and not proposal.requires_approval
    assert proposal.reserved_eur == Decimal("20.00")
    budget.refresh_from_db()
    assert budget.used_eur == Decimal("20.00")
    assert checks_of(proposal) == {
        "rate": "pass",
        "frequency": "pass",
        "fraud": "pass",
        "limit": "pass",
        "four_eyes": "pass",
        "budget": "pass",
    }


@pytest.mark.parametrize(
    ("severity", "order", "reason"),
    [
        ("high", "20.00", "High severity needs a person"),
        ("low", "80.00", "Over the automatic limit of 50.00 EUR"),
    ],
)
def test_what_is_not_small_and_clear_waits_for_a_person(
    make_incident, attach, make_policy, budget, run_policies, severity, order, reason
):
    make_policy(auto_approve=True, cap=None)
    attach(make_incident(severity=severity), {"user_ref": "USR-1", "order_amount": Decimal(order)})
    run_policies()
    proposal = CompensationProposal.objects.get()
    assert proposal.status == Status.PENDING_APPROVAL and proposal.reserved_eur == 0
    assert reason in proposal.check_result("limit")["detail"]


def test_a_user_compensated_more_than_three_times_in_30_days_needs_a_care_lead(
    make_incident, attach, make_policy, budget, run_policies
):
    make_policy(auto_approve=True)
    for _ in range(4):
        attach(make_incident(severity="low"), {"user_ref": "USR-OFTEN"})
        run_policies()
    proposals = list(CompensationProposal.objects.order_by("id"))
    assert [p.status for p in proposals] == [Status.AUTO_APPROVED] * 3 + [Status.PENDING_APPROVAL]
    fourth = proposals[-1]
    assert fourth.flags == ["frequent"] and fourth.required_role == "care_lead"
    assert checks_of(fourth)["frequency"] == "flag"
    assert "no. 4 in the last 30 days" in fourth.check_result("frequency")["detail"]


def test_a_fraud_flag_stops_automatic_approval_and_needs_a_care_lead(
    make_incident, attach, make_policy, budget, run_policies, system
):
    make_policy(auto_approve=True)
    fraud_flag_raise(actor=system, user_ref="USR-F", reason="Chargeback pattern").unwrap()
    attach(make_incident(severity="low"), {"user_ref": "USR-F"})
    run_policies()
    proposal = CompensationProposal.objects.get()
    assert proposal.status == Status.PENDING_APPROVAL and proposal.flags == ["fraud"]
    assert "Chargeback pattern" in proposal.check_result("fraud")["detail"]
    assert proposal.required_role == "care_lead"


def test_without_a_rate_a_proposal_waits_and_moves_on_once_finance_adds_it(
    make_incident, attach, policy, budget, run_policies, system
):
    attach(
        make_incident(), {"user_ref": "USR-1", "order_amount": Decimal("5000"), "currency": "HUF"}
    )
    run_policies()
    proposal = CompensationProposal.objects.get()
    assert proposal.status == Status.PROPOSED and proposal.amount_eur is None
    assert "No exchange rate for HUF" in proposal.check_result("rate")["detail"]
    assert proposals_route_waiting(actor=system).unwrap() == 0
    exchange_rate_set(actor=system, currency="HUF", eur_per_unit=Decimal("0.0025")).unwrap()
    assert proposals_route_waiting(actor=system).unwrap() == 1
    proposal.refresh_from_db()
    assert proposal.status == Status.PENDING_APPROVAL
    assert proposal.amount == Decimal("5000.00") and proposal.currency == "HUF"
    assert proposal.amount_eur == Decimal("12.50")


def test_users_no_policy_matches_are_counted_not_proposed(
    make_incident, attach, make_policy, budget, run_policies
):
    make_policy(markets=["DE-BER"])
    attach(make_incident(), {"user_ref": "USR-1"})
    assert run_policies() == {"created": 0, "no_policy": 1, "no_order_amount": 0}


def test_a_care_tool_proposes_with_its_own_value_which_then_needs_another_person(
    make_incident, attach, budget, system, people
):
    incident = make_incident(severity="low")
    attach(incident, {"user_ref": "USR-9", "order_amount": Decimal("30")})
    proposal = proposal_create(
        actor=people["care_agent"],
        incident=incident,
        user_ref="USR-9",
        proposed_channel="refund",
        proposed_value={"type": "fixed", "value": 15, "cap": None, "currency": "EUR"},
        note="Customer waited 40 minutes",
    ).unwrap()
    assert proposal.status == Status.PENDING_APPROVAL and proposal.origin == "console"
    assert proposal.order_amount == Decimal("30.00"), "filled from the affected user"
    assert proposal.amount == Decimal("15.00") and proposal.proposed_by == people["care_agent"].user
    again = proposal_create(actor=people["care_lead"], incident=incident, user_ref="USR-9")
    assert again.error.http_status == 409 and "CMP-" in again.error.message


def test_an_invalid_value_is_refused_naming_each_field(make_incident, people):
    result = proposal_create(
        actor=people["care_agent"],
        incident=make_incident(),
        user_ref="USR-1",
        proposed_channel="cash",
        proposed_value={"type": "percentage_of_amount", "value": 150, "currency": "euro"},
        order_amount=Decimal("10"),
    )
    assert result.error.http_status == 400
    assert set(result.error.fields) == {
        "proposed_channel",
        "proposed_value.value",
        "proposed_value.currency",
    }
