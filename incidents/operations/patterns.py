"""Pattern detection: gather the facts for one window, let the pure rules decide, store the result.

Run by beat through incidents.detect_patterns_task for windows that end on the detection grid,
so rerunning a window finds what it found before. A pattern still going on is extended (its
window end moves, newly involved incidents are linked) instead of being found twice; each newly
linked incident gets a `pattern` entry on its timeline.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from incidents import pattern_rules as rules
from incidents.models import Component, Incident, Pattern, TimelineEntry, TimelineKind
from incidents.operations.common import timeline_entry
from opsconsole.outbox import emit
from opsconsole.registry import Actor, Invalid, operation

GRID = timedelta(minutes=5)


@dataclass(frozen=True)
class DetectionSummary:
    window_end: datetime
    created: int
    extended: int
    linked: int


def window_end_for(moment: datetime) -> datetime:
    """The last grid point at or before `moment`: the windows beat examines are on this grid."""
    epoch = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return epoch + ((moment - epoch) // GRID) * GRID


@operation("incidents.detect_patterns", permission="incidents.add_pattern")
def patterns_detect(*, actor: Actor, window_end: datetime) -> DetectionSummary:
    """Find category clusters, severity spikes and cascades in the windows ending at window_end."""
    if window_end > timezone.now() + GRID:
        raise Invalid("Patterns are found in the past.", fields={"window_end": ["In the past."]})
    matches = _matches(window_end)
    created = extended = linked = 0
    for match, window in matches:
        pattern, is_new = _pattern_for(match, window_end - window, window_end)
        linked += _link(pattern, match, actor)
        created += is_new
        extended += not is_new
    return DetectionSummary(
        window_end=window_end, created=created, extended=extended, linked=linked
    )


def _facts(since: datetime, until: datetime, **filters) -> list[rules.IncidentFact]:
    rows = Incident.objects.filter(opened_at__gte=since, opened_at__lt=until, **filters)
    return [
        rules.IncidentFact(pk, category, severity, component, opened_at)
        for pk, category, severity, component, opened_at in rows.values_list(
            "id", "category", "severity", "component", "opened_at"
        )
    ]


def _matches(end: datetime) -> list[tuple[rules.PatternMatch, timedelta]]:
    found: list[tuple[rules.PatternMatch, timedelta]] = []
    for match in rules.category_clusters(_facts(end - rules.CLUSTER_WINDOW, end)):
        found.append((match, rules.CLUSTER_WINDOW))

    serious = _facts(end - rules.SPIKE_WINDOW, end, severity__in=rules.SERIOUS)
    baseline_start = end - rules.SPIKE_WINDOW - rules.SPIKE_BASELINE
    before = Incident.objects.filter(
        opened_at__gte=baseline_start,
        opened_at__lt=end - rules.SPIKE_WINDOW,
        severity__in=rules.SERIOUS,
    ).count()
    spike = rules.severity_spike(serious, before / (rules.SPIKE_BASELINE / rules.SPIKE_WINDOW))
    if spike is not None:
        found.append((spike, rules.SPIKE_WINDOW))

    recent = _facts(end - rules.CASCADE_WINDOW, end)
    upstream = dict(Component.objects.values_list("name", "upstream__name"))
    for match in rules.upstream_cascades(recent, upstream):
        found.append((match, rules.CASCADE_WINDOW))
    groups = _shared_groups(end - rules.CASCADE_WINDOW, end)
    involved = {pk for ids in groups.values() for pk in ids}
    by_id = {fact.id: fact for fact in _facts_for(involved)}
    for match in rules.shared_cascades(groups, by_id):
        found.append((match, rules.CASCADE_WINDOW))
    return found


SHARED_CONTEXT = """
SELECT key || ':' || value, array_agg(DISTINCT incident_id)
FROM incidents_errorevent,
     LATERAL (VALUES ('session', context ->> 'session'), ('journey', context ->> 'journey'))
         AS shared(key, value)
WHERE occurred_at >= %(since)s AND occurred_at < %(until)s AND value IS NOT NULL
GROUP BY 1
HAVING count(DISTINCT incident_id) >= %(least)s
"""


def _shared_groups(since: datetime, until: datetime) -> dict[str, list[int]]:
    """ "session:abc" / "journey:xyz" → the incidents whose errors in the window carry it."""
    with connection.cursor() as cursor:
        cursor.execute(
            SHARED_CONTEXT,
            {"since": since, "until": until, "least": rules.CASCADE_MIN_INCIDENTS},
        )
        return dict(cursor.fetchall())


def _facts_for(ids: set[int]) -> list[rules.IncidentFact]:
    if not ids:
        return []
    rows = Incident.objects.filter(pk__in=ids).values_list(
        "id", "category", "severity", "component", "opened_at"
    )
    return [rules.IncidentFact(*row) for row in rows]


def _pattern_for(match: rules.PatternMatch, start: datetime, end: datetime) -> tuple[Pattern, bool]:
    """The pattern this match continues (same kind and key, its window reaching into this one),
    or a new one. Locked, so a concurrent run waits and then extends instead of duplicating."""
    ongoing = (
        Pattern.objects.select_for_update()
        .filter(kind=match.kind, key=match.key, window_end__gte=start, window_start__lte=end)
        .order_by("-window_end")
        .first()
    )
    if ongoing is not None:
        ongoing.window_end = max(ongoing.window_end, end)
        ongoing.confidence = max(ongoing.confidence, match.confidence)
        ongoing.title = match.title
        ongoing.details = {**ongoing.details, **match.details}
        return ongoing, False
    pattern, created = Pattern.objects.get_or_create(
        kind=match.kind,
        key=match.key,
        window_start=start,
        defaults={
            "title": match.title[:300],
            "confidence": match.confidence,
            "window_end": end,
            "details": match.details,
            "detected_at": timezone.now(),
        },
    )
    return pattern, created


def _link(pattern: Pattern, match: rules.PatternMatch, actor: Actor) -> int:
    """Link the match's incidents not linked yet; one timeline entry for each newly linked."""
    known = set(pattern.incidents.values_list("id", flat=True))
    new_ids = sorted(match.incident_ids - known)
    pattern.incident_count = len(known) + len(new_ids)
    pattern.save()
    if not new_ids:
        return 0
    pattern.incidents.add(*new_ids)
    message = f"{pattern.title} (confidence {pattern.confidence:.0%})."
    TimelineEntry.objects.bulk_create(
        timeline_entry(
            Incident(pk=pk),
            TimelineKind.PATTERN,
            actor,
            message,
            {"pattern": pattern.pk, "kind": pattern.kind},
        )
        for pk in new_ids
    )
    if len(known) == 0:
        emit(
            "incident_pattern.detected",
            aggregate=f"pattern:{pattern.pk}",
            payload={
                "pattern_id": pattern.pk,
                "kind": pattern.kind,
                "key": pattern.key,
                "title": pattern.title,
                "confidence": pattern.confidence,
                "incident_ids": new_ids,
            },
        )
    return len(new_ids)
