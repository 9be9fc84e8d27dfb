"""Pattern rules, tabled: thresholds, confidence, and which incidents each pattern holds."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents import pattern_rules as rules

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def fact(pk, category="availability", severity="medium", component="checkout", minute=0):
    return rules.IncidentFact(pk, category, severity, component, T0 + timedelta(minutes=minute))


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["latency", "latency"], {}),
        (["latency", "latency", "latency"], {"latency": {1, 2, 3}}),
        (["latency", "payment", "latency", "payment", "latency"], {"latency": {1, 3, 5}}),
        (["data"] * 4 + ["vendor"] * 3, {"data": {1, 2, 3, 4}, "vendor": {5, 6, 7}}),
    ],
)
def test_a_category_cluster_needs_three_incidents_of_one_category(categories, expected):
    incidents = [fact(n, category) for n, category in enumerate(categories, start=1)]
    found = {match.key: set(match.incident_ids) for match in rules.category_clusters(incidents)}
    assert found == expected


@pytest.mark.parametrize(
    ("incidents", "components", "confidence"),
    [(3, 1, 0.5), (3, 3, 0.6), (5, 2, 0.75), (12, 6, 0.99)],
)
def test_cluster_confidence_grows_with_incidents_and_components(incidents, components, confidence):
    assert rules.cluster_confidence(incidents, components) == confidence


@pytest.mark.parametrize(
    ("severities", "baseline", "spike"),
    [
        (["high", "high"], 0.0, False),  # too few
        (["high", "critical", "high"], 0.0, True),
        (["high", "critical", "high"], 1.5, False),  # only twice the usual
        (["high", "critical", "high", "critical", "high", "high"], 2.0, True),
        (["medium", "low", "medium", "high"], 0.0, False),  # only serious ones count
    ],
)
def test_a_severity_spike_needs_enough_serious_incidents_above_baseline(
    severities, baseline, spike
):
    incidents = [fact(n, severity=severity) for n, severity in enumerate(severities)]
    match = rules.severity_spike(incidents, baseline)
    assert (match is not None) == spike
    if match:
        assert match.details["count"] == sum(s in rules.SERIOUS for s in severities)


@pytest.mark.parametrize(
    ("count", "baseline", "confidence"), [(3, 1.0, 0.5), (3, 0.0, 0.5), (10, 1.0, 0.99)]
)
def test_spike_confidence_follows_the_ratio_to_baseline(count, baseline, confidence):
    assert rules.spike_confidence(count, baseline) == confidence


UPSTREAM = {
    "checkout": "booking-api",
    "booking-api": "postgres",
    "search": "postgres",
    "notifications": "booking-api",
    "loop-a": "loop-b",
    "loop-b": "loop-a",
}


@pytest.mark.parametrize(
    ("component", "chain"),
    [
        ("checkout", ["booking-api", "postgres"]),
        ("postgres", []),
        ("unknown", []),
        ("loop-a", ["loop-b"]),  # a loop in the data ends the chain instead of hanging
    ],
)
def test_upstream_chain_follows_dependencies_nearest_first(component, chain):
    assert rules.upstream_chain(component, UPSTREAM) == chain


def test_a_cascade_from_one_upstream_keeps_only_the_widest_root():
    incidents = [
        fact(1, component="postgres", minute=0),
        fact(2, component="booking-api", minute=2),
        fact(3, component="checkout", minute=3),
        fact(4, component="search", minute=4),
        fact(5, component="payments", minute=5),  # depends on nothing here
    ]
    [match] = rules.upstream_cascades(incidents, UPSTREAM)
    assert match.key == "component:postgres" and match.incident_ids == {1, 2, 3, 4}
    assert match.details["root_failed_first"] is True
    assert match.confidence == rules.cascade_confidence(4, 4, True)


@pytest.mark.parametrize(
    ("components", "cascade"),
    [
        (["checkout", "checkout", "checkout"], False),  # one component is not a cascade
        (["checkout", "booking-api"], False),  # too few incidents
        (["checkout", "notifications", "booking-api"], True),  # all under booking-api
        (["checkout", "search", "payments"], False),  # different roots, 2 at most share one
    ],
)
def test_a_cascade_needs_three_incidents_in_two_components_under_one_root(components, cascade):
    incidents = [fact(n, component=name, minute=n) for n, name in enumerate(components)]
    assert bool(rules.upstream_cascades(incidents, UPSTREAM)) == cascade


def test_a_root_that_broke_first_makes_a_cascade_likelier():
    assert rules.cascade_confidence(3, 2, True) > rules.cascade_confidence(3, 2, False)


def test_incidents_sharing_a_session_are_a_cascade():
    by_id = {
        1: fact(1, component="checkout"),
        2: fact(2, component="search"),
        3: fact(3, component="payments"),
        4: fact(4, component="checkout"),
    }
    groups = {"session:s-1": [1, 2, 3], "journey:j-9": [1, 4, 4], "session:s-2": [2, 99]}
    [match] = rules.shared_cascades(groups, by_id)
    assert match.key == "session:s-1" and match.incident_ids == {1, 2, 3}
    assert match.details["root"] == "" and "session s-1" in match.title
