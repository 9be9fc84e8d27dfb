from opsconsole.roles import ADMIN, AUDITOR, CARE_AGENT, CARE_LEAD, FOUNDER, SRE
from tests.access import EVERY_ROLE, Access

FOUNDERS = frozenset({FOUNDER, ADMIN})
READERS = frozenset({FOUNDER, ADMIN, AUDITOR, SRE, CARE_AGENT, CARE_LEAD})
REASON = {"reason": "Reversed for the access table test."}


def _tenant() -> dict:
    from tests.factories import TenantFactory

    return {"ref": TenantFactory(ref="TEN-ACCESS").ref}


def _action() -> dict:
    from founder.operations import tenant_throttle
    from opsconsole.registry import Actor
    from tests.factories import TenantFactory

    action = tenant_throttle(
        actor=Actor.for_system("tests"),
        tenant=TenantFactory(ref="TEN-ACCESS"),
        reason_code="abuse",
        reason="Throttled for the access table test.",
        throttle_rpm=100,
    ).unwrap()
    return {"pk": action.pk}


def _incident() -> dict:
    from incidents.operations import incident_open_or_update
    from opsconsole.registry import Actor

    incident = incident_open_or_update(
        actor=Actor.for_system("tests"),
        fingerprint="access-table",
        title="Access table incident",
        component="checkout",
        category="availability",
        severity="medium",
        source="monitoring",
        message="Opened for the access table test.",
    ).unwrap()
    return {"pk": incident.pk}


ACCESS = {
    "founder:tenant_list": Access(EVERY_ROLE),
    "founder:tenant_detail": Access(EVERY_ROLE, kwargs=_tenant),
    "founder:tenant_freeze": Access(FOUNDERS, kwargs=_tenant),
    "founder:tenant_throttle": Access(FOUNDERS, kwargs=_tenant),
    "founder:action_list": Access(READERS),
    "founder:action_detail": Access(READERS, kwargs=_action),
    "founder:action_reverse": Access(FOUNDERS, kwargs=_action),
    "founder:incident_override": Access(FOUNDERS, kwargs=_incident),
    "founder_api:action_list": Access(READERS, note="POST is for founders: test_api checks it"),
    "founder_api:action_detail": Access(READERS, kwargs=_action),
    "founder_api:action_reverse": Access(
        FOUNDERS, method="POST", kwargs=_action, data=lambda: REASON
    ),
    "founder_api:enforcement_tenant": Access(READERS, kwargs=_tenant),
    "founder_api:enforcement_changes": Access(READERS),
}
