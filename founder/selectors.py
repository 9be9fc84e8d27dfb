"""Reads for founder pages and APIs: tenants with their enforcement, founder actions."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from founder.enforcement import states_of, with_facts
from founder.models import TENANT_ACTIONS, ActionType, FounderAction
from founder.rules import ACTIVE, FROZEN, THROTTLED
from opsconsole import selectors as kernel
from opsconsole.models import Tenant


def tenant_list() -> QuerySet[Tenant]:
    """Tenants with the facts their enforcement state is computed from (see `with_states`)."""
    return with_facts(kernel.tenant_list())


def tenants_in_state(tenants: QuerySet[Tenant], state: str) -> QuerySet[Tenant]:
    """Only the tenants whose state is `state` now — in SQL, so keyset pages stay full."""
    counting = FounderAction.objects.counting(timezone.now()).filter(tenant=OuterRef("pk"))
    frozen = Exists(counting.filter(type=ActionType.FREEZE))
    throttled = Exists(counting.filter(type=ActionType.THROTTLE))
    condition = {
        FROZEN: Q(frozen),
        THROTTLED: Q(throttled) & ~Q(frozen),
        ACTIVE: ~Q(throttled) & ~Q(frozen),
    }[state]
    return tenants.filter(condition)


def with_states(tenants: list[Tenant]) -> list[Tenant]:
    """Set `enforcement_state` (a rules.TenantState) on tenants from `tenant_list`."""
    states_of(tenants)
    return tenants


def tenant_get(*, ref: str) -> Tenant | None:
    tenant = tenant_list().filter(ref=ref).first()
    return with_states([tenant])[0] if tenant is not None else None


def action_list() -> QuerySet[FounderAction]:
    return FounderAction.objects.select_related("tenant", "incident")


def tenant_action_list(*, tenant: Tenant) -> QuerySet[FounderAction]:
    return action_list().filter(tenant=tenant).order_by("-id")


def action_get(*, pk: int) -> FounderAction | None:
    return action_list().filter(pk=pk).first()


def enforcement_counts() -> dict[str, int]:
    """How many tenants are frozen and throttled now (from the few actions in force)."""
    in_force = FounderAction.objects.counting(timezone.now()).filter(type__in=TENANT_ACTIONS)
    tenants: dict[str, set[int]] = {ActionType.FREEZE: set(), ActionType.THROTTLE: set()}
    for kind, tenant_id in in_force.values_list("type", "tenant_id"):
        tenants[kind].add(tenant_id)
    frozen = tenants[ActionType.FREEZE]
    return {FROZEN: len(frozen), THROTTLED: len(tenants[ActionType.THROTTLE] - frozen)}


def lapsed_actions_exist() -> bool:
    return FounderAction.objects.lapsed(timezone.now()).exists()
