"""People decide: within their limits, never on their own proposal, never over budget, and of two
people approving at once exactly one wins."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from compensation.models import Budget, CompensationProposal, Status
from compensation.operations import (
    approval_limit_set,
    budget_set,
    proposal_approve,
    proposal_cancel,
    proposal_create,
    proposal_reject,
    proposals_bulk_approve,
)
from compensation.tasks import bulk_approve_task
from opsconsole.models import JobRun, OperationRecord
from opsconsole.registry import Actor
from tests.compensation.conftest import MARKET, this_month
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "amount", "approved"),
    [
        ("care_agent", "20.00", True),
        ("care_agent", "50.00", True),
        ("care_agent", "50.01", False),
        ("care_agent", "200.00", False),
        ("care_lead", "200.00", True),
        ("care_lead", "500.00", True),
        ("care_lead", "500.01", False),
        ("finance", "900.00", True),
    ],
)
def test_each_role_approves_up_to_its_limit(pending, people, role, amount, approved):
    proposal = pending(amount)
    result = proposal_approve(actor=people[role], proposal=proposal)
    assert result.ok is approved
    proposal.refresh_from_db()
    if approved:
        assert proposal.status == Status.APPROVED and proposal.approved_by == people[role].user
        assert proposal.check_result("limit")["result"] == "pass"
    else:
        assert result.error.http_status == 403 and result.error.code == "over_limit"
        assert f"over your limit of {'50' if role == 'care_agent' else '500'}" in (
            result.error.message
        )
        assert proposal.status == Status.PENDING_APPROVAL and proposal.reserved_eur == 0


def test_limits_are_editable_and_apply_at_once(pending, people, system):
    proposal = pending("80.00")
    assert not proposal_approve(actor=people["care_agent"], proposal=proposal).ok
    approval_limit_set(actor=system, role="care_agent", max_eur=Decimal("100")).unwrap()
    assert proposal_approve(actor=people["care_agent"], proposal=proposal).ok


def test_limits_hold_in_eur_for_other_currencies(
    make_incident, attach, policy, budget, run_policies, people, system
):
    from compensation.operations import exchange_rate_set

    exchange_rate_set(actor=system, currency="CZK", eur_per_unit=Decimal("0.04")).unwrap()
    attach(make_incident(severity="high"), {"order_amount": Decimal("1500"), "currency": "CZK"})
    run_policies()
    proposal = CompensationProposal.objects.get()
    assert (proposal.amount, proposal.currency, proposal.amount_eur) == (
        Decimal("1500.00"),
        "CZK",
        Decimal("60.00"),
    )
    assert proposal_approve(actor=people["care_agent"], proposal=proposal).error.code == (
        "over_limit"
    )
    assert proposal_approve(actor=people["care_lead"], proposal=proposal).ok


def test_whoever_proposed_cannot_approve(make_incident, attach, budget, people):
    incident = make_incident(severity="low")
    attach(incident, {"user_ref": "USR-5"})
    lead = people["care_lead"]
    proposal = proposal_create(
        actor=lead,
        incident=incident,
        user_ref="USR-5",
        proposed_channel="trutta_token",
        proposed_value={"type": "fixed", "value": "10", "currency": "EUR"},
    ).unwrap()
    refused = proposal_approve(actor=lead, proposal=proposal)
    assert refused.error.code == "four_eyes" and refused.error.http_status == 403
    assert proposal_approve(actor=people["care_agent"], proposal=proposal).ok


def test_the_database_refuses_an_approval_by_the_proposer_too(pending, people):
    """Four eyes is a check constraint, so even a data fix cannot break it."""
    proposal = pending()
    person = people["care_lead"].user
    with pytest.raises(IntegrityError, match="proposal_four_eyes"), transaction.atomic():
        CompensationProposal.objects.filter(pk=proposal.pk).update(
            proposed_by=person, approved_by=person
        )


def test_a_service_proposing_for_a_person_keeps_four_eyes(
    make_incident, attach, budget, people, service
):
    client = service("compensation:write")
    incident = make_incident(severity="low")
    attach(incident, {"user_ref": "USR-5"})
    agent = people["care_agent"]
    proposal = proposal_create(
        actor=Actor(api_key=client.api_key),
        incident=incident,
        user_ref="USR-5",
        proposed_channel="trutta_token",
        proposed_value={"type": "fixed", "value": "10", "currency": "EUR"},
        proposed_by=agent.user,
    ).unwrap()
    assert proposal.origin == "api" and proposal.proposed_by == agent.user
    assert proposal.proposed_by_label == f"{agent.user.username} via api-key:{client.api_key.name}"
    assert proposal_approve(actor=agent, proposal=proposal).error.code == "four_eyes"


def test_approval_over_budget_is_refused_saying_how_much_is_left(pending, people, system):
    budget_set(actor=system, market=MARKET, month=this_month(), amount_eur=Decimal("30")).unwrap()
    assert proposal_approve(actor=people["care_agent"], proposal=pending("20.00", "USR-1")).ok
    result = proposal_approve(actor=people["care_agent"], proposal=pending("15.00", "USR-2"))
    assert result.error.http_status == 409 and result.error.code == "over_budget"
    assert result.error.message == (
        f"Over budget: {MARKET} has 10.00 EUR left for {this_month():%Y-%m}; "
        "this compensation needs 15.00 EUR."
    )
    assert Budget.objects.get().used_eur == Decimal("20.00")


def test_without_a_budget_nothing_is_approved(pending, people):
    proposal = pending()
    Budget.objects.all().delete()
    result = proposal_approve(actor=people["care_lead"], proposal=proposal)
    assert result.error.code == "over_budget" and "finance sets budgets" in result.error.message


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_overdraw_the_budget(pending, make_user, system):
    budget_set(actor=system, market=MARKET, month=this_month(), amount_eur=Decimal("100")).unwrap()
    proposals = [pending("30.00", f"USR-{n}") for n in range(6)]
    approvers = [Actor(user=make_user("care_agent", username=f"agent{n}")) for n in range(6)]
    calls = iter(zip(approvers, proposals, strict=True))

    def approve_one():
        approver, proposal = next(calls)
        return proposal_approve(actor=approver, proposal=proposal)

    results = run_concurrently(approve_one, 6)
    assert sum(result.ok for result in results) == 3
    refused = [result.error for result in results if not result.ok]
    assert {error.code for error in refused} == {"over_budget"}
    assert all("10.00 EUR left" in error.message for error in refused)
    budget = Budget.objects.get()
    assert budget.used_eur == Decimal("90.00") and budget.used_eur <= budget.amount_eur


@pytest.mark.django_db(transaction=True)
def test_two_people_approving_one_proposal_at_once_exactly_one_wins(pending, make_user):
    proposal = pending("20.00")
    approvers = iter([Actor(user=make_user("care_agent", username=f"a{n}")) for n in range(2)])
    results = run_concurrently(
        lambda: proposal_approve(actor=next(approvers), proposal=proposal), 2
    )
    assert sorted(result.ok for result in results) == [False, True]
    [loser] = [result for result in results if not result.ok]
    assert loser.error.http_status == 409 and "is approved" in loser.error.message
    assert Budget.objects.get().used_eur == Decimal("20.00"), "reserved once"


def test_rejecting_needs_a_reason_and_ends_the_proposal(pending, people):
    proposal = pending()
    refused = proposal_reject(actor=people["care_agent"], proposal=proposal, reason=" ")
    assert refused.error.fields == {"reason": ["At least 5 characters."]}
    rejected = proposal_reject(
        actor=people["care_agent"], proposal=proposal, reason="Duplicate of a refund by phone"
    ).unwrap()
    assert rejected.status == Status.REJECTED
    assert rejected.decision_reason == "Duplicate of a refund by phone"
    again = proposal_approve(actor=people["care_lead"], proposal=proposal)
    assert again.error.http_status == 409
    assert again.error.message == (
        f"{proposal.ref} is rejected; only pending proposals can be approved."
    )


def test_cancelling_an_approved_proposal_gives_its_budget_back(pending, people):
    proposal = pending("40.00")
    proposal_approve(actor=people["care_agent"], proposal=proposal).unwrap()
    assert Budget.objects.get().used_eur == Decimal("40.00")
    cancelled = proposal_cancel(
        actor=people["care_lead"], proposal=proposal, reason="Customer asked for nothing"
    ).unwrap()
    assert cancelled.status == Status.CANCELLED and cancelled.reserved_eur == 0
    assert Budget.objects.get().used_eur == Decimal("0.00")
    assert (
        proposal_cancel(
            actor=people["care_lead"], proposal=proposal, reason="twice over"
        ).error.http_status
        == 409
    )


def test_care_agents_may_not_cancel(pending, people):
    result = proposal_cancel(actor=people["care_agent"], proposal=pending(), reason="no reason")
    assert result.error.http_status == 403


@pytest.mark.django_db(transaction=True)
def test_bulk_approval_approves_within_the_limit_and_names_what_it_refused(pending, people):
    small = [pending("20.00", f"USR-{n}") for n in range(3)]
    large = pending("200.00", "USR-BIG")
    job = proposals_bulk_approve(
        actor=people["care_agent"], proposal_ids=[p.pk for p in [*small, large]]
    ).unwrap()
    assert job.progress_total == 4 and job.created_by == people["care_agent"].user
    assert bulk_approve_task(job.pk) is True
    job = JobRun.objects.get(pk=job.pk)
    assert job.status == "succeeded" and job.progress_done == 4
    assert job.result["approved"] == 3 and job.result["refused"] == 1
    assert "over your limit of 50" in job.result["reasons"][large.ref]
    statuses = dict(CompensationProposal.objects.values_list("user_ref", "status"))
    assert statuses["USR-BIG"] == Status.PENDING_APPROVAL
    assert {statuses[f"USR-{n}"] for n in range(3)} == {Status.APPROVED}
    approvals = OperationRecord.objects.filter(operation="compensation.approve")
    assert approvals.filter(outcome="ok").count() == 3
    assert approvals.filter(actor=people["care_agent"].user).count() == 4


def test_bulk_approval_of_nothing_is_refused(people):
    result = proposals_bulk_approve(actor=people["care_agent"], proposal_ids=[])
    assert result.error.http_status == 400
