"""Issuing through the outbox: the seed's bodies, signed and retried; results recorded once
however often they are sent; and never a second issue, even when a worker dies mid-delivery."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from compensation.models import CompensationProposal, Issuance, Status
from compensation.operations import (
    issue_result_record,
    proposal_approve,
    proposal_cancel,
    proposal_issue,
    proposal_issue_retry,
)
from compensation.tasks import issue_approved_task, issue_task
from opsconsole.models import Delivery, OutboxEvent, Subscriber
from opsconsole.outbox import relay, verify_signature

pytestmark = pytest.mark.django_db


def compensation_events():
    return OutboxEvent.objects.filter(aggregate__startswith="compensation:")


@pytest.fixture
def rails(webhook):
    """Trutta and Billing, both answered by the test's webhook receiver."""
    Subscriber.objects.create(
        name="trutta", url=webhook.url, secret="trutta-secret", event_types=["compensation.issue"]
    )
    Subscriber.objects.create(
        name="billing", url=webhook.url, secret="billing-secret", event_types=["refund.requested"]
    )
    return webhook


@pytest.fixture
def approved(pending, people):
    def make(amount: str = "20.00", user_ref: str = "USR-1", channel: str = ""):
        proposal = pending(amount, user_ref, channel)
        return proposal_approve(actor=people["care_lead"], proposal=proposal).unwrap()

    return make


def test_an_approved_token_goes_to_trutta_in_the_seed_shape_signed(approved, rails, system):
    proposal = approved("20.00")
    issued = proposal_issue(actor=system, proposal=proposal).unwrap()
    assert issued.status == Status.ISSUING
    assert relay() == {"delivered": 1}
    [request] = rails.requests
    headers, body = request["headers"], json.loads(request["body"])
    assert verify_signature(
        "trutta-secret",
        headers["X-Opsconsole-Timestamp"],
        request["body"],
        headers["X-Opsconsole-Signature"],
    )
    assert body["type"] == "compensation.issue"
    data = body["data"]
    assert {key: data[key] for key in ("incident_id", "user_id", "compensation_profile_id")} == {
        "incident_id": f"OPS-INC-{proposal.incident_id}",
        "user_id": "USR-1",
        "compensation_profile_id": "COMP-VIEN-COFFEE-100",
    }
    assert data["value"] == {"amount": 20.0, "currency": "EUR"}
    assert data["meta"]["reason"] == "VENDOR_NO_SHOW" and data["meta"]["notes"]
    assert data["compensation_id"] == proposal.ref
    issuance = Issuance.objects.get()
    assert str(issuance.event_id) == body["id"] == headers["X-Opsconsole-Event-Id"]


def test_a_refund_goes_to_billing_naming_the_incident_and_policy(approved, rails, system):
    proposal = approved("40.00", channel="refund")
    proposal_issue(actor=system, proposal=proposal).unwrap()
    relay()
    body = json.loads(rails.requests[0]["body"])
    assert body["type"] == "refund.requested"
    data = body["data"]
    assert data["incident_id"] == f"OPS-INC-{proposal.incident_id}"
    assert data["amount"] == {"amount": 40.0, "currency": "EUR"}
    assert data["compensation_policy"]["id"] == proposal.policy.key
    assert data["compensation_policy"]["version"] == 1 and data["reason"] == "VENDOR_NO_SHOW"


def test_a_mixed_compensation_goes_out_on_both_rails_and_is_issued_when_both_are(
    approved, rails, system
):
    proposal = approved("30.00", channel="mixed")
    proposal_issue(actor=system, proposal=proposal).unwrap()
    token, refund = (
        Issuance.objects.get(channel="trutta_token"),
        Issuance.objects.get(channel="refund"),
    )
    assert token.amount + refund.amount == Decimal("30.00")
    assert token.amount_eur + refund.amount_eur == Decimal("30.00")
    mixed = issue_result_record(actor=system, proposal=proposal, status="issued")
    assert mixed.error.fields == {"channel": ["Required for a mixed compensation."]}
    issue_result_record(
        actor=system, proposal=proposal, status="issued", channel="refund", external_reference="R1"
    ).unwrap()
    assert CompensationProposal.objects.get().status == Status.ISSUING
    issue_result_record(
        actor=system, proposal=proposal, status="issued", event_id=str(token.event_id)
    ).unwrap()
    done = CompensationProposal.objects.get()
    assert done.status == Status.ISSUED and done.issued_at is not None


def test_a_subscriber_that_fails_is_retried_with_the_same_event(approved, rails, system):
    rails.statuses = [503]
    proposal_issue(actor=system, proposal=approved()).unwrap()
    assert relay() == {"retrying": 1}
    with time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False):
        assert relay() == {"delivered": 1}
    assert len(rails.requests) == 2 and len(set(rails.event_ids())) == 1


