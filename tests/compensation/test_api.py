"""The compensation API: care tools propose, people decide, the rails report results — each
refusal in the API's error shape, results and writes idempotent, lists cheap per page."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compensation.models import CompensationProposal, Status
from compensation.operations import proposal_approve, proposal_issue
from tests.compensation.factories import proposal

pytestmark = pytest.mark.django_db


def test_a_care_tool_proposes_in_the_seed_shape(make_incident, attach, budget, service):
    incident = make_incident(severity="low")
    attach(incident, {"user_ref": "USR-42", "order_amount": "30.00"})
    client = service("compensation:write", "compensation:read")
    body = {
        "incident_id": incident.pk,
        "user_id": "USR-42",
        "product_version_id": "PRDV-9",
        "vendor_id": "VEN-123",
        "proposed_channel": "trutta_token",
        "proposed_value": {
            "type": "percentage_of_amount",
            "value": 100,
            "cap": 50,
            "currency": "EUR",
        },
    }
    response = client.post("/api/v1/compensations/proposals", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "pending_approval" and data["requires_approval"] is True
    assert (
        data["amount"] == {"amount": "30.00", "currency": "EUR"} and data["amount_eur"] == "30.00"
    )
    assert [check["name"] for check in data["checks"]] == [
        "rate",
        "frequency",
        "fraud",
        "limit",
        "four_eyes",
        "budget",
    ]
    again = client.post("/api/v1/compensations/proposals", body, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"
    detail = client.get(f"/api/v1/compensations/{data['id']}")
    assert detail.status_code == 200 and detail.json()["product_version_id"] == "PRDV-9"


def test_a_bad_proposal_names_its_fields(service, make_incident):
    client = service("compensation:write")
    response = client.post(
        "/api/v1/compensations/proposals",
        {"incident_id": make_incident().pk, "user_id": "U", "proposed_channel": "refund"},
        format="json",
    )
    assert response.status_code == 400
    assert "proposed_value" in response.json()["error"]["fields"]


def test_approve_and_reject_over_the_api(pending, api_as):
    small, large = pending("20.00", "USR-1"), pending("200.00", "USR-2")
    agent = api_as("care_agent")
    approved = agent.post(f"/api/v1/compensations/{small.pk}/approve", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    refused = agent.post(f"/api/v1/compensations/{large.pk}/approve", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "over_limit"
    no_reason = agent.post(f"/api/v1/compensations/{large.pk}/reject", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    rejected = agent.post(
        f"/api/v1/compensations/{large.pk}/reject", {"reason": "Goodwill given"}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    twice = agent.post(
        f"/api/v1/compensations/{large.pk}/reject", {"reason": "again"}, format="json"
    )
    assert twice.status_code == 409


def test_services_may_not_approve(pending, service):
    client = service("compensation:write", "compensation:read")
    response = client.post(f"/api/v1/compensations/{pending().pk}/approve", {}, format="json")
    assert response.status_code == 403


def test_the_result_callback_replayed_answers_the_same_and_issues_once(
    pending, people, service, system
):

    made = pending()
    proposal_approve(actor=people["care_lead"], proposal=made).unwrap()
    proposal_issue(actor=system, proposal=made).unwrap()
    trutta = service("compensation:write")
    url = f"/api/v1/compensations/{made.pk}/result"
    body = {"status": "issued", "external_reference": "TRT-1"}
    first = trutta.post(url, body, format="json")
    second = trutta.post(url, body, format="json")
    keyed = [
        trutta.post(url, body, format="json", headers={"Idempotency-Key": "k1"}) for _ in range(2)
    ]
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "issued"
    assert keyed[1].headers["Idempotent-Replayed"] == "true"
    failed = trutta.post(url, {"status": "failed"}, format="json")
    assert failed.status_code == 409
    assert CompensationProposal.objects.get().status == Status.ISSUED
    unknown = trutta.post(url, {"status": "issued", "event_id": str(uuid.uuid4())}, format="json")
    assert unknown.status_code == 400 and "event_id" in unknown.json()["error"]["fields"]


def test_the_list_filters_and_costs_the_same_queries_for_any_page_size(api_as, budget):
    for number in range(6):
        proposal(user_ref=f"USR-{number}", amount=str(10 + number))
    client = api_as("auditor")
    client.get("/api/v1/compensations?page_size=1")  # sessions and permissions warm up
    with CaptureQueriesContext(connection) as two:
        client.get("/api/v1/compensations?page_size=2")
    with CaptureQueriesContext(connection) as six:
        response = client.get("/api/v1/compensations?page_size=6")
    assert len(response.json()["results"]) == 6
    assert len(two) == len(six)
    cheap = client.get("/api/v1/compensations?max_eur=12").json()["results"]
    assert sorted(item["user_id"] for item in cheap) == ["USR-0", "USR-1", "USR-2"]


def test_trutta_flags_a_user_and_their_next_proposal_needs_a_lead(service, make_incident, pending):
    trutta = service("compensation:write")
    flagged = trutta.post(
        "/api/v1/compensations/fraud-flags",
        {"user_id": "USR-7", "reason": "Multiple accounts"},
        format="json",
    )
    assert flagged.status_code == 200 and flagged.json()["source"] == "trutta"
    made = pending("10.00", "USR-7")
    assert made.flags == ["fraud"] and made.required_role == "care_lead"
