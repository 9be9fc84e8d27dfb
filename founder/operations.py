"""Founder actions: freeze, throttle, override an incident; reverse; expire. The seed's founder
action write service, with its driver folded into the ORM.

Every change of a tenant's enforcement goes through `enforcement.tenant_changed` in its
transaction (a version for the change feed, the cache fenced and refreshed at the commit) and
announces itself in the outbox. Incident overrides are carried out by the incidents app's own
operations, called from here, so the incident's timeline says who overrode it and why.
"""

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from founder import enforcement
from founder.models import (
    MAX_DURATION_MINUTES,
    MAX_THROTTLE_RPM,
    MIN_DURATION_MINUTES,
    MIN_REASON_LENGTH,
    MIN_THROTTLE_RPM,
    ActionStatus,
    ActionType,
    FounderAction,
    OverrideKind,
    ReasonCode,
)
from incidents.models import Incident, Severity, Status
from incidents.operations import incident_override, incident_override_revert
from opsconsole.models import Tenant
from opsconsole.outbox import emit
from opsconsole.registry import Actor, Conflict, Invalid, operation

# (event when it starts, event when it ends) per tenant action type
TENANT_EVENTS = {
    ActionType.FREEZE: ("tenant.frozen", "tenant.unfrozen"),
    ActionType.THROTTLE: ("tenant.throttled", "tenant.unthrottled"),
}


# --- Checks shared by every action ----------------------------------------------------------------


