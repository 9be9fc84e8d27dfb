"""Working an incident: acknowledge, assign, annotate, resolve, reopen; a founder's override; and
the entry points other apps use to open incidents and attach the users an incident hurt.

Each change locks the incident row, moves it through its state machine (a forbidden move is a
409), and leaves a timeline entry with its author.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from incidents import rules
from incidents.models import (
    AffectedUser,
    Incident,
    Severity,
    Status,
    TimelineKind,
)
from incidents.operations.common import announce, clear_resolution, mark_resolved, record, regress
from opsconsole.models import User
from opsconsole.registry import Actor, Conflict, Invalid, operation

MIN_NOTE = 3


def _locked(incident: Incident) -> Incident:
    """The incident re-read under a row lock, so a decision is made on its current state. (NO
    KEY UPDATE: events being ingested for it keep their foreign-key locks and do not wait.)"""
    return Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)


@operation("incidents.acknowledge", permission="incidents.acknowledge_incident", target="incident")
def incident_acknowledge(*, actor: Actor, incident: Incident) -> Incident:
    """Say someone is on it."""
    incident = _locked(incident)
    if incident.status == Status.ACKNOWLEDGED:
        raise Conflict(f"#{incident.pk} is acknowledged already.")
    incident.acknowledge()
    now = timezone.now()
    incident.acknowledged_at, incident.acknowledged_by = now, actor.user
    if incident.time_to_acknowledge is None:
        incident.time_to_acknowledge = now - incident.opened_at
    incident.save()
    record(incident, TimelineKind.ACKNOWLEDGED, actor, f"Acknowledged by {actor.label}.")
    announce("incident.acknowledged", incident)
    return incident


@operation("incidents.resolve", permission="incidents.resolve_incident", target="incident")
def incident_resolve(*, actor: Actor, incident: Incident, note: str) -> Incident:
    """Close the incident with a note on what fixed it."""
    if len(note.strip()) < MIN_NOTE:
        raise Invalid("Say what resolved it.", fields={"note": ["Write a resolution note."]})
    incident = _locked(incident)
    if incident.status == Status.RESOLVED:
        raise Conflict(f"#{incident.pk} is resolved already.")
    mark_resolved(incident, actor, note.strip())
    incident.save()
    record(incident, TimelineKind.RESOLVED, actor, note.strip())
    announce("incident.resolved", incident)
    return incident


@operation("incidents.reopen", permission="incidents.resolve_incident", target="incident")
def incident_reopen(*, actor: Actor, incident: Incident, reason: str) -> Incident:
    """Open a resolved incident again."""
    if len(reason.strip()) < MIN_NOTE:
        raise Invalid("Say why it is not resolved.", fields={"reason": ["Give a reason."]})
    incident = _locked(incident)
    if incident.status != Status.RESOLVED:
        raise Conflict(f"#{incident.pk} is not resolved; only resolved incidents can be reopened.")
    if Incident.objects.active().filter(fingerprint=incident.fingerprint).exists():
        raise Conflict("A newer incident with the same errors is open; work that one instead.")
    incident.reopen()
    clear_resolution(incident)
    incident.save()
    record(incident, TimelineKind.REOPENED, actor, reason.strip())
    announce("incident.reopened", incident)
    return incident


@operation("incidents.assign", permission="incidents.acknowledge_incident", target="incident")
def incident_assign(*, actor: Actor, incident: Incident, assignee: User | None) -> Incident:
    """Give the incident to someone who works incidents, or take it back (assignee None)."""
    if assignee is not None and not assignee.has_perm("incidents.acknowledge_incident"):
        raise Invalid(
            f"{assignee} does not work incidents.",
            fields={"assignee": ["Choose an SRE or founder."]},
        )
    incident = _locked(incident)
    if incident.assignee_id == (assignee.pk if assignee else None):
        raise Conflict("It is assigned to them already." if assignee else "It is not assigned.")
    incident.assignee = assignee
    incident.save(update_fields=["assignee", "updated_at"])
    message = f"Assigned to {assignee.get_username()}." if assignee else "Unassigned."
    record(
        incident,
        TimelineKind.ASSIGNED,
        actor,
        message,
        {"assignee": assignee.pk if assignee else None},
    )
    return incident


@operation("incidents.add_note", permission="incidents.acknowledge_incident", target="incident")
def incident_note_add(*, actor: Actor, incident: Incident, text: str) -> Incident:
    """Write on the incident's timeline."""
    text = text.strip()
    if not text:
        raise Invalid("The note is empty.", fields={"text": ["Write something."]})
    if len(text) > 5000:
        raise Invalid("Keep notes under 5,000 characters.", fields={"text": ["Too long."]})
    record(incident, TimelineKind.NOTE, actor, text)
    return incident


