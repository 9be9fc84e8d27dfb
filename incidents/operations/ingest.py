"""Ingestion: error events in, incidents grouped, counted, classified and escalated per batch.

One batch is one transaction. Events are deduplicated by `event_id` (replays store nothing new),
grouped by fingerprint into the fingerprint's one unresolved incident — created race-safely
through the partial unique index, or a recently resolved one reopened as `regressed` — and the
incident counters, affected tenants and severity are updated once per batch, not per event.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents import rules
from incidents.models import Component, ErrorEvent, Incident, Status, TimelineEntry, TimelineKind
from incidents.operations.common import announce, regress, timeline_entry
from opsconsole.registry import Actor, operation

HINT_ORDER = ("", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class ErrorEventIn:
    """One validated error event (the API validates; this carries plain values)."""

    event_id: UUID
    tenant_id: int
    component: str
    error_class: str
    message: str
    occurred_at: datetime
    source: str
    severity_hint: str = ""
    context: dict = field(default_factory=dict)
    fingerprint: str = ""  # the client's explicit fingerprint, if it sent one

    def __str__(self) -> str:
        return f"{self.event_id} {self.error_class}@{self.component}"


@dataclass(frozen=True)
class IngestSummary:
    accepted: int
    duplicates: int
    incident_ids: list[int]


@operation("incidents.ingest_errors", permission="incidents.add_errorevent", scope="events:write")
def errors_ingest(*, actor: Actor, events: list[ErrorEventIn]) -> IngestSummary:
    """Store error events and fold them into incidents."""
    now = timezone.now()
    fresh = _drop_known(events)
    by_print: dict[str, list[ErrorEventIn]] = defaultdict(list)
    for event in fresh:
        by_print[_fingerprint(event)].append(event)
    if not by_print:
        return IngestSummary(accepted=0, duplicates=len(events), incident_ids=[])

    incidents, opened, regressed = _incidents_for(by_print, now)
    stored = _insert_events(by_print, incidents, now)
    touched = _count(stored)
    _update_severity(touched, opened, regressed, by_print, incidents, now, actor)
    accepted = sum(row[2] for row in stored)
    return IngestSummary(
        accepted=accepted, duplicates=len(events) - accepted, incident_ids=sorted(touched)
    )


def _fingerprint(event: ErrorEventIn) -> str:
    return rules.fingerprint(
        component=event.component,
        error_class=event.error_class,
        message=event.message,
        explicit=event.fingerprint,
    )


def _drop_known(events: list[ErrorEventIn]) -> list[ErrorEventIn]:
    """Events not stored before (and the first of any repeated within the batch)."""
    known = set(
        ErrorEvent.objects.filter(event_id__in=[event.event_id for event in events]).values_list(
            "event_id", flat=True
        )
    )
    fresh, seen = [], set()
    for event in events:
        if event.event_id not in known and event.event_id not in seen:
            seen.add(event.event_id)
            fresh.append(event)
    return fresh


def _incidents_for(by_print: dict, now: datetime) -> tuple[dict[str, int], set[int], set[int]]:
    """fingerprint → id of its unresolved incident, creating or regressing as needed."""
    incidents = dict(
        Incident.objects.active()
        .filter(fingerprint__in=list(by_print))
        .values_list("fingerprint", "id")
    )
    regressed = _regress_recent([fp for fp in by_print if fp not in incidents], now, incidents)
    opened = _open_new([fp for fp in by_print if fp not in incidents], by_print, now, incidents)
    return incidents, opened, regressed


def _regress_recent(prints: list[str], now: datetime, incidents: dict[str, int]) -> set[int]:
    """Reopen, as regressed, the latest incident of each fingerprint resolved within the window."""
    if not prints:
        return set()
    window_start = now - settings.INCIDENT_REGRESSION_WINDOW
    latest: dict[str, int] = {}
    for fp, pk in (
        Incident.objects.filter(
            fingerprint__in=prints, status=Status.RESOLVED, resolved_at__gte=window_start
        )
        .order_by("fingerprint", "-resolved_at")
        .values_list("fingerprint", "id")
    ):
        latest.setdefault(fp, pk)
    regressed = set()
    for incident in (
        Incident.objects.select_for_update().filter(pk__in=latest.values()).order_by("pk")
    ):
        # Another batch may have regressed it (or opened a new one) while we waited for the lock.
        active = Incident.objects.active().filter(fingerprint=incident.fingerprint).first()
        if active is not None:
            incidents[incident.fingerprint] = active.pk
            continue
        regress(incident)
        incidents[incident.fingerprint] = incident.pk
        regressed.add(incident.pk)
    return regressed


INSERT_INCIDENTS = """
INSERT INTO incidents_incident (
    fingerprint, title, component, error_class, category, severity, severity_forced, status,
    source, event_count, tenant_count, first_seen_at, last_seen_at, context, opened_at,
    updated_at, regression_count, resolution_note
)
SELECT fp, title, component, error_class, category, 'low', false, 'open', source, 0, 0,
       first_seen, first_seen, context::jsonb, %(now)s, %(now)s, 0, ''