def checked_reason(reason: str, *, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise Invalid(
            f"Say why in at least {MIN_REASON_LENGTH} characters.",
            fields={field: [f"At least {MIN_REASON_LENGTH} characters."]},
        )
    return reason


def _checked_code(reason_code: str) -> str:
    if reason_code not in ReasonCode.values:
        raise Invalid(
            f"Unknown reason code {reason_code!r}.",
            fields={"reason_code": [f"One of: {', '.join(ReasonCode.values)}."]},
        )
    return reason_code


def _expiry(now: datetime, duration_minutes: int | None) -> datetime | None:
    if duration_minutes is None:
        return None
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        raise Invalid(
            "The duration must be between 5 minutes and 90 days.",
            fields={
                "duration_minutes": [
                    f"From {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES:,} minutes (90 days)."
                ]
            },
        )
    return now + timedelta(minutes=duration_minutes)


def _checked(reason_code: str, reason: str, duration_minutes: int | None, now) -> dict:
    """The fields every action shares, checked: reason code, written reason, expiry."""
    return {
        "reason": checked_reason(reason),
        "reason_code": _checked_code(reason_code),
        "expires_at": _expiry(now, duration_minutes),
    }


def _create(actor: Actor, now: datetime, **fields) -> FounderAction:
    return FounderAction.objects.create(
        created_by=actor.user, created_by_label=actor.label, created_at=now, **fields
    )


def _begin_tenant_change(tenant: Tenant, now: datetime) -> None:
    """One enforcement change at a time, starting from the tenant's actions still in force."""
    enforcement.serialize_changes()
    _settle_lapsed(FounderAction.objects.filter(tenant=tenant), now)


# --- Tenants --------------------------------------------------------------------------------------


@operation("founder.freeze_tenant", permission="founder.freeze_tenant", target="tenant")
def tenant_freeze(
    *,
    actor: Actor,
    tenant: Tenant,
    reason_code: str,
    reason: str,
    duration_minutes: int | None = None,
) -> FounderAction:
    """Freeze a tenant: it may do nothing on the platform until reversed or expired."""
    now = timezone.now()
    fields = _checked(reason_code, reason, duration_minutes, now)
    _begin_tenant_change(tenant, now)
    frozen = FounderAction.objects.active().filter(tenant=tenant, type=ActionType.FREEZE).first()
    if frozen is not None:
        until = f" until {frozen.expires_at:%Y-%m-%d %H:%M} UTC" if frozen.expires_at else ""
        raise Conflict(
            f"{tenant.ref} is frozen already{until} (action #{frozen.pk} by "
            f"{frozen.created_by_label}); reverse that freeze to change it."
        )
    action = _create(actor, now, type=ActionType.FREEZE, tenant=tenant, **fields)
    _announce_start(action)
    return action


@operation("founder.throttle_tenant", permission="founder.throttle_tenant", target="tenant")
def tenant_throttle(
    *,
    actor: Actor,
    tenant: Tenant,
    reason_code: str,
    reason: str,
    throttle_rpm: int,
    duration_minutes: int | None = None,
) -> FounderAction:
    """Limit a tenant's requests per minute; with several throttles the lowest limit applies."""
    now = timezone.now()
    fields = _checked(reason_code, reason, duration_minutes, now)
    if not isinstance(throttle_rpm, int) or not (
        MIN_THROTTLE_RPM <= throttle_rpm <= MAX_THROTTLE_RPM
    ):
        raise Invalid(
            "The throttle must be 1 to 1,000,000 requests per minute.",
            fields={"throttle_rpm": [f"From {MIN_THROTTLE_RPM} to {MAX_THROTTLE_RPM:,}."]},
        )
    _begin_tenant_change(tenant, now)
    action = _create(
        actor, now, type=ActionType.THROTTLE, tenant=tenant, throttle_rpm=throttle_rpm, **fields
    )
    _announce_start(action)
    return action


def _announce_start(action: FounderAction) -> None:
    version = enforcement.tenant_changed(action.tenant)
    _emit_tenant_event(TENANT_EVENTS[action.type][0], action, version)


def _announce_end(action: FounderAction, ended_by: str) -> None:
    version = enforcement.tenant_changed(action.tenant)
    _emit_tenant_event(TENANT_EVENTS[action.type][1], action, version, ended_by=ended_by)


def _emit_tenant_event(event_type: str, action: FounderAction, version: int, **extra) -> None:
    """The event, with the tenant's enforcement after the change, as the endpoint answers it."""
    snapshot = enforcement.load_snapshot(action.tenant.ref)
    emit(
        event_type,
        aggregate=f"tenant:{action.tenant.ref}",
        payload={
            "tenant": action.tenant.ref,
            "action_id": action.pk,
            "reason_code": action.reason_code,
            "reason": action.reason,
            "throttle_rpm": action.throttle_rpm,
            "expires_at": action.expires_at,
            "by": action.created_by_label,
            "enforcement": enforcement.answer(snapshot),
            "version": version,
            **extra,
        },
    )


# --- Incidents ------------------------------------------------------------------------------------


@operation("founder.override_incident", permission="founder.override_incident", target="incident")
def founder_incident_override(
    *,
    actor: Actor,
    incident: Incident,
    reason_code: str,
    reason: str,
    override_kind: str,
    severity: str = "",
    duration_minutes: int | None = None,
) -> FounderAction:
    """Force an incident's severity, suppress it for a while, or force-resolve it — through the
    incidents app's override, which puts who and why on the incident's timeline."""
    now = timezone.now()
    fields = _checked(reason_code, reason, duration_minutes, now)
    _check_override(override_kind, severity, duration_minutes)
    _settle_lapsed(FounderAction.objects.filter(incident=incident), now)
    active = FounderAction.objects.active().filter(incident=incident, override_kind=override_kind)
    if (existing := active.first()) is not None:
        raise Conflict(
            f"Incident #{incident.pk} already has an active {existing.summary} override "
            f"(action #{existing.pk}); reverse it first."
        )
    # The incident first: the history context of a transaction is the one set at its last
    # tracked write, and that should name this operation, not the nested one.
    incident_override(
        actor=actor,
        incident=incident,
        reason=fields["reason"],
        severity=severity if override_kind == OverrideKind.SEVERITY else "",
        suppress_until=fields["expires_at"] if override_kind == OverrideKind.SUPPRESS else None,
        force_resolve=override_kind == OverrideKind.FORCE_RESOLVE,
    ).unwrap()
    return _create(
        actor,
        now,
        type=ActionType.OVERRIDE,
        incident=incident,
        override_kind=override_kind,
        override_severity=severity if override_kind == OverrideKind.SEVERITY else "",
        **fields,
    )


def _check_override(kind: str, severity: str, duration_minutes: int | None) -> None:
    if kind not in OverrideKind.values:
        raise Invalid(
            f"Unknown override {kind!r}.",
            fields={"override_kind": [f"One of: {', '.join(OverrideKind.values)}."]},
        )
    if kind == OverrideKind.SEVERITY and severity not in Severity.values:
        raise Invalid(
            "Choose the severity to force.",
            fields={"severity": [f"One of: {', '.join(Severity.values)}."]},
        )
    if kind == OverrideKind.SUPPRESS and duration_minutes is None:
        raise Invalid(
            "A suppression needs a duration: the incident comes back when it ends.",
            fields={"duration_minutes": ["Required to suppress."]},
        )
    if kind == OverrideKind.FORCE_RESOLVE and duration_minutes is not None:
        raise Invalid(
            "A force-resolve does not expire; reverse it to reopen the incident.",
            fields={"duration_minutes": ["Leave empty to force-resolve."]},
        )


def _override_in_effect(action: FounderAction) -> bool:
    """Whether the incident still shows the override (someone may have undone it by hand)."""
    incident = action.incident
    if action.override_kind == OverrideKind.SEVERITY:
        return incident.severity_forced
    if action.override_kind == OverrideKind.SUPPRESS:
        return incident.status == Status.SUPPRESSED
    return incident.status == Status.RESOLVED


def _undo_override(actor: Actor, action: FounderAction, reason: str) -> None:
    if _override_in_effect(action):
        incident_override_revert(
            actor=actor, incident=action.incident, override=action.override_kind, reason=reason
        ).unwrap()


# --- Reversal and expiry --------------------------------------------------------------------------


@operation("founder.reverse_action", permission="founder.reverse_founderaction", target="action")
def founder_action_reverse(*, actor: Actor, action: FounderAction, reason: str) -> FounderAction:
    """Reverse an active founder action, with its own reason; a tenant's state follows at once."""
    reason = checked_reason(reason)
    if action.tenant_id:
        enforcement.serialize_changes()
    action = FounderAction.objects.select_for_update().get(pk=action.pk)
    now = timezone.now()
    if action.status != ActionStatus.ACTIVE:
        raise Conflict(
            f"Action #{action.pk} was {action.get_status_display().lower()} "
            f"{action.ended_at:%Y-%m-%d %H:%M} UTC; there is nothing to reverse."
        )
    if action.expires_at is not None and action.expires_at <= now:
        raise Conflict(
            f"Action #{action.pk} expired at {action.expires_at:%Y-%m-%d %H:%M} UTC; "
            "there is nothing to reverse."
        )
    if action.incident_id:
        _undo_override(actor, action, f"Founder action #{action.pk} reversed: {reason}")
    action.status, action.ended_at = ActionStatus.REVERSED, now
    action.reversed_by, action.reversed_by_label = actor.user, actor.label
    action.reversal_reason = reason
    action.save()
    if action.tenant_id:
        _announce_end(action, ended_by="reversal")
    return action


@operation("founder.expire_actions")
def founder_actions_expire(*, actor: Actor, limit: int = 500) -> int:
    """Record as `expired` every active action whose time has run out (run by beat); returns how
    many. Their tenants' state changed at the expiry time already; this records it, publishes the
    change and undoes expired incident overrides."""
    enforcement.serialize_changes()
    expired = _settle_lapsed(
        FounderAction.objects.all(), timezone.now(), limit=limit, actor=actor, skip_locked=True
    )
    return len(expired)


def _settle_lapsed(
    actions: QuerySet[FounderAction],
    now: datetime,
    *,
    limit: int | None = None,
    actor: Actor | None = None,
    skip_locked: bool = False,
) -> list[FounderAction]:
    """Mark the lapsed among `actions` expired at their expiry time. Also called before a new
    freeze or override, so the one-active-per-target indexes see only actions still in force."""
    lapsed = list(
        actions.lapsed(now)
        .select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("tenant", "incident")
        .order_by("expires_at", "id")[:limit]
    )
    for action in lapsed:
        if action.override_kind == OverrideKind.SEVERITY:
            # A suppression ends by itself at the same time (incidents.end_suppressions); a
            # forced severity is released here. Force-resolves never expire.
            by = actor or Actor.for_system("founder.expire_actions")
            _undo_override(by, action, f"Founder action #{action.pk} expired.")
        action.status, action.ended_at = ActionStatus.EXPIRED, action.expires_at
        action.save(update_fields=["status", "ended_at"])
        if action.tenant_id:
            _announce_end(action, ended_by="expiry")
    return lapsed