# --- A founder's override ------------------------------------------------------------------------


@operation("incidents.override", permission="incidents.override_incident", target="incident")
def incident_override(
    *,
    actor: Actor,
    incident: Incident,
    reason: str,
    severity: str = "",
    suppress_until: datetime | None = None,
    force_resolve: bool = False,
) -> Incident:
    """Force the severity, suppress the incident until a time, or force-resolve it.

    Called by founder.override_incident, which keeps the founder action and its reversal.
    """
    chosen = [bool(severity), suppress_until is not None, force_resolve]
    if sum(chosen) != 1:
        raise Invalid(
            "Choose one override: a severity, a suppression end, or force-resolve.",
            fields={"override": ["Exactly one of severity, suppress_until, force_resolve."]},
        )
    if severity and severity not in Severity.values:
        raise Invalid(
            f"Unknown severity {severity!r}.",
            fields={"severity": [f"One of {', '.join(Severity.values)}."]},
        )
    if suppress_until is not None and suppress_until <= timezone.now():
        raise Invalid(
            "Suppress until a time in the future.", fields={"suppress_until": ["In the future."]}
        )
    incident = _locked(incident)
    if not incident.is_active:
        raise Conflict(f"#{incident.pk} is resolved; there is nothing to override.")
    if severity:
        previous = incident.severity
        incident.severity, incident.severity_forced = severity, True
        incident.save()
        message = f"Severity forced from {previous} to {severity}: {reason}"
        data = {"override": "severity", "from": previous, "to": severity}
    elif suppress_until is not None:
        if incident.status == Status.SUPPRESSED:
            incident.suppressed_until = suppress_until
        else:
            incident.suppress()
            incident.suppressed_until = suppress_until
        incident.save()
        message = f"Suppressed until {suppress_until:%Y-%m-%d %H:%M} UTC: {reason}"
        data = {"override": "suppress", "until": suppress_until.isoformat()}
    else:
        mark_resolved(incident, actor, f"Force-resolved by {actor.label}: {reason}")
        incident.save()
        message = f"Force-resolved: {reason}"
        data = {"override": "force_resolve"}
    record(incident, TimelineKind.OVERRIDDEN, actor, message, data)
    announce("incident.overridden", incident, override=data)
    return incident


@operation("incidents.revert_override", permission="incidents.override_incident", target="incident")
def incident_override_revert(
    *, actor: Actor, incident: Incident, override: str, reason: str
) -> Incident:
    """Undo a founder's override: release a forced severity, end a suppression early, or reopen a
    force-resolved incident."""
    incident = _locked(incident)
    if override == "severity":
        if not incident.severity_forced:
            raise Conflict("Its severity is not forced.")
        incident.severity_forced = False
        incident.save()
        message = f"Forced severity released; the rules set it again from now on: {reason}"
    elif override == "suppress":
        if incident.status != Status.SUPPRESSED:
            raise Conflict("It is not suppressed.")
        incident.unsuppress()
        incident.suppressed_until = None
        incident.save()
        message = f"Suppression ended early: {reason}"
    elif override == "force_resolve":
        if incident.status != Status.RESOLVED:
            raise Conflict("It is not resolved.")
        if Incident.objects.active().filter(fingerprint=incident.fingerprint).exists():
            raise Conflict("A newer incident with the same errors is open already.")
        incident.reopen()
        clear_resolution(incident)
        incident.save()
        message = f"Force-resolve undone; open again: {reason}"
    else:
        raise Invalid(
            f"Unknown override {override!r}.",
            fields={"override": ["severity, suppress or force_resolve."]},
        )
    record(incident, TimelineKind.OVERRIDDEN, actor, message, {"reverted": override})
    announce("incident.override_reverted", incident, override=override)
    return incident


