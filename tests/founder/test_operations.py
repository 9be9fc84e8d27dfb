"""Founder actions as operations: who may take them, what they check, what they announce, and how
they end — reversed by a founder, or expired by the clock."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone
from pghistory.models import Events

from founder import enforcement
from founder.models import ActionStatus, FounderAction
from founder.operations import (
    founder_action_reverse,
    founder_actions_expire,
    founder_incident_override,
    tenant_freeze,
    tenant_throttle,
)
from founder.tasks import founder_expire_actions_task
from incidents.models import Incident, Status, TimelineKind
from opsconsole.models import OperationRecord, OutboxEvent
from opsconsole.registry import Actor
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.founder.conftest import REASON

pytestmark = pytest.mark.django_db


def state(tenant) -> str:
    return enforcement.state_of(enforcement.load_snapshot(tenant.ref)).state


def events(event_type: str) -> list[dict]:
    return [event.payload for event in OutboxEvent.objects.filter(event_type=event_type)]


# --- Freezing and throttling ----------------------------------------------------------------------


def test_a_freeze_keeps_who_why_until_when_and_announces_the_new_state(tenant, founder, freeze):
    action = freeze(tenant, duration_minutes=90)
    assert action.status == ActionStatus.ACTIVE and action.created_by == founder.user
    assert action.reason == REASON and action.reason_code == "abuse"
    assert action.expires_at == action.created_at + timedelta(minutes=90)
    [payload] = events("tenant.frozen")
    assert payload["tenant"] == tenant.ref and payload["action_id"] == action.pk
    assert payload["by"] == "fiona" and payload["enforcement"]["state"] == "frozen"
    assert payload["version"] == payload["enforcement"]["version"] > 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"reason": "too short"}, "reason"),
        ({"reason": "          padded          ".replace("padded", "")}, "reason"),
        ({"reason_code": "boredom"}, "reason_code"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 90 * 24 * 60 + 1}, "duration_minutes"),
    ],
)
def test_a_freeze_is_refused_with_the_field_named(tenant, founder, arguments, field):
    values = {"reason_code": "abuse", "reason": REASON, **arguments}
    result = tenant_freeze(actor=founder, tenant=tenant, **values)
    assert result.error.http_status == 400 and field in result.error.fields
    assert not FounderAction.objects.exists()


def test_durations_from_five_minutes_to_ninety_days_are_accepted(founder, throttle):
    throttle(TenantFactory(), 10, duration_minutes=5)
    throttle(TenantFactory(), 10, duration_minutes=90 * 24 * 60)
    assert FounderAction.objects.count() == 2


@pytest.mark.parametrize(
    ("rpm", "accepted"), [(0, False), (1, True), (10**6, True), (10**6 + 1, False)]
)
def test_a_throttle_is_one_to_a_million_requests_per_minute(tenant, founder, rpm, accepted):
    result = tenant_throttle(
        actor=founder, tenant=tenant, reason_code="abuse", reason=REASON, throttle_rpm=rpm
    )
    assert result.ok is accepted
    if not accepted:
        assert "throttle_rpm" in result.error.fields


def test_a_frozen_tenant_cannot_be_frozen_again(tenant, founder, freeze):
    first = freeze(tenant)
    result = tenant_freeze(actor=founder, tenant=tenant, reason_code="fraud", reason=REASON)
    assert result.error.http_status == 409 and f"#{first.pk}" in result.error.message
    assert FounderAction.objects.count() == 1


def test_the_database_itself_refuses_a_second_active_freeze(tenant, freeze):
    first = freeze(tenant)
    second = FounderAction(
        type="freeze_tenant",
        tenant=tenant,
        reason_code="abuse",
        reason=REASON,
        created_by_label="someone",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    assert list(FounderAction.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_freezes_of_one_tenant_make_one_action(founder):
    tenant = TenantFactory()
    results = run_concurrently(
        lambda: tenant_freeze(actor=founder, tenant=tenant, reason_code="abuse", reason=REASON), 10
    )
    assert sum(result.ok for result in results) == 1
    assert {result.error.http_status for result in results if not result.ok} == {409}
    assert FounderAction.objects.filter(tenant=tenant).count() == 1
    assert len(events("tenant.frozen")) == 1


def test_a_lapsed_freeze_is_recorded_as_expired_before_the_next_freeze(tenant, freeze):
    old = freeze(tenant, duration_minutes=5)
    with time_machine.travel(timezone.now() + timedelta(minutes=20), tick=False):
        new = freeze(tenant, reason_code="fraud")
    old.refresh_from_db()
    assert old.status == ActionStatus.EXPIRED and old.ended_at == old.expires_at
    assert new.status == ActionStatus.ACTIVE
    [ended] = events("tenant.unfrozen")
    assert ended["action_id"] == old.pk and ended["ended_by"] == "expiry"


def test_several_throttles_the_lowest_applies(tenant, throttle):
    throttle(tenant, 600)
    strict = throttle(tenant, 120, duration_minutes=60)
    snapshot = enforcement.load_snapshot(tenant.ref)
    answer = enforcement.answer(snapshot)
    assert (answer["state"], answer["throttle_rpm"], answer["action_id"]) == (
        "throttled",
        120,
        strict.pk,
    )
    assert enforcement.state_of(snapshot).until == strict.expires_at


@pytest.mark.parametrize("role", ["care_agent", "care_lead", "sre", "finance", "auditor"])
def test_only_founders_and_admins_take_founder_actions(tenant, make_user, role, freeze):
    actor = Actor(user=make_user(role))
    frozen = freeze(TenantFactory())
    refusals = [
        tenant_freeze(actor=actor, tenant=tenant, reason_code="abuse", reason=REASON),
        tenant_throttle(
            actor=actor, tenant=tenant, reason_code="abuse", reason=REASON, throttle_rpm=5
        ),
        founder_action_reverse(actor=actor, action=frozen, reason=REASON),
    ]
    assert [result.error.http_status for result in refusals] == [403, 403, 403]
    assert FounderAction.objects.count() == 1
    admin = Actor(user=make_user("admin"))
    assert tenant_freeze(actor=admin, tenant=tenant, reason_code="abuse", reason=REASON).ok


# --- Reversal -------------------------------------------------------------------------------------


def test_reversing_a_freeze_keeps_its_own_reason_and_the_tenant_is_active_at_once(
    tenant, founder, freeze
):
    action = freeze(tenant)
    reversed_action = founder_action_reverse(
        actor=founder, action=action, reason="Their engineers shipped the fix."
    ).unwrap()
    assert reversed_action.status == ActionStatus.REVERSED
    assert reversed_action.reversed_by == founder.user
    assert reversed_action.reversal_reason == "Their engineers shipped the fix."
    assert state(tenant) == "active"
    [payload] = events("tenant.unfrozen")
    assert payload["ended_by"] == "reversal" and payload["enforcement"]["state"] == "active"


def test_reversal_needs_a_reason(tenant, founder, freeze):
    result = founder_action_reverse(actor=founder, action=freeze(tenant), reason="because")
    assert result.error.http_status == 400 and "reason" in result.error.fields


def test_reversing_what_is_no_longer_active_is_a_conflict(tenant, founder, freeze, throttle):
    action = freeze(tenant)
    founder_action_reverse(actor=founder, action=action, reason=REASON).unwrap()
    assert (
        founder_action_reverse(actor=founder, action=action, reason=REASON).error.http_status == 409
    )
    lapsed = throttle(tenant, 50, duration_minutes=5)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        result = founder_action_reverse(actor=founder, action=lapsed, reason=REASON)
    assert result.error.http_status == 409 and "expired" in result.error.message


def test_unthrottling_one_of_two_throttles_leaves_the_other(tenant, founder, throttle):
    loose = throttle(tenant, 900)
    strict = throttle(tenant, 90)
    founder_action_reverse(actor=founder, action=strict, reason=REASON).unwrap()
    answer = enforcement.answer(enforcement.load_snapshot(tenant.ref))
    assert (answer["state"], answer["throttle_rpm"], answer["action_id"]) == (
        "throttled",
        900,
        loose.pk,
    )
    [payload] = events("tenant.unthrottled")
    assert payload["action_id"] == strict.pk and payload["enforcement"]["throttle_rpm"] == 900


# --- Expiry ---------------------------------------------------------------------------------------


def test_an_expired_throttle_stops_counting_at_its_time_and_the_job_records_it_later(
    tenant, throttle
):
    action = throttle(tenant, 300, duration_minutes=30)
    version_before = enforcement.load_snapshot(tenant.ref)["version"]
    with time_machine.travel(action.expires_at + timedelta(minutes=7), tick=False):
        assert state(tenant) == "active"  # before any job has run
        assert founder_expire_actions_task() == 1
    action.refresh_from_db()
    assert action.status == ActionStatus.EXPIRED and action.ended_at == action.expires_at
    assert enforcement.load_snapshot(tenant.ref)["version"] > version_before
    [payload] = events("tenant.unthrottled")
    assert payload["ended_by"] == "expiry" and payload["action_id"] == action.pk
    history = Events.objects.tracks(action).get(pgh_label="update")
    assert history.pgh_diff["status"] == ["active", "expired"]
    assert history.pgh_context["actor"] == "system:founder.expire_actions"
    assert history.pgh_context["operation"] == "founder.expire_actions"


def test_the_expiry_job_does_nothing_and_records_nothing_when_nothing_is_due(tenant, throttle):
    throttle(tenant, 300, duration_minutes=30)
    records = OperationRecord.objects.count()
    assert founder_expire_actions_task() == 0
    assert OperationRecord.objects.count() == records


def test_the_expiry_job_is_safe_to_run_twice(tenant, throttle, system):
    throttle(tenant, 300, duration_minutes=5)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        assert founder_actions_expire(actor=system).unwrap() == 1
        assert founder_actions_expire(actor=system).unwrap() == 0
    assert len(events("tenant.unthrottled")) == 1


# --- Incident overrides ---------------------------------------------------------------------------


def override(founder, incident, **arguments):
    values = {"reason_code": "incident_response", "reason": REASON, **arguments}
    return founder_incident_override(actor=founder, incident=incident, **values)


def test_forcing_severity_goes_through_the_incident_and_its_timeline_says_who_and_why(
    founder, incident
):
    action = override(founder, incident, override_kind="severity", severity="critical").unwrap()
    incident.refresh_from_db()
    assert incident.severity == "critical" and incident.severity_forced
    entry = incident.timeline.filter(kind=TimelineKind.OVERRIDDEN).get()
    assert entry.actor == founder.user and REASON in entry.message
    assert len(events("incident.overridden")) == 1
    history = Events.objects.tracks(action).get()
    assert history.pgh_context["operation"] == "founder.override_incident"


def test_reversing_a_forced_severity_releases_it_on_the_incident(founder, incident):
    action = override(founder, incident, override_kind="severity", severity="low").unwrap()
    founder_action_reverse(
        actor=founder, action=action, reason="The rules judge it right."
    ).unwrap()
    incident.refresh_from_db()
    assert not incident.severity_forced
    assert incident.timeline.filter(kind=TimelineKind.OVERRIDDEN).count() == 2


def test_a_suppression_lasts_the_actions_duration(founder, incident):
    action = override(founder, incident, override_kind="suppress", duration_minutes=120).unwrap()
    incident.refresh_from_db()
    assert incident.status == Status.SUPPRESSED and incident.suppressed_until == action.expires_at
    result = override(founder, Incident.objects.get(pk=incident.pk), override_kind="suppress")
    assert result.error.http_status == 400 and "duration_minutes" in result.error.fields


def test_a_force_resolve_never_expires_and_its_reversal_reopens(founder, incident):
    refused = override(founder, incident, override_kind="force_resolve", duration_minutes=60)
    assert refused.error.http_status == 400 and "duration_minutes" in refused.error.fields
    action = override(founder, incident, override_kind="force_resolve").unwrap()
    assert Incident.objects.get(pk=incident.pk).status == Status.RESOLVED
    founder_action_reverse(actor=founder, action=action, reason="Still failing for TEN-9.").unwrap()
    assert Incident.objects.get(pk=incident.pk).status == Status.OPEN


def test_one_active_override_of_a_kind_per_incident(founder, incident):
    first = override(founder, incident, override_kind="severity", severity="high").unwrap()
    result = override(founder, incident, override_kind="severity", severity="critical")
    assert result.error.http_status == 409 and f"#{first.pk}" in result.error.message


def test_overriding_a_resolved_incident_is_a_conflict_and_leaves_no_action(founder, incident):
    override(founder, incident, override_kind="force_resolve").unwrap()
    result = override(founder, incident, override_kind="severity", severity="high")
    assert result.error.http_status == 409
    assert FounderAction.objects.count() == 1


def test_an_expired_severity_override_is_released_by_the_job(founder, incident):
    action = override(
        founder, incident, override_kind="severity", severity="critical", duration_minutes=30
    ).unwrap()
    with time_machine.travel(action.expires_at + timedelta(seconds=1), tick=False):
        assert founder_expire_actions_task() == 1
    incident.refresh_from_db()
    assert not incident.severity_forced
    assert FounderAction.objects.get(pk=action.pk).status == ActionStatus.EXPIRED


def test_reversing_an_override_someone_already_undid_just_records_the_reversal(
    founder, incident, system
):
    from incidents.operations import incident_override_revert

    action = override(founder, incident, override_kind="severity", severity="high").unwrap()
    incident_override_revert(
        actor=system, incident=incident, override="severity", reason="undone by hand"
    ).unwrap()
    reversed_action = founder_action_reverse(actor=founder, action=action, reason=REASON).unwrap()
    assert reversed_action.status == ActionStatus.REVERSED
