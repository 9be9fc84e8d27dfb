"""The fold: batches' count deltas applied to incidents, their tenants and their severity.

Ingestion writes a CountDelta per (incident, tenant) instead of updating the incidents it
touches. The fold takes every pending delta at once and, for the incidents they name, updates the
counters (events, affected tenants, first/last seen) and the IncidentTenant rows, classifies
severity on the evidence now — an incident's first fold sets its opening severity, later ones only
escalate — and writes the timeline entries and outbox events that calls for.

One folder at a time (a transaction-level advisory lock, tried without waiting): ingestion folds
inline after storing its batch when no one else is folding, so counters are current right after a
quiet batch; under load one batch folds the deltas of several; the beat sweep folds whatever a
burst left behind within seconds.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from incidents import rules
from incidents.models import Component, Incident, TimelineEntry, TimelineKind
from incidents.operations.common import announce, timeline_entry
from opsconsole.registry import Actor, operation

FOLD_LOCK = 0x1AC1DE47  # pg_try_advisory_xact_lock key: "incident counters are being folded"
MAX_DELTAS = 50_000  # per fold; a bigger backlog takes several folds
HINTS = ("", "info", "warning", "error", "critical")

TAKE_DELTAS = """
WITH taken AS (
    DELETE FROM incidents_countdelta
    WHERE id IN (SELECT id FROM incidents_countdelta ORDER BY id LIMIT %(limit)s)
    RETURNING incident_id, tenant_id, events, first_seen_at, last_seen_at, hint_rank
)
SELECT incident_id, tenant_id, sum(events), min(first_seen_at), max(last_seen_at), max(hint_rank)
FROM taken GROUP BY incident_id, tenant_id ORDER BY incident_id, tenant_id
"""

# Incident rows are locked in id order before their counters change, so a fold and the
# lifecycle operations (which lock one incident) queue instead of deadlocking. NO KEY UPDATE
# leaves the key-share locks of the events' foreign keys alone: ingestion never waits for it.
LOCK_INCIDENTS = """
SELECT id FROM incidents_incident WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE
"""

UPSERT_INCIDENT_TENANTS = """
INSERT INTO incidents_incidenttenant
    (incident_id, tenant_id, event_count, first_seen_at, last_seen_at)
SELECT * FROM unnest(%(incident)s::bigint[], %(tenant)s::bigint[], %(count)s::bigint[],
                     %(first)s::timestamptz[], %(last)s::timestamptz[])
ON CONFLICT (incident_id, tenant_id) DO UPDATE SET
    event_count = incidents_incidenttenant.event_count + EXCLUDED.event_count,
    first_seen_at = LEAST(incidents_incidenttenant.first_seen_at, EXCLUDED.first_seen_at),
    last_seen_at = GREATEST(incidents_incidenttenant.last_seen_at, EXCLUDED.last_seen_at)
RETURNING incident_id, xmax = 0
"""

# An incident's first fold is the one that finds it without events: that fold sets its
# opening severity instead of escalating it.
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
RETURNING incident.id, incident.event_count = batch.events
"""


def fold(*, actor: Actor, now: datetime | None = None) -> int | None:
    """Apply the pending deltas in the current transaction; how many incidents it touched, or
    None when another folder holds the lock (it, or the next fold, will apply ours)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(TAKE_DELTAS, {"limit": MAX_DELTAS})
        pairs = cursor.fetchall()
    if not pairs:
        return 0
    touched, first_folds = _count(pairs, now or timezone.now())
    _classify(touched, first_folds, now or timezone.now(), actor)
    return len(touched)


@operation("incidents.fold_counters", permission="incidents.add_errorevent")
def counters_fold(*, actor: Actor) -> int:
    """Fold every pending count delta (beat's sweep); repeats until none is left."""
    folded = 0
    while (touched := fold(actor=actor)) and touched > 0:
        folded += touched
    return folded


def _count(pairs: list[tuple], now: datetime) -> tuple[dict[int, dict], set[int]]:
    """Per-(incident, tenant) sums into IncidentTenant rows and per-incident counters."""
    per_incident: dict[int, dict] = {}
    for incident_id, _, count, first, last, hint_rank in pairs:
        totals = per_incident.setdefault(
            incident_id, {"events": 0, "first": first, "last": last, "hint": 0}
        )
        totals["events"] += count
        totals["first"] = min(totals["first"], first)
        totals["last"] = max(totals["last"], last)
        totals["hint"] = max(totals["hint"], hint_rank)
    incident_ids = sorted(per_incident)
    with connection.cursor() as cursor:
        cursor.execute(LOCK_INCIDENTS, {"ids": incident_ids})
        cursor.execute(
            UPSERT_INCIDENT_TENANTS,
            {
                "incident": [row[0] for row in pairs],
                "tenant": [row[1] for row in pairs],
                "count": [row[2] for row in pairs],
                "first": [row[3] for row in pairs],
                "last": [row[4] for row in pairs],
            },
        )
        # A link inserted now (not updated) is a tenant this incident had not touched before.
        new_tenants = Counter(
            incident_id for incident_id, inserted in cursor.fetchall() if inserted
        )
        cursor.execute(
            UPDATE_INCIDENT_COUNTERS,
            {
                "now": now,
                "incident": incident_ids,
                "count": [per_incident[pk]["events"] for pk in incident_ids],
                "first": [per_incident[pk]["first"] for pk in incident_ids],
                "last": [per_incident[pk]["last"] for pk in incident_ids],
                "new_tenants": [new_tenants[pk] for pk in incident_ids],
            },
        )
        first_folds = {pk for pk, first in cursor.fetchall() if first}
    return per_incident, first_folds


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


def _recent_volume(ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            RECENT_VOLUME,
            {
                "ids": ids,
                "since_5m": now - timedelta(minutes=5),
                "since_1h": now - timedelta(hours=1),
                "cap": VOLUME_CAP,
            },
        )
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _classify(touched: dict[int, dict], first_folds: set[int], now: datetime, actor: Actor) -> None:
    """Classify every touched incident on the evidence now: set the opening severity of new ones,
    escalate (never lower) the others, and write the timeline entries and outbox events."""
    rows = list(Incident.objects.filter(pk__in=list(touched)).order_by("pk"))
    # An incident that is critical already, or whose severity a founder forced, cannot escalate:
    # its volume is not counted unless this is its first fold (its opening severity needs it).
    volume = _recent_volume(
        [
            row.pk
            for row in rows
            if row.pk in first_folds or (row.severity != "critical" and not row.severity_forced)
        ],
        now,
    )
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
                hint=HINTS[touched[incident.pk]["hint"]],
                category=incident.category,
            )
        )
        if incident.pk in first_folds:
            Incident.objects.filter(pk=incident.pk).update(severity=evidence)
            incident.severity = evidence
            entries.append(
                timeline_entry(incident, TimelineKind.OPENED, actor, f"Opened as {evidence}.")
            )
            announce("incident.opened", incident)
            continue
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