@operation("incidents.end_suppressions", permission="incidents.override_incident")
def suppressions_end(*, actor: Actor, now: datetime | None = None) -> int:
    """End every suppression whose time has come (run by beat); returns how many ended."""
    now = now or timezone.now()
    ended = 0
    for incident in Incident.objects.select_for_update(skip_locked=True).filter(
        status=Status.SUPPRESSED, suppressed_until__lte=now
    ):
        incident.unsuppress()
        incident.suppressed_until = None
        incident.save()
        record(incident, TimelineKind.UNSUPPRESSED, actor, "The suppression ran out.")
        ended += 1
    return ended


# --- For other apps: incidents from alerts and policies, and the users an incident hurt ----------


@operation("incidents.open_or_update", permission="incidents.add_incident")
def incident_open_or_update(
    *,
    actor: Actor,
    fingerprint: str,
    title: str,
    component: str,
    category: str,
    severity: str,
    source: str,
    message: str,
    context: dict | None = None,
    occurred_at: datetime | None = None,
) -> Incident:
    """The one unresolved incident for `fingerprint` — opened, reopened as regressed within the
    regression window, or updated — with its severity raised (never lowered) to `severity` and
    `message` on its timeline. SLO alerts and ops policies open incidents through this."""
    now = occurred_at or timezone.now()
    incident = Incident.objects.select_for_update().active().filter(fingerprint=fingerprint).first()
    if incident is None:
        window_start = timezone.now() - settings.INCIDENT_REGRESSION_WINDOW
        incident = (
            Incident.objects.select_for_update()
            .filter(fingerprint=fingerprint, status=Status.RESOLVED, resolved_at__gte=window_start)
            .order_by("-resolved_at")
            .first()
        )
        if incident is not None:
            regress(incident)
            record(incident, TimelineKind.REGRESSED, actor, message)
            announce("incident.regressed", incident)
            return incident
        incident = Incident.objects.create(
            fingerprint=fingerprint,
            title=title[:300],
            component=component,
            error_class=source,
            category=category,
            severity=severity,
            source=source,
            first_seen_at=now,
            last_seen_at=now,
            opened_at=timezone.now(),
            context=context or {},
        )
        record(incident, TimelineKind.OPENED, actor, f"Opened as {severity}: {message}")
        announce("incident.opened", incident)
        return incident
    incident.last_seen_at = max(incident.last_seen_at, now)
    higher = rules.escalation(incident.severity, severity, forced=incident.severity_forced)
    if higher:
        record(
            incident,
            TimelineKind.ESCALATED,
            actor,
            f"Escalated from {incident.severity} to {higher}: {message}",
            {"from": incident.severity, "to": higher},
        )
        incident.severity = higher
        announce("incident.escalated", incident)
    else:
        record(incident, TimelineKind.ALERT, actor, message)
    incident.save()
    return incident


@operation(
    "incidents.attach_affected_users", permission="incidents.add_affecteduser", target="incident"
)
def affected_users_attach(
    *, actor: Actor, incident: Incident, users: list[dict], source: str
) -> int:
    """Record the end users an incident hurt (once each); returns how many were new.

    Each item: user_ref, occurred_at, and optionally tenant_id, order_amount, currency, product,
    product_version, market, vendor.
    """
    rows = []
    for index, item in enumerate(users):
        if not item.get("user_ref"):
            raise Invalid(
                f"User {index} has no user_ref.", fields={f"users.{index}.user_ref": ["Required."]}
            )
        amount = item.get("order_amount")
        rows.append(
            AffectedUser(
                incident=incident,
                user_ref=str(item["user_ref"])[:64],
                tenant_id=item.get("tenant_id"),
                order_amount=Decimal(str(amount)) if amount is not None else None,
                currency=item.get("currency", "") or "",
                product=item.get("product", "") or "",
                product_version=item.get("product_version", "") or "",
                market=item.get("market", "") or "",
                vendor=item.get("vendor", "") or "",
                source=source,
                occurred_at=item.get("occurred_at") or timezone.now(),
            )
        )
    before = AffectedUser.objects.filter(incident=incident).count()
    AffectedUser.objects.bulk_create(rows, ignore_conflicts=True)
    added = AffectedUser.objects.filter(incident=incident).count() - before
    if added:
        record(
            incident,
            TimelineKind.NOTE,
            actor,
            f"{added} affected users attached ({source}).",
            {"affected_users": added},
        )
    return added
