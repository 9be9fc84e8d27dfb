"""What every incidents operation shares: timeline entries and the outbox payload."""

from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from opsconsole.outbox import emit
from opsconsole.registry import Actor


def timeline_entry(
    incident: Incident, kind: str, actor: Actor, message: str = "", data: dict | None = None
) -> TimelineEntry:
    """An unsaved entry, for bulk_create; `record` saves one."""
    return TimelineEntry(
        incident=incident,
        kind=kind,
        actor=actor.user,
        actor_label=actor.label,
        message=message,
        data=data or {},
    )


def record(
    incident: Incident, kind: str, actor: Actor, message: str = "", data: dict | None = None
) -> TimelineEntry:
    entry = timeline_entry(incident, kind, actor, message, data)
    entry.save()
    return entry


def mark_resolved(incident: Incident, actor: Actor, note: str) -> None:
    """Resolve (the transition must be allowed) and keep who, when, why and how long it took."""
    incident.resolve()
    now = timezone.now()
    incident.resolved_at, incident.resolved_by = now, actor.user
    incident.resolution_note = note
    incident.time_to_resolve = now - incident.opened_at
    incident.suppressed_until = None


def clear_resolution(incident: Incident) -> None:
    incident.resolved_at = incident.resolved_by = incident.time_to_resolve = None
    incident.resolution_note = ""


def regress(incident: Incident) -> None:
    """A resolved incident whose problem came back: regressed, counted, resolution cleared."""
    incident.regress()
    incident.regression_count += 1
    clear_resolution(incident)
    incident.save()


def incident_payload(incident: Incident) -> dict:
    return {
        "incident_id": incident.pk,
        "fingerprint": incident.fingerprint,
        "title": incident.title,
        "component": incident.component,
        "category": incident.category,
        "severity": incident.severity,
        "status": incident.status,
        "source": incident.source,
    }


def announce(event_type: str, incident: Incident, **extra) -> None:
    emit(
        event_type,
        aggregate=f"incident:{incident.pk}",
        payload={**incident_payload(incident), **extra},
    )