def test_a_result_sent_again_changes_nothing_and_a_contrary_one_is_a_conflict(approved, system):
    proposal = approved()
    proposal_issue(actor=system, proposal=proposal).unwrap()
    first = issue_result_record(
        actor=system, proposal=proposal, status="issued", external_reference="TRT-77"
    ).unwrap()
    issued_at = first.issued_at
    replay = issue_result_record(
        actor=system, proposal=proposal, status="issued", external_reference="TRT-77"
    ).unwrap()
    assert replay.status == Status.ISSUED and replay.issued_at == issued_at
    contrary = issue_result_record(actor=system, proposal=proposal, status="failed")
    assert contrary.error.http_status == 409 and "recorded as issued" in contrary.error.message
    assert Issuance.objects.get().external_reference == "TRT-77"


def test_a_failed_issue_is_retried_as_a_new_request_and_can_then_succeed(approved, people, system):
    proposal = approved()
    proposal_issue(actor=system, proposal=proposal).unwrap()
    failed = issue_result_record(
        actor=system, proposal=proposal, status="failed", message="Trutta profile paused"
    ).unwrap()
    assert failed.status == Status.FAILED and failed.reserved_eur == Decimal("20.00")
    proposal_issue_retry(actor=people["care_lead"], proposal=proposal).unwrap()
    first, second = Issuance.objects.order_by("attempt")
    assert (first.attempt, second.attempt) == (1, 2) and first.event_id != second.event_id
    issue_result_record(actor=system, proposal=proposal, status="issued").unwrap()
    assert CompensationProposal.objects.get().status == Status.ISSUED


@pytest.mark.parametrize(
    ("action", "code"),
    [("issue_twice", "wrong_state"), ("cancel_while_issuing", "wrong_state")],
)
def test_forbidden_moves_are_conflicts(approved, people, system, action, code):
    proposal = approved()
    proposal_issue(actor=system, proposal=proposal).unwrap()
    if action == "issue_twice":
        result = proposal_issue(actor=system, proposal=proposal)
    else:
        result = proposal_cancel(actor=people["care_lead"], proposal=proposal, reason="too late")
    assert result.error.http_status == 409 and result.error.code == code
    assert Issuance.objects.count() == 1


def test_the_issue_task_run_twice_issues_once(approved):
    proposal = approved()
    assert issue_task(proposal.pk) is True
    assert issue_task(proposal.pk) is False
    assert issue_approved_task() == 0
    assert Issuance.objects.count() == 1 and compensation_events().count() == 1


def test_the_sweep_issues_approved_proposals_whose_kick_was_lost(approved):
    approved("10.00", "USR-1")
    approved("12.00", "USR-2")
    assert issue_approved_task() == 2
    assert set(CompensationProposal.objects.values_list("status", flat=True)) == {Status.ISSUING}


RELAY_SCRIPT = """
import django
django.setup()
from opsconsole.outbox import relay
relay()
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_dying_mid_delivery_never_issues_twice(approved, rails, system):
    """The relay is killed after Trutta received the request but before it recorded the delivery.
    Once its lease runs out the event goes again — the same event, so Trutta, deduping by event
    id, issues one token; and its results, sent twice, settle the proposal once."""
    proposal = approved("20.00")
    proposal_issue(actor=system, proposal=proposal).unwrap()
    rails.hold.clear()  # Trutta takes the request and does not answer yet
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsconsole.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        ),
    }
    worker = subprocess.Popen([sys.executable, "-c", RELAY_SCRIPT], env=env)
    try:
        deadline = time.monotonic() + 30
        while not rails.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rails.requests, "the worker never reached Trutta"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        rails.hold.set()
        if worker.poll() is None:
            worker.kill()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 0, "died before recording it"

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert relay() == {"delivered": 1}
    event_ids = rails.event_ids()
    assert len(event_ids) == 2 and len(set(event_ids)) == 1 == compensation_events().count()

    # Trutta issues once per event id and reports the result, perhaps more than once.
    tokens = {event_id: f"TRT-{event_id[:8]}" for event_id in event_ids}
    for event_id in event_ids:
        issue_result_record(
            actor=system,
            proposal=proposal,
            status="issued",
            event_id=event_id,
            external_reference=tokens[event_id],
        ).unwrap()
    assert len(tokens) == 1
    issuance = Issuance.objects.get()
    assert issuance.status == "issued" and issuance.external_reference == tokens[event_ids[0]]
    assert CompensationProposal.objects.get().status == Status.ISSUED
