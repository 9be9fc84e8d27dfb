"""The founder app's demo: a frozen tenant, throttled ones, reversed actions and an overridden
incident — all taken through the operations by the demo founder, so history and the outbox look
as they would in production. Idempotent: an action already taken (same tenant or incident, type
and reason) is not taken again."""

import uuid
from datetime import timedelta

from django.utils import timezone

from founder.models import FounderAction, OverrideKind
from founder.operations import (
    founder_action_reverse,
    founder_incident_override,
    tenant_freeze,
    tenant_throttle,
)
from incidents import rules as incident_rules
from incidents.operations import ErrorEventIn, errors_ingest
from incidents.selectors import tenant_incident_list
from opsconsole.models import Tenant
from opsconsole.registry import Actor

# (tenant ref, operation, arguments, reversal reason or None)
TENANT_ACTIONS = [
    (
        "TEN-117",
        tenant_freeze,
        {
            "reason_code": "abuse",
            "reason": "Their booking widget loops on errors and sent 40k requests a minute; "
            "frozen until their engineers ship the fix.",
            "duration_minutes": 7 * 24 * 60,
        },
        None,
    ),
    (
        "TEN-142",
        tenant_throttle,
        {
            "reason_code": "runaway_traffic",
            "reason": "Nightly export job floods the availability API.",
            "throttle_rpm": 600,
            "duration_minutes": 3 * 24 * 60,
        },
        None,
    ),
    (
        "TEN-142",
        tenant_throttle,
        {
            "reason_code": "incident_response",
            "reason": "Tighter limit while the inventory incident is worked.",
            "throttle_rpm": 120,
            "duration_minutes": 4 * 60,
        },
        None,
    ),
    (
        "TEN-205",
        tenant_throttle,
        {
            "reason_code": "non_payment",
            "reason": "Three invoices overdue; reduced service until finance hears back.",
            "throttle_rpm": 2000,
        },
        None,
    ),
    (
        "TEN-163",
        tenant_freeze,
        {
            "reason_code": "fraud",
            "reason": "Card-testing pattern on their checkout: 900 declined cards in an hour.",
        },
        "Their checkout now requires 3-D Secure; card testing stopped.",
    ),
    (
        "TEN-188",
        tenant_throttle,
        {
            "reason_code": "customer_request",
            "reason": "They asked for a hard cap during their load test.",
            "throttle_rpm": 5000,
        },
        "Load test finished; cap lifted at their request.",
    ),
]

INCIDENT_FINGERPRINT = "demo-founder-inventory-sync"
OVERRIDE_REASON = (
    "Inventory sync failures oversell tours for our largest tenants; treat as critical."
)


def seed(context) -> None:
    founder = Actor(user=context.users["founder"])
    taken = 0
    for ref, call, arguments, reversal in TENANT_ACTIONS:
        tenant = Tenant.objects.filter(ref=ref).first()
        if tenant is None or _taken(tenant=tenant, reason=arguments["reason"]):
            continue
        action = call(actor=founder, tenant=tenant, **arguments).unwrap()
        if reversal:
            founder_action_reverse(actor=founder, action=action, reason=reversal).unwrap()
        taken += 1
    taken += _override_incident(context, founder)
    context.say(f"  founder actions: {taken} taken (now {FounderAction.objects.count()} in all)")


def _taken(**target) -> bool:
    return FounderAction.objects.filter(**target).exists()


def _override_incident(context, founder: Actor) -> int:
    tenants = list(Tenant.objects.filter(ref__in=["TEN-117", "TEN-142", "TEN-205"]))
    if not tenants:
        return 0
    now = timezone.now()
    events = [
        ErrorEventIn(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"opsconsole-demo/founder/{index}"),
            tenant_id=tenants[index % len(tenants)].pk,
            component="inventory-sync",
            error_class="StockMismatch",
            message=f"Stock for tour slot {index} differs from the supplier's count",
            occurred_at=now - timedelta(minutes=2 * index),
            source="prg",
            severity_hint="error",
            fingerprint=INCIDENT_FINGERPRINT,
        )
        for index in range(24)
    ]
    errors_ingest(actor=context.actor, events=events).unwrap()
    fingerprint = incident_rules.fingerprint(
        component="", error_class="", message="", explicit=INCIDENT_FINGERPRINT
    )
    incident = tenant_incident_list(tenant=tenants[0]).filter(fingerprint=fingerprint).first()
    if incident is None or not incident.is_active or _taken(incident=incident):
        return 0
    founder_incident_override(
        actor=founder,
        incident=incident,
        reason_code="incident_response",
        reason=OVERRIDE_REASON,
        override_kind=OverrideKind.SEVERITY,
        severity="critical",
    ).unwrap()
    return 1
