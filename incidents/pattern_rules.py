"""Pure pattern rules: which incidents belong together, and how sure we are.

Three patterns, each with its thresholds and a confidence between 0 and 1:

- category cluster: several incidents of one category opened in the cluster window;
- severity spike: more high/critical incidents opened in the window than the baseline explains;
- cascade: several incidents in a short window from components that depend on one upstream
  component (Component.upstream, followed transitively), or touching one session or journey.

No ORM, no I/O: incidents.operations.patterns gathers the facts and stores what these return;
tests/incidents/test_pattern_rules.py tables the cases.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CLUSTER_WINDOW = timedelta(hours=1)
CLUSTER_MIN_INCIDENTS = 3
SPIKE_WINDOW = timedelta(hours=1)
SPIKE_BASELINE = timedelta(hours=24)
SPIKE_MIN_INCIDENTS = 3
SPIKE_MIN_RATIO = 3.0
CASCADE_WINDOW = timedelta(minutes=15)
CASCADE_MIN_INCIDENTS = 3
CASCADE_MIN_COMPONENTS = 2
SERIOUS = frozenset({"high", "critical"})


@dataclass(frozen=True)
class IncidentFact:
    id: int
    category: str
    severity: str
    component: str
    opened_at: datetime


@dataclass(frozen=True)
class PatternMatch:
    kind: str
    key: str
    title: str
    confidence: float
    incident_ids: frozenset[int]
    details: dict = field(default_factory=dict, compare=False)


def _bounded(value: float) -> float:
    return round(min(0.99, max(0.0, value)), 2)


# --- Category clusters ---------------------------------------------------------------------------


def cluster_confidence(incidents: int, components: int) -> float:
    """More incidents, and across more components, make a shared cause likelier."""
    return _bounded(0.4 + 0.1 * (incidents - CLUSTER_MIN_INCIDENTS + 1) + 0.05 * (components - 1))


def category_clusters(incidents: Iterable[IncidentFact]) -> list[PatternMatch]:
    by_category: dict[str, list[IncidentFact]] = defaultdict(list)
    for incident in incidents:
        by_category[incident.category].append(incident)
    matches = []
    for category, members in sorted(by_category.items()):
        if len(members) < CLUSTER_MIN_INCIDENTS:
            continue
        components = sorted({member.component for member in members})
        matches.append(
            PatternMatch(
                kind="category_cluster",
                key=category,
                title=f"{len(members)} {category} incidents across {len(components)} "
                f"component{'s' if len(components) != 1 else ''}",
                confidence=cluster_confidence(len(members), len(components)),
                incident_ids=frozenset(member.id for member in members),
                details={"category": category, "components": components},
            )
        )
    return matches


# --- Severity spikes -----------------------------------------------------------------------------


def spike_confidence(count: int, baseline: float) -> float:
    """How far above the usual rate: three times the baseline is a likely spike, ten is certain."""
    ratio = count / baseline if baseline else count
    return _bounded(0.5 + 0.05 * (ratio - SPIKE_MIN_RATIO) + 0.03 * (count - SPIKE_MIN_INCIDENTS))


def severity_spike(
    serious_in_window: Iterable[IncidentFact], baseline_per_window: float
) -> PatternMatch | None:
    """A spike when at least SPIKE_MIN_INCIDENTS high/critical incidents opened in the window and
    that is at least SPIKE_MIN_RATIO times the average per window over the baseline period."""
    members = [incident for incident in serious_in_window if incident.severity in SERIOUS]
    count = len(members)
    if count < SPIKE_MIN_INCIDENTS or count < SPIKE_MIN_RATIO * baseline_per_window:
        return None
    critical = sum(member.severity == "critical" for member in members)
    return PatternMatch(
        kind="severity_spike",
        key="high+critical",
        title=f"Spike: {count} high/critical incidents in {_duration(SPIKE_WINDOW)} "
        f"(usually {baseline_per_window:.1f})",
        confidence=spike_confidence(count, baseline_per_window),
        incident_ids=frozenset(member.id for member in members),
        details={"count": count, "critical": critical, "baseline": round(baseline_per_window, 2)},
    )


# --- Cascades ------------------------------------------------------------------------------------


def upstream_chain(component: str, upstream: dict[str, str | None]) -> list[str]:
    """The components `component` depends on, nearest first; a loop in the data ends the chain."""
    chain, seen = [], {component}
    current = upstream.get(component)
    while current and current not in seen:
        chain.append(current)
        seen.add(current)
        current = upstream.get(current)
    return chain


def cascade_confidence(incidents: int, components: int, root_failed_first: bool) -> float:
    """A cascade is likelier with more incidents and components, and when the root broke first."""
    return _bounded(
        0.45
        + 0.07 * (incidents - CASCADE_MIN_INCIDENTS)
        + 0.08 * (components - CASCADE_MIN_COMPONENTS)
        + (0.2 if root_failed_first else 0.0)
    )


def _cascade(kind_key: str, label: str, members: list[IncidentFact], root: str | None):
    components = sorted({member.component for member in members})
    if len(members) < CASCADE_MIN_INCIDENTS or len(components) < CASCADE_MIN_COMPONENTS:
        return None
    first = min(members, key=lambda member: (member.opened_at, member.id))
    root_failed_first = root is not None and first.component == root
    return PatternMatch(
        kind="cascade",
        key=kind_key,
        title=f"Cascade from {label}: {len(members)} incidents in {len(components)} components",
        confidence=cascade_confidence(len(members), len(components), root_failed_first),
        incident_ids=frozenset(member.id for member in members),
        details={
            "root": root or "",
            "components": components,
            "first_incident": first.id,
            "root_failed_first": root_failed_first,
        },
    )


def upstream_cascades(
    incidents: Iterable[IncidentFact], upstream: dict[str, str | None]
) -> list[PatternMatch]:
    """For each upstream component, the incidents in it and in everything that depends on it.

    Only the widest cascade is kept when one root's cascade holds another's (a failing database
    under a failing API under a failing checkout is one cascade, from the database)."""
    members_of: dict[str, list[IncidentFact]] = defaultdict(list)
    incidents = list(incidents)
    for incident in incidents:
        for root in [incident.component, *upstream_chain(incident.component, upstream)]:
            members_of[root].append(incident)
    found = []
    for root, members in members_of.items():
        match = _cascade(f"component:{root}", root, members, root)
        if match is not None:
            found.append(match)
    found.sort(key=lambda match: (-len(match.incident_ids), match.key))
    kept: list[PatternMatch] = []
    for match in found:
        if not any(match.incident_ids <= wider.incident_ids for wider in kept):
            kept.append(match)
    return kept


def shared_cascades(
    groups: dict[str, list[int]], incidents_by_id: dict[int, IncidentFact]
) -> list[PatternMatch]:
    """Incidents whose errors share one session or journey ("session:abc" → incident ids)."""
    matches = []
    for key, ids in sorted(groups.items()):
        members = [incidents_by_id[pk] for pk in sorted(set(ids)) if pk in incidents_by_id]
        kind, _, value = key.partition(":")
        match = _cascade(key, f"{kind} {value}", members, None)
        if match is not None:
            matches.append(match)
    return matches


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
