"""The operation registry's guarantees: checked, audited whatever the outcome, one transaction."""

from datetime import UTC, datetime

import pytest
from django.db import ProgrammingError

from opsconsole.models import OperationRecord, Outcome, RuntimeMode, RuntimeSwitch, Tenant
from opsconsole.operations import runtime_mode_set
from opsconsole.registry import (
    Actor,
    Invalid,
    OperationRegistry,
    Result,
    operation,
    registry,
)
from tests.factories import TenantFactory

NOW = datetime(2026, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db

local = OperationRegistry()


@operation("tests.create_tenant", permission="opsconsole.add_tenant", into=local)
def create_tenant(*, actor: Actor, ref: str) -> Tenant:
    return Tenant.objects.create(
        ref=ref, name="Made by a test", segment="smb", plan="growth", market="AT", created_at=NOW
    )


@operation("tests.write_then_crash", permission="opsconsole.add_tenant", into=local)
def write_then_crash(*, actor: Actor, ref: str) -> None:
    create_tenant.spec.func(actor=actor, ref=ref)
    raise RuntimeError("boom after a write")


@operation("tests.refuse", permission="opsconsole.add_tenant", target="tenant", into=local)
def refuse(*, actor: Actor, tenant: Tenant) -> None:
    raise Invalid("The reason is too short.", fields={"reason": ["At least 10 characters."]})


@operation("tests.duplicate", permission="opsconsole.add_tenant", into=local)
def duplicate(*, actor: Actor, ref: str) -> None:
    create_tenant.spec.func(actor=actor, ref=ref)
    create_tenant.spec.func(actor=actor, ref=ref)


@operation("tests.outer", permission="opsconsole.add_tenant", into=local)
def outer_then_own_write(*, actor: Actor, ref: str, reason: str) -> Tenant:
    create_tenant(actor=actor, ref=f"{ref}-INNER").unwrap()
    return create_tenant.spec.func(actor=actor, ref=ref)


@pytest.fixture
def admin_actor(make_user):
    return Actor(user=make_user("admin"))


def records(name: str):
    return list(OperationRecord.objects.filter(operation=name))


def test_success_returns_the_value_and_records_who_did_what(admin_actor):
    result = create_tenant(actor=admin_actor, ref="TEN-1")
    assert result.ok and isinstance(result.value, Tenant)
    [record] = records("tests.create_tenant")
    assert record.outcome == Outcome.OK
    assert record.actor == admin_actor.user and record.role == "admin"
    assert record.target_type == "opsconsole.tenant" and record.target_id == str(result.value.pk)
    assert record.parameters == {"ref": "TEN-1"}
    assert record.runtime_mode == RuntimeMode.NORMAL
    assert result.record_id == record.pk


def test_a_role_without_the_permission_is_denied_and_the_refusal_is_recorded(make_user):
    result = create_tenant(actor=Actor(user=make_user("care_agent")), ref="TEN-2")
    assert not result.ok and result.error.code == "forbidden" and result.error.http_status == 403
    assert not Tenant.objects.filter(ref="TEN-2").exists()
    [record] = records("tests.create_tenant")
    assert record.outcome == Outcome.DENIED and record.role == "care_agent"


def test_invalid_input_is_recorded_with_its_fields(admin_actor, tenant):
    result = refuse(actor=admin_actor, tenant=tenant)
    assert result.error.fields == {"reason": ["At least 10 characters."]}
    [record] = records("tests.refuse")
    assert record.outcome == Outcome.INVALID and record.error_code == "invalid"
    assert record.target_repr == str(tenant)


def test_a_crash_rolls_back_every_write_but_keeps_the_record(admin_actor):
    result = write_then_crash(actor=admin_actor, ref="TEN-3")
    assert result.error.code == "internal_error" and result.error.http_status == 500
    assert not Tenant.objects.filter(ref="TEN-3").exists(), "the write must be rolled back"
    [record] = records("tests.write_then_crash")
    assert record.outcome == Outcome.FAILED


def test_a_unique_violation_is_a_conflict(admin_actor):
    result = duplicate(actor=admin_actor, ref="TEN-4")
    assert result.error.code == "conflict" and result.error.http_status == 409
    assert records("tests.duplicate")[0].outcome == Outcome.CONFLICT


def test_unwrap_raises_the_error_for_callers_inside_other_operations(admin_actor, tenant):
    with pytest.raises(Invalid):
        refuse(actor=admin_actor, tenant=tenant).unwrap()


def test_after_a_nested_operation_history_names_the_outer_one(admin_actor):
    """pghistory keeps one context per transaction; the operation the person called names it."""
    from pghistory.models import Events

    tenant = outer_then_own_write(actor=admin_actor, ref="TEN-7", reason="Outer reason").unwrap()
    context = Events.objects.tracks(tenant).get().pgh_context
    assert context["operation"] == "tests.outer" and context["reason"] == "Outer reason"


def test_api_keys_need_the_operations_scope_and_the_system_may_call_anything(service, system):
    key_without_scope = service("events:write").api_key
    assert (
        create_tenant(actor=Actor(api_key=key_without_scope), ref="TEN-5").error.code == "forbidden"
    )
    assert create_tenant(actor=system, ref="TEN-6").ok
    assert records("tests.create_tenant")[0].actor_label == "system:tests"


def test_maintenance_refuses_every_write_except_switching_back(admin_actor):
    runtime_mode_set(
        actor=admin_actor, mode="maintenance", reason="database upgrade tonight"
    ).unwrap()
    refused = create_tenant(actor=admin_actor, ref="TEN-7")
    assert refused.error.code == "maintenance" and refused.error.http_status == 503
    assert records("tests.create_tenant")[0].outcome == Outcome.DENIED
    assert runtime_mode_set(actor=admin_actor, mode="normal", reason="").ok
    assert create_tenant(actor=admin_actor, ref="TEN-7").ok


def test_degraded_mode_lets_writes_through_and_tags_their_records(admin_actor):
    runtime_mode_set(actor=admin_actor, mode="degraded", reason="Redis is flapping today").unwrap()
    assert create_tenant(actor=admin_actor, ref="TEN-8").ok
    assert records("tests.create_tenant")[0].runtime_mode == RuntimeMode.DEGRADED


def test_switching_to_maintenance_needs_a_reason(admin_actor):
    result = runtime_mode_set(actor=admin_actor, mode="maintenance", reason="")
    assert "reason" in result.error.fields
    assert not RuntimeSwitch.objects.exists()


def test_records_are_append_only():
    record = OperationRecord.objects.create(
        operation="x", actor_label="x", outcome="ok", duration_ms=1, runtime_mode="normal"
    )
    with pytest.raises(ProgrammingError, match="Cannot update or delete"):
        OperationRecord.objects.filter(pk=record.pk).update(outcome="failed")


def test_secrets_never_reach_a_record(admin_actor):
    @operation("tests.secretive", permission="opsconsole.add_tenant", into=OperationRegistry())
    def secretive(*, actor: Actor, password: str, api_token: str) -> None:
        return None

    secretive(actor=admin_actor, password="hunter2", api_token="abc")
    assert OperationRecord.objects.get(operation="tests.secretive").parameters == {
        "password": "***",
        "api_token": "***",
    }


def test_the_registry_is_closed_once_apps_are_ready():
    assert registry.is_frozen
    with pytest.raises(RuntimeError, match="after the registry was closed"):
        operation("tests.late", permission="x")(lambda *, actor: None)


def test_status_lists_operations_and_the_switch():
    status = registry.status()
    assert "console.set_runtime_mode" in status["operations"]
    assert status["count"] == len(status["operations"]) and status["runtime_mode"] == "normal"


def test_an_actor_is_required():
    with pytest.raises(TypeError):
        create_tenant(actor="admin", ref="TEN-9")


def test_result_type_is_one_for_all(admin_actor, tenant):
    assert isinstance(create_tenant(actor=admin_actor, ref="TEN-10"), Result)
    assert isinstance(refuse(actor=admin_actor, tenant=tenant), Result)


@operation("tests.lock_in_order", permission="opsconsole.add_tenant", into=local)
def lock_in_order(*, actor: Actor, first: int, second: int, meet) -> None:
    Tenant.objects.select_for_update().get(pk=first)
    meet.wait(timeout=10)
    Tenant.objects.select_for_update().get(pk=second)


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_is_a_conflict_to_retry_not_an_outage(system):
    """Two operations locking two rows in opposite orders: PostgreSQL picks a victim, whose
    caller hears 409 `retry` (nothing written), and the other goes through."""
    import threading

    from tests.concurrency import run_concurrently

    a, b = TenantFactory(), TenantFactory()
    meet = threading.Barrier(2)
    orders = iter([(a.pk, b.pk), (b.pk, a.pk)])

    def call():
        first, second = next(orders)
        return lock_in_order(actor=system, first=first, second=second, meet=meet)

    results = run_concurrently(call, 2)
    assert sorted(result.ok for result in results) == [False, True]
    [refused] = [result for result in results if not result.ok]
    assert (refused.error.code, refused.error.http_status) == ("retry", 409)
