"""Working an incident: every transition, the forbidden ones, and who did what on the timeline."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.models import AffectedUser, Incident, Status
from incidents.operations import (
    affected_users_attach,
    incident_acknowledge,
    incident_assign,
    incident_note_add,
    incident_open_or_update,
    incident_override,
    incident_override_revert,
    incident_reopen,
    incident_resolve,
    suppressions_end,
)
from opsconsole.registry import Actor
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(make_event, ingest):
    ingest([make_event()])
    return Incident.objects.get()


@pytest.fixture
def sre(make_user):
    return Actor(user=make_user("sre", username="sam"))


@pytest.fixture
def founder(make_user):
    return Actor(user=make_user("founder", username="fiona"))


def test_acknowledging_stores_who_when_and_the_time_it_took(incident, sre):
    with time_machine.travel(incident.opened_at + timedelta(minutes=7), tick=False):
        acknowledged = incident_acknowledge(actor=sre, incident=incident).unwrap()
    assert acknowledged.status == Status.ACKNOWLEDGED and acknowledged.acknowledged_by == sre.user
    assert acknowledged.time_to_acknowledge == timedelta(minutes=7)
    entry = acknowledged.timeline.first()
    assert entry.kind == "acknowledged" and entry.actor == sre.user


def test_acknowledging_twice_is_a_conflict(incident, sre):
    incident_acknowledge(actor=sre, incident=incident).unwrap()
    result = incident_acknowledge(actor=sre, incident=incident)
    assert result.error.http_status == 409


def test_resolving_needs_a_note_and_stores_the_time_to_resolve(incident, sre):
    assert "note" in incident_resolve(actor=sre, incident=incident, note=" ").error.fields
    with time_machine.travel(incident.opened_at + timedelta(hours=2), tick=False):
        resolved = incident_resolve(actor=sre, incident=incident, note="Rolled back 4.2").unwrap()
    assert resolved.status == Status.RESOLVED and resolved.time_to_resolve == timedelta(hours=2)
    assert resolved.resolution_note == "Rolled back 4.2"
    assert incident_resolve(actor=sre, incident=incident, note="again").error.http_status == 409


def test_only_a_resolved_incident_can_be_reopened(incident, sre):
    assert (
        incident_reopen(actor=sre, incident=incident, reason="still broken").error.http_status
        == 409
    )
    incident_resolve(actor=sre, incident=incident, note="fixed").unwrap()
    reopened = incident_reopen(
        actor=sre, incident=incident, reason="still broken for TEN-9"
    ).unwrap()
    assert reopened.status == Status.OPEN and reopened.resolved_at is None
    assert reopened.timeline.first().message == "still broken for TEN-9"


def test_assigning_only_to_people_who_work_incidents(incident, sre, make_user):
    care = make_user("care_agent")
    assert "assignee" in incident_assign(actor=sre, incident=incident, assignee=care).error.fields
    assigned = incident_assign(actor=sre, incident=incident, assignee=sre.user).unwrap()
    assert assigned.assignee == sre.user
    assert incident_assign(actor=sre, incident=incident, assignee=sre.user).error.http_status == 409
    assert incident_assign(actor=sre, incident=incident, assignee=None).unwrap().assignee is None


def test_notes_go_on_the_timeline(incident, sre):
    incident_note_add(actor=sre, incident=incident, text="PSP status page shows an outage").unwrap()
    assert incident.timeline.first().message == "PSP status page shows an outage"
    assert "text" in incident_note_add(actor=sre, incident=incident, text="  ").error.fields


def test_a_care_agent_cannot_work_incidents(incident, make_user):
    result = incident_acknowledge(actor=Actor(user=make_user("care_agent")), incident=incident)
    assert result.error.code == "forbidden"


def test_a_forced_severity_stands_against_the_rules(incident, founder, make_event, ingest):
    incident_override(
        actor=founder, incident=incident, severity="medium", reason="Known, harmless"
    ).unwrap()
    ingest([make_event() for _ in range(150)])
    incident.refresh_from_db()
    assert incident.severity == "medium" and incident.severity_forced
    incident_override_revert(
        actor=founder, incident=incident, override="severity", reason="Not harmless"
    ).unwrap()
    ingest([make_event()])
    incident.refresh_from_db()
    assert incident.severity == "high", "152 errors in 5 minutes: the rules take over again"


def test_a_suppression_ends_by_itself_when_its_time_comes(incident, founder, system):
    until = timezone.now() + timedelta(hours=1)
    suppressed = incident_override(
        actor=founder, incident=incident, suppress_until=until, reason="Vendor maintenance window"
    ).unwrap()
    assert suppressed.status == Status.SUPPRESSED
    assert suppressions_end(actor=system).unwrap() == 0
    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert suppressions_end(actor=system).unwrap() == 1
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED and incident.suppressed_until is None
    assert incident.timeline.first().kind == "unsuppressed"


def test_force_resolve_and_its_reversal(incident, founder):
    resolved = incident_override(
        actor=founder, incident=incident, force_resolve=True, reason="Duplicate of #12"
    ).unwrap()
    assert (
        resolved.status == Status.RESOLVED and "Force-resolved by fiona" in resolved.resolution_note
    )
    reopened = incident_override_revert(
        actor=founder, incident=incident, override="force_resolve", reason="Not a duplicate"
    ).unwrap()
    assert reopened.status == Status.OPEN


def test_an_override_takes_exactly_one_change(incident, founder):
    result = incident_override(
        actor=founder, incident=incident, severity="high", force_resolve=True, reason="both"
    )
    assert "override" in result.error.fields
    past = timezone.now() - timedelta(minutes=1)
    assert (
        "suppress_until"
        in incident_override(
            actor=founder, incident=incident, suppress_until=past, reason="x"
        ).error.fields
    )


def test_only_founders_override(incident, sre):
    assert (
        incident_override(actor=sre, incident=incident, severity="low", reason="quiet").error.code
        == "forbidden"
    )


def test_open_or_update_opens_then_escalates_then_regresses(system):
    def alert(severity):
        return incident_open_or_update(
            actor=system,
            fingerprint="slo:7:market=AT-VIE",
            title="Checkout availability burning budget (AT-VIE)",
            component="checkout",
            category="availability",
            severity=severity,
            source="slo",
            message=f"Burn rate alert ({severity})",
        ).unwrap()

    opened = alert("medium")
    assert opened.source == "slo" and opened.timeline.first().kind == "opened"
    assert alert("critical").severity == "critical"
    assert alert("low").severity == "critical", "never lowered"
    incident_resolve(actor=system, incident=opened, note="Burn stopped").unwrap()
    regressed = alert("high")
    assert regressed.pk == opened.pk and regressed.status == Status.REGRESSED


def test_affected_users_are_attached_once(incident, system, tenant):
    users = [
        {"user_ref": "USR-1", "tenant_id": tenant.pk, "order_amount": "40.00", "currency": "EUR"},
        {"user_ref": "USR-2"},
    ]
    assert (
        affected_users_attach(actor=system, incident=incident, users=users, source="slo").unwrap()
        == 2
    )
    assert (
        affected_users_attach(actor=system, incident=incident, users=users, source="slo").unwrap()
        == 0
    )
    assert AffectedUser.objects.get(user_ref="USR-1").order_amount == 40


@pytest.mark.django_db(transaction=True)
def test_two_people_acknowledging_at_once_one_wins(make_event, ingest, make_user):
    ingest([make_event()])
    incident = Incident.objects.get()
    actors = iter([Actor(user=make_user("sre")) for _ in range(5)])
    results = run_concurrently(
        lambda: incident_acknowledge(actor=next(actors), incident=incident), 5
    )
    assert sum(result.ok for result in results) == 1
    assert {result.error.http_status for result in results if not result.ok} == {409}