FROM unnest(%(fp)s::text[], %(title)s::text[], %(component)s::text[], %(error_class)s::text[],
            %(category)s::text[], %(source)s::text[], %(first_seen)s::timestamptz[],
            %(context)s::text[])
     AS batch(fp, title, component, error_class, category, source, first_seen, context)
ON CONFLICT (fingerprint) WHERE (NOT (status = 'resolved')) DO NOTHING
RETURNING id, fingerprint
"""


def _open_new(
    prints: list[str], by_print: dict, now: datetime, incidents: dict[str, int]
) -> set[int]:
    """Create the incidents these fingerprints need. A concurrent batch that creates the same one
    first wins through the partial unique index; this batch then joins its incident."""
    if not prints:
        return set()
    columns = defaultdict(list)
    for fp in prints:
        first = min(by_print[fp], key=lambda event: event.occurred_at)
        columns["fp"].append(fp)
        columns["title"].append(
            rules.title_for(
                error_class=first.error_class, component=first.component, message=first.message
            )
        )
        columns["component"].append(first.component)
        columns["error_class"].append(first.error_class)
        columns["category"].append(
            rules.categorize(
                component=first.component,
                error_class=first.error_class,
                message=first.message,
                source=first.source,
            )
        )
        columns["source"].append(first.source)
        columns["first_seen"].append(first.occurred_at)
        columns["context"].append(_json(first.context))
    with connection.cursor() as cursor:
        cursor.execute(INSERT_INCIDENTS, {"now": now, **columns})
        created = dict((fp, pk) for pk, fp in cursor.fetchall())
    incidents.update(created)
    missing = [fp for fp in prints if fp not in created]
    if missing:  # lost the race: join the incident the other batch opened
        incidents.update(
            Incident.objects.active()
            .filter(fingerprint__in=missing)
            .values_list("fingerprint", "id")
        )
    return set(created.values())


def _json(value: dict) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


# The batch travels as one JSON document: PostgreSQL unpacks it in C, which costs a fraction of
# adapting thousands of Python values one by one. Rows go in event_id order, so two batches that
# share events take their unique-index locks in the same order and never deadlock.
INSERT_AND_COUNT = """
WITH batch AS (
    SELECT * FROM json_to_recordset(%(events)s::json) AS batch(
        event_id uuid, tenant_id bigint, incident_id bigint, component text, error_class text,
        message text, hint text, source text, context jsonb, fp text, occurred_at timestamptz)
), inserted AS (
    INSERT INTO incidents_errorevent (
        event_id, tenant_id, incident_id, component, error_class, message, severity_hint,
        source, context, fingerprint, occurred_at, received_at
    )
    SELECT event_id, tenant_id, incident_id, component, error_class, message, hint, source,
           context, fp, occurred_at, %(now)s
    FROM batch ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING incident_id, tenant_id, occurred_at, severity_hint
)
SELECT incident_id, tenant_id, count(*), min(occurred_at), max(occurred_at),
       max(CASE severity_hint WHEN 'critical' THEN 4 WHEN 'error' THEN 3
                              WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)
