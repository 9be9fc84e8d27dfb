"""The incidents rules, as tables of cases."""

import pytest

from incidents.rules import (
    SeveritySignals,
    categorize,
    classify_severity,
    escalation,
    fingerprint,
    normalize_message,
)


@pytest.mark.parametrize(
    ("message", "normalized"),
    [
        ("Timeout after 3000 ms", "Timeout after <n> ms"),
        ("order 9f1c2b3a-1111-4222-8333-444455556666 failed", "order <uuid> failed"),
        ("mail to anna.k+ops@example.co.uk bounced", "mail to <email> bounced"),
        ("connect to 10.0.12.7:5432 refused", "connect to <ip> refused"),
        ("peer fe80::1ff:fe23:4567:890a reset", "peer <ip> reset"),
        ("at 2026-11-21T10:15:02.123Z the job died", "at <ts> the job died"),
        ("pointer 0x7ffe12ab corrupt", "pointer <hex> corrupt"),
        ("digest 3fa2b1c4d5e6f708 mismatch", "digest <hex> mismatch"),
        ("tenant TEN-4412 over quota", "tenant <id> over quota"),
        ("  many   spaces\there ", "many spaces here"),
        ("retry at 10:15:02 failed", "retry at <n>:<n>:<n> failed"),
        ("no volatile parts", "no volatile parts"),
    ],
)
def test_messages_are_normalized(message, normalized):
    assert normalize_message(message) == normalized


def test_same_problem_same_fingerprint_different_problem_different():
    one = fingerprint(component="tjm", error_class="Timeout", message="Timeout after 3000 ms")
    two = fingerprint(component="tjm", error_class="Timeout", message="Timeout after 5100 ms")
    other_component = fingerprint(
        component="prg", error_class="Timeout", message="Timeout after 3000 ms"
    )
    other_class = fingerprint(
        component="tjm", error_class="ReadTimeout", message="Timeout after 3000 ms"
    )
    assert one == two and len(one) == 40
    assert one != other_component and one != other_class


def test_an_explicit_fingerprint_wins_over_the_message():
    a = fingerprint(component="a", error_class="A", message="x", explicit="checkout-down")
    b = fingerprint(component="b", error_class="B", message="y", explicit="checkout-down")
    assert a == b


@pytest.mark.parametrize(
    ("component", "error_class", "message", "source", "category"),
    [
        ("auth", "Unauthorized", "token expired", "prg", "security"),
        ("route-planner", "RouteError", "route_blocked near river", "tjm", "safety"),
        ("lem-sync", "SyncError", "city graph stale", "lem", "quality"),
        ("lem-sync", "SyncError", "upstream 502", "lem", "safety"),
        ("checkout", "PSPError", "card declined by psp", "prg", "payment"),
        ("ledger", "SyncError", "502 from settlement service", "trutta", "payment"),
        ("bookings", "VendorError", "VEN-123 no_show", "tjm", "vendor"),
        ("search", "ReadTimeout", "timed out after 30s", "prg", "latency"),
        ("importer", "IntegrityError", "duplicate key violates constraint", "prg", "data"),
        ("reviews", "ContentError", "rating missing", "prg", "quality"),
        ("api", "HTTP503", "service unavailable", "monitoring", "availability"),
    ],
)
def test_categories(component, error_class, message, source, category):
    assert (
        categorize(component=component, error_class=error_class, message=message, source=source)
        == category
    )


@pytest.mark.parametrize(
    ("signals", "severity"),
    [
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=1), "low"),
        (SeveritySignals(events_5m=10, events_1h=10, affected_tenants=1), "medium"),
        (SeveritySignals(events_5m=0, events_1h=50, affected_tenants=1), "medium"),
        (SeveritySignals(events_5m=100, events_1h=100, affected_tenants=1), "high"),
        (SeveritySignals(events_5m=0, events_1h=2000, affected_tenants=1), "critical"),
        (SeveritySignals(events_5m=500, events_1h=500, affected_tenants=1), "critical"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=2), "medium"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=5), "high"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=25), "critical"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=1, hint="critical"), "high"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=1, hint="error"), "medium"),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=1, hint="warning"), "low"),
        (
            SeveritySignals(events_5m=1, events_1h=1, affected_tenants=1, category="payment"),
            "medium",
        ),
        (SeveritySignals(events_5m=1, events_1h=1, affected_tenants=2, category="safety"), "high"),
        (
            SeveritySignals(
                events_5m=10, events_1h=10, affected_tenants=1, component_criticality="critical"
            ),
            "high",
        ),
        (
            SeveritySignals(
                events_5m=100, events_1h=100, affected_tenants=5, component_criticality="critical"
            ),
            "critical",
        ),
        (
            SeveritySignals(
                events_5m=1, events_1h=1, affected_tenants=1, component_criticality="critical"
            ),
            "low",
        ),
        (
            SeveritySignals(
                events_5m=10, events_1h=10, affected_tenants=1, component_criticality="low"
            ),
            "low",
        ),
        (
            SeveritySignals(
                events_5m=600, events_1h=600, affected_tenants=1, component_criticality="low"
            ),
            "critical",
        ),
    ],
)
def test_severity_from_the_evidence(signals, severity):
    assert classify_severity(signals) == severity


@pytest.mark.parametrize(
    ("current", "evidence", "forced", "result"),
    [
        ("low", "high", False, "high"),
        ("high", "low", False, None),  # never drops by itself
        ("high", "high", False, None),
        ("medium", "critical", True, None),  # a founder's forced severity stands
    ],
)
def test_severity_only_escalates(current, evidence, forced, result):
    assert escalation(current, evidence, forced=forced) == result
