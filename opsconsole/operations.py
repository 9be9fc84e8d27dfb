"""The kernel's own writes: runtime switch, API keys, outbox redelivery, tenants' reference data."""

from typing import Any

from django.utils import timezone

from opsconsole.apikeys import SCOPES, generate_key, hash_key
from opsconsole.models import ApiKey, Delivery, DeliveryStatus, RuntimeMode, RuntimeSwitch, Tenant
from opsconsole.registry import Actor, Conflict, Invalid, operation


@operation(
    "console.set_runtime_mode",
    permission="opsconsole.set_runtime_mode",
    maintenance_ok=True,
)
def runtime_mode_set(*, actor: Actor, mode: str, reason: str) -> RuntimeSwitch:
    """Switch the console between normal, degraded and maintenance."""
    if mode not in RuntimeMode.values:
        raise Invalid(
            f"Unknown mode {mode!r}.", fields={"mode": ["Choose normal, degraded or maintenance."]}
        )
    if mode != RuntimeMode.NORMAL and len(reason.strip()) < 10:
        raise Invalid(
            "Say why, in at least 10 characters.", fields={"reason": ["At least 10 characters."]}
        )
    switch, _ = RuntimeSwitch.objects.select_for_update().get_or_create(pk=1)
    switch.mode, switch.reason, switch.changed_by = mode, reason.strip(), actor.user
    switch.save()
    return switch


@operation("console.create_api_key", permission="opsconsole.add_apikey")
def api_key_create(*, actor: Actor, name: str, scopes: list[str]) -> ApiKey:
    """Create a scoped API key; the key itself is on the result's `raw_key`, shown once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Invalid(
            f"Unknown scopes: {', '.join(unknown)}." if unknown else "Give at least one scope.",
            fields={"scopes": [f"Choose from: {', '.join(sorted(SCOPES))}."]},
        )
    if not name.strip():
        raise Invalid(
            "Name the key after the service that uses it.", fields={"name": ["Required."]}
        )
    if ApiKey.objects.filter(name=name.strip()).exists():
        raise Conflict(f"A key named {name.strip()!r} exists already.", fields={"name": ["Taken."]})
    raw, prefix = generate_key()
    api_key = ApiKey.objects.create(
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_key(raw),
        scopes=sorted(set(scopes)),
        created_by=actor.user,
    )
    api_key.raw_key = raw
    return api_key


@operation("console.revoke_api_key", permission="opsconsole.change_apikey", target="api_key")
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoke an API key; requests with it are refused from the next one on."""
    if api_key.revoked_at is not None:
        raise Conflict(f"{api_key.name} was revoked already.")
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    return api_key


@operation("console.requeue_delivery", permission="opsconsole.change_delivery", target="delivery")
def delivery_requeue(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Give a dead outbox delivery a fresh set of attempts."""
    if delivery.status != DeliveryStatus.DEAD:
        raise Conflict("Only deliveries that were given up can be requeued.")
    delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return delivery


TENANT_FIELDS = ("name", "segment", "plan", "market", "mrr", "created_at")


@operation("console.upsert_tenants", permission="opsconsole.add_tenant", scope="tenants:write")
def tenants_upsert(*, actor: Actor, tenants: list[dict[str, Any]]) -> int:
    """Create or update tenants' reference data by ref, as the platform knows them."""
    rows = [
        Tenant(ref=item["ref"], **{name: item[name] for name in TENANT_FIELDS}) for item in tenants
    ]
    for row in rows:
        row.full_clean(validate_unique=False)
    Tenant.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["ref"], update_fields=list(TENANT_FIELDS)
    )
    return len(rows)