FROM inserted GROUP BY incident_id, tenant_id
"""


def _insert_events(by_print: dict, incidents: dict[str, int], now: datetime) -> list[tuple]:
    """Store the fresh events; (incident, tenant, count, first, last, hint rank) per pair."""
    rows = [
        {
            "event_id": str(event.event_id),
            "tenant_id": event.tenant_id,
            "incident_id": incidents[fp],
            "component": event.component,
            "error_class": event.error_class,
            "message": event.message,
            "hint": event.severity_hint,
            "source": event.source,
            "context": event.context,
            "fp": fp,
            "occurred_at": event.occurred_at.isoformat(),
        }
        for fp, batch in by_print.items()
        for event in batch
    ]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_AND_COUNT, {"now": now, "events": _json(rows)})
        return cursor.fetchall()


# Incident rows are locked in id order before their counters change, so concurrent batches that
# touch the same incidents queue instead of deadlocking. NO KEY UPDATE leaves the key-share locks
# of the events' foreign keys alone.
LOCK_INCIDENTS = """
SELECT id FROM incidents_incident WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE
"""

UPSERT_INCIDENT_TENANTS = """
INSERT INTO incidents_incidenttenant
    (incident_id, tenant_id, event_count, first_seen_at, last_seen_at)
SELECT * FROM unnest(%(incident)s::bigint[], %(tenant)s::bigint[], %(count)s::bigint[],
                     %(first)s::timestamptz[], %(last)s::timestamptz[])
ORDER BY 1, 2
ON CONFLICT (incident_id, tenant_id) DO UPDATE SET
    event_count = incidents_incidenttenant.event_count + EXCLUDED.event_count,
    first_seen_at = LEAST(incidents_incidenttenant.first_seen_at, EXCLUDED.first_seen_at),
    last_seen_at = GREATEST(incidents_incidenttenant.last_seen_at, EXCLUDED.last_seen_at)
RETURNING incident_id, xmax = 0
"""

UPDATE_INCIDENT_COUNTERS = """
UPDATE incidents_incident AS incident SET
    event_count = incident.event_count + batch.events,
    first_seen_at = LEAST(incident.first_seen_at, batch.first_seen),
    last_seen_at = GREATEST(incident.last_seen_at, batch.last_seen),
    tenant_count = incident.tenant_count + batch.new_tenants,
    updated_at = %(now)s
FROM unnest(%(incident)s::bigint[], %(count)s::bigint[], %(first)s::timestamptz[],
            %(last)s::timestamptz[], %(new_tenants)s::int[])
     AS batch(id, events, first_seen, last_seen, new_tenants)
