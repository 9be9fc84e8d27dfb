"""Ingestion: error events in, grouped into incidents, counted per batch.

One batch is one transaction. Events are deduplicated by `event_id` (replays store nothing new)
and grouped by fingerprint into the fingerprint's one unresolved incident — created race-safely
through the partial unique index, or a recently resolved one reopened as `regressed`. The batch
stores its events and, in the same statement, one count delta per (incident, tenant); the fold
(incidents/operations/fold.py) turns deltas into counters, affected tenants and severity — inline
when no other batch is folding, so busy incidents are never a queue of batches waiting for
each other's row locks.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from math import inf
from time import monotonic
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents import rules
from incidents.models import ErrorEvent, Incident, Status, TimelineKind
from incidents.operations.common import announce, record, regress
from incidents.operations.fold import fold
from opsconsole.jobs import enqueue
from opsconsole.registry import Actor, after_commit, operation


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
    by_print = _group(events)
    incidents = dict(
        Incident.objects.active()
        .filter(fingerprint__in=list(by_print))
        .values_list("fingerprint", "id")
    )
    # A fingerprint without an unresolved incident is about to open or reopen one: a replay of
    # events stored before must not do that, so those events are checked first. Events of
    # incidents that are open anyway are deduplicated by the insert itself.
    _drop_known(by_print, [fp for fp in by_print if fp not in incidents])
    _regress_recent([fp for fp in by_print if fp not in incidents], now, incidents, actor)
    _open_new([fp for fp in by_print if fp not in incidents], by_print, now, incidents)
    stored = _insert_events(by_print, incidents, now)
    if stored:
        _fold_or_defer(actor, now)
    accepted = sum(stored.values())
    return IngestSummary(
        accepted=accepted, duplicates=len(events) - accepted, incident_ids=sorted(stored)
    )


# When this process last folded inline, and until when a deferred fold it asked for is due.
_last_inline_fold = -inf
_deferred_fold_due = -inf


def _fold_or_defer(actor: Actor, now: datetime) -> None:
    """Fold inline when this process has not folded within the fold interval and nobody else is
    folding, so a quiet batch's counters are current when it returns. Otherwise leave the deltas
    to one deferred fold at the end of the interval: under a burst, one fold applies the deltas
    of many batches instead of every batch updating the same incidents again."""
    global _last_inline_fold
    interval = settings.INCIDENT_FOLD_INTERVAL_SECONDS
    if monotonic() - _last_inline_fold >= interval and fold(actor=actor, now=now) is not None:
        _last_inline_fold = monotonic()
        return
    after_commit(lambda: _defer_fold(interval))


def _defer_fold(interval: float) -> None:
    """Ask for a fold at the end of the interval, unless one is due then already."""
    global _deferred_fold_due
    if monotonic() < _deferred_fold_due:
        return
    from incidents.tasks import fold_counters_task

    if enqueue(fold_counters_task, countdown=interval):
        _deferred_fold_due = monotonic() + interval


def _group(events: list[ErrorEventIn]) -> dict[str, list[ErrorEventIn]]:
    """The batch by fingerprint, each event once (the first of any repeated in the batch)."""
    by_print: dict[str, list[ErrorEventIn]] = defaultdict(list)
    seen = set()
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            by_print[_fingerprint(event)].append(event)
    return by_print


def _fingerprint(event: ErrorEventIn) -> str:
    return rules.fingerprint(
        component=event.component,
        error_class=event.error_class,
        message=event.message,
        explicit=event.fingerprint,
    )


def _drop_known(by_print: dict[str, list[ErrorEventIn]], prints: list[str]) -> None:
    """Remove the events of these fingerprints that were stored before (and any print left
    without events)."""
    ids = [event.event_id for fp in prints for event in by_print[fp]]
    if not ids:
        return
    known = set(ErrorEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    for fp in prints:
        by_print[fp] = [event for event in by_print[fp] if event.event_id not in known]
        if not by_print[fp]:
            del by_print[fp]


def _regress_recent(
    prints: list[str], now: datetime, incidents: dict[str, int], actor: Actor
) -> None:
    """Reopen, as regressed, the latest incident of each fingerprint resolved within the window."""
    if not prints:
        return
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
    for incident in (
        Incident.objects.select_for_update(no_key=True)
        .filter(pk__in=latest.values())
        .order_by("pk")
    ):
        # Another batch may have regressed it (or opened a new one) while we waited for the lock.
        active = Incident.objects.active().filter(fingerprint=incident.fingerprint).first()
        if active is not None:
            incidents[incident.fingerprint] = active.pk
            continue
        regress(incident)
        record(
            incident, TimelineKind.REGRESSED, actor, "Its errors came back after it was resolved."
        )
        announce("incident.regressed", incident)
        incidents[incident.fingerprint] = incident.pk


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


def _open_new(prints: list[str], by_print: dict, now: datetime, incidents: dict[str, int]) -> None:
    """Create the incidents these fingerprints need (their first fold gives them a severity and
    the `opened` entry). A concurrent batch that creates the same one first wins through the
    partial unique index; this batch then joins its incident."""
    if not prints:
        return
    columns = defaultdict(list)
    # In fingerprint order: two batches opening the same incidents wait for each other's
    # unique-index entries in the same order, and so never deadlock.
    for fp in sorted(prints):
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


def _json(value: dict) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


# The batch travels as one JSON document: PostgreSQL unpacks it in C, which costs a fraction of
# adapting thousands of Python values one by one. Rows go in event_id order, so two batches that
# share events take their unique-index locks in the same order and never deadlock. The same
# statement writes the batch's count deltas and answers how many events each incident got.
INSERT_EVENTS_AND_DELTAS = """
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
), deltas AS (
    INSERT INTO incidents_countdelta
        (incident_id, tenant_id, events, first_seen_at, last_seen_at, hint_rank)
    SELECT incident_id, tenant_id, count(*), min(occurred_at), max(occurred_at),
           max(CASE severity_hint WHEN 'critical' THEN 4 WHEN 'error' THEN 3
                                  WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)
    FROM inserted GROUP BY incident_id, tenant_id
    RETURNING incident_id, events
)
SELECT incident_id, sum(events) FROM deltas GROUP BY incident_id
"""


def _insert_events(by_print: dict, incidents: dict[str, int], now: datetime) -> dict[int, int]:
    """Store the fresh events and their count deltas; incident id → events stored for it."""
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
        cursor.execute(INSERT_EVENTS_AND_DELTAS, {"now": now, "events": _json(rows)})
        return dict(cursor.fetchall())
