"""The operation registry's cost per write: one registered operation against the same UPDATE in a
bare transaction. The registry adds a permission check, a runtime-switch read, history context
and an OperationRecord insert; this shows what that costs on a real database."""

from django.db import transaction
from django.utils import timezone

from bench.common import Figure, median_seconds
from opsconsole.models import Tenant
from opsconsole.registry import Actor, OperationRegistry, operation

CALLS = 500
local = OperationRegistry()


def rename(tenant_id: int, name: str) -> None:
    Tenant.objects.filter(pk=tenant_id).update(name=name)


@operation("bench.rename_tenant", permission="opsconsole.change_tenant", into=local)
def tenant_rename(*, actor: Actor, tenant_id: int, name: str) -> None:
    rename(tenant_id, name)


def run() -> list[Figure]:
    tenant = Tenant.objects.create(
        ref="TEN-BENCH1",
        name="Bench",
        segment="smb",
        plan="growth",
        market="AT",
        created_at=timezone.now(),
    )
    actor = Actor.for_system("bench")

    def through_registry():
        for n in range(CALLS):
            tenant_rename(actor=actor, tenant_id=tenant.pk, name=f"Bench {n}").unwrap()

    def bare():
        for n in range(CALLS):
            with transaction.atomic():
                rename(tenant.pk, f"Bench {n}")

    registry_seconds = median_seconds(through_registry, repeat=3)
    bare_seconds = median_seconds(bare, repeat=3)
    per_call_ms = registry_seconds / CALLS * 1000
    floor_ms = bare_seconds / CALLS * 1000
    return [
        Figure(
            name="registered write (latency)",
            value=per_call_ms,
            unit="ms",
            floor_name="same UPDATE in a bare transaction",
            floor=floor_ms,
            better="lower",
            target="informational",
        )
    ]