WHERE incident.id = batch.id
"""


def _count(stored: list[tuple]) -> dict[int, dict]:
    """Fold the per-(incident, tenant) counts into per-incident ones, and write both with one
    statement each, after locking the incidents in id order."""
    per_incident: dict[int, dict] = {}
    for incident_id, _, count, first, last, hint_rank in stored:
        totals = per_incident.setdefault(
            incident_id, {"events": 0, "first": first, "last": last, "hint": ""}
        )
        totals["events"] += count
        totals["first"] = min(totals["first"], first)
        totals["last"] = max(totals["last"], last)
        if hint_rank > HINT_ORDER.index(totals["hint"]):
            totals["hint"] = HINT_ORDER[hint_rank]
    if not per_incident:
        return per_incident
    incident_ids = sorted(per_incident)
    with connection.cursor() as cursor:
        cursor.execute(LOCK_INCIDENTS, {"ids": incident_ids})
        cursor.execute(
            UPSERT_INCIDENT_TENANTS,
            {
                "incident": [row[0] for row in stored],
                "tenant": [row[1] for row in stored],
                "count": [row[2] for row in stored],
                "first": [row[3] for row in stored],
                "last": [row[4] for row in stored],
            },
        )
        # A link inserted now (not updated) is a tenant this incident had not touched before.
        new_tenants = Counter(
            incident_id for incident_id, inserted in cursor.fetchall() if inserted
        )
        cursor.execute(
            UPDATE_INCIDENT_COUNTERS,
            {
                "now": timezone.now(),
                "incident": incident_ids,
                "count": [per_incident[pk]["events"] for pk in incident_ids],
                "first": [per_incident[pk]["first"] for pk in incident_ids],
                "last": [per_incident[pk]["last"] for pk in incident_ids],
                "new_tenants": [new_tenants[pk] for pk in incident_ids],
            },
        )
    return per_incident


# The highest volume threshold any severity level needs: counting further changes nothing, so
# each incident's recent events are counted up to this many (newest first, from its index).
VOLUME_CAP = max(in_1h for _, _, in_1h in rules.VOLUME_LEVELS)

RECENT_VOLUME = """
SELECT touched.id, recent.in_5m, recent.in_1h
FROM unnest(%(ids)s::bigint[]) AS touched(id)
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE occurred_at >= %(since_5m)s) AS in_5m, count(*) AS in_1h
    FROM (SELECT occurred_at FROM incidents_errorevent
          WHERE incident_id = touched.id AND occurred_at >= %(since_1h)s
          ORDER BY occurred_at DESC LIMIT %(cap)s) AS newest
) AS recent
"""


def _update_severity(
    touched: dict[int, dict],
    opened: set[int],
    regressed: set[int],
    by_print: dict,
    incidents: dict[str, int],
    now: datetime,
    actor: Actor,
) -> None:
    """Classify every touched incident on the evidence now, escalate (never lower) its severity,
    and write the timeline entries and outbox events the batch calls for."""
    ids = list(touched)
    rows = list(Incident.objects.filter(pk__in=ids).order_by("pk"))
    # An incident that is critical already, or whose severity a founder forced, cannot escalate:
    # its volume is not counted unless it was just opened (its first severity comes from it).
    counted = [
        row.pk
        for row in rows
        if row.pk in opened or (row.severity != "critical" and not row.severity_forced)
    ]
    volume = {}
    if counted:
        with connection.cursor() as cursor:
            cursor.execute(
                RECENT_VOLUME,
                {
                    "ids": counted,
                    "since_5m": now - timedelta(minutes=5),
                    "since_1h": now - timedelta(hours=1),
                    "cap": VOLUME_CAP,
                },
            )
            volume = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    criticality = dict(
        Component.objects.filter(name__in={row.component for row in rows}).values_list(
            "name", "criticality"
        )
    )
    entries = []
    for incident in rows:
        events_5m, events_1h = volume.get(incident.pk, (0, 0))
        evidence = rules.classify_severity(
            rules.SeveritySignals(
                events_5m=events_5m,
                events_1h=events_1h,
                affected_tenants=incident.tenant_count,
                component_criticality=criticality.get(incident.component, "medium"),
                hint=touched[incident.pk]["hint"],
                category=incident.category,
            )
        )
        if incident.pk in opened:
            Incident.objects.filter(pk=incident.pk).update(severity=evidence)
            incident.severity = evidence
            entries.append(
                timeline_entry(incident, TimelineKind.OPENED, actor, f"Opened as {evidence}.")
            )
            announce("incident.opened", incident)
            continue
        if incident.pk in regressed:
            entries.append(
                timeline_entry(
                    incident,
                    TimelineKind.REGRESSED,
                    actor,
                    "Its errors came back after it was resolved.",
                )
            )
            announce("incident.regressed", incident)
        higher = rules.escalation(incident.severity, evidence, forced=incident.severity_forced)
        if higher:
            entries.append(
                timeline_entry(
                    incident,
                    TimelineKind.ESCALATED,
                    actor,
                    f"Escalated from {incident.severity} to {higher}: {_volume(events_5m)} errors "
                    f"in 5 min, {_volume(events_1h)} in 1 h, {incident.tenant_count} tenants "
                    "affected.",
                    data={"from": incident.severity, "to": higher},
                )
            )
            Incident.objects.filter(pk=incident.pk).update(severity=higher)
            incident.severity = higher
            announce("incident.escalated", incident)
    TimelineEntry.objects.bulk_create(entries)


def _volume(count: int) -> str:
    return f"at least {count}" if count >= VOLUME_CAP else str(count)
