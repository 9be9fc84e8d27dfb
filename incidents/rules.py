"""Pure decisions about errors and incidents: fingerprints, categories, severity.

No ORM, no I/O: plain values in, plain values out, so each rule is table-tested in
tests/incidents/test_rules.py.
"""

import hashlib
import re
from dataclasses import dataclass

SEVERITY_ORDER = ("low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity)


def at_least(severity: str, floor: str) -> str:
    return severity if severity_rank(severity) >= severity_rank(floor) else floor


# --- Fingerprints --------------------------------------------------------------------------------

# Order matters: the specific shapes go before the general ones that would eat parts of them.
# Each pattern comes with a character it cannot match without, so a message is only scanned by
# the patterns that might apply — ingestion normalizes every event it receives.
_VOLATILE = [
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
        "-",
    ),
    (re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b"), "<email>", "@"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b"),
        "<ts>",
        "-",
    ),
    (re.compile(r"\b(\d{1,3}\.){3}\d{1,3}(:\d+)?\b"), "<ip>", "."),
    # IPv6: compressed (with ::) or all eight groups, so clock times like 10:15:02 stay apart.
    (
        re.compile(
            r"(?<![\w:])(?=[0-9a-f:]*::|(?:[0-9a-f]{1,4}:){7})(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{1,4}\b",
            re.I,
        ),
        "<ip>",
        ":",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>", ""),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>", ""),
    (re.compile(r"\b[A-Z]{2,6}-\d+\b"), "<id>", "-"),  # platform refs: TEN-123, PRS-99, VEN-7
    (re.compile(r"\d+(\.\d+)?"), "<n>", ""),
]
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")


def normalize_message(message: str) -> str:
    """The message with what changes from one occurrence to the next replaced by placeholders."""
    normalized = message
    # Every shape but an e-mail address has a digit: a message without one skips them all.
    patterns = _VOLATILE if _DIGIT.search(message) else _VOLATILE[1:2]
    for pattern, placeholder, needs in patterns:
        if needs in normalized:
            normalized = pattern.sub(placeholder, normalized)
    return _SPACES.sub(" ", normalized).strip()[:500]


def fingerprint(*, component: str, error_class: str, message: str, explicit: str = "") -> str:
    """Errors with equal fingerprints are the same problem and share an incident."""
    material = (
        f"explicit\0{explicit}"
        if explicit
        else (f"{component}\0{error_class}\0{normalize_message(message)}")
    )
    return hashlib.sha256(material.encode()).hexdigest()[:40]


# --- Categories ----------------------------------------------------------------------------------

# First match wins; checked against "component error_class message", lowercased.
_CATEGORY_WORDS = [
    (
        "security",
        (
            "unauthori",
            "forbidden",
            "csrf",
            "injection",
            "permission denied",
            "auth",
            "token expired",
            "tamper",
        ),
    ),
    ("safety", ("safety", "unsafe", "night_risk", "coverage", "route_blocked", "emergency")),
    ("payment", ("payment", "refund", "charge", "card", "psp", "billing", "settlement", "invoice")),
    ("vendor", ("vendor", "no_show", "no-show", "noshow", "supplier", "partner", "ven-")),
    ("latency", ("timeout", "timed out", "latency", "slow", "deadline exceeded")),
    (
        "data",
        (
            "integrity",
            "constraint",
            "deserializ",
            "serializ",
            "parse",
            "schema",
            "corrupt",
            "mismatch",
            "keyerror",
            "valueerror",
        ),
    ),
    ("quality", ("quality", "content", "rating", "complaint", "translation", "stale")),
]
_SOURCE_CATEGORY = {"lem": "safety", "trutta": "payment"}


def categorize(*, component: str, error_class: str, message: str, source: str) -> str:
    text = f"{component} {error_class} {message}".lower()
    for category, words in _CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return _SOURCE_CATEGORY.get(source, "availability")


# --- Severity ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeveritySignals:
    events_5m: int
    events_1h: int
    affected_tenants: int
    component_criticality: str = "medium"
    hint: str = ""  # the source's own view: info | warning | error | critical
    category: str = "availability"


# (events in 5 min, events in 1 h) thresholds, checked from the top.
VOLUME_LEVELS = [("critical", 500, 2000), ("high", 100, 500), ("medium", 10, 50)]
TENANT_LEVELS = [("critical", 25), ("high", 5), ("medium", 2)]
HINT_FLOORS = {"critical": "high", "error": "medium"}
SENSITIVE_CATEGORIES = {"security", "safety", "payment"}


def classify_severity(signals: SeveritySignals) -> str:
    """The severity the evidence supports right now: the highest level any signal reaches."""
    severity = "low"
    for level, in_5m, in_1h in VOLUME_LEVELS:
        if signals.events_5m >= in_5m or signals.events_1h >= in_1h:
            severity = at_least(severity, level)
            break
    for level, tenants in TENANT_LEVELS:
        if signals.affected_tenants >= tenants:
            severity = at_least(severity, level)
            break
    if signals.hint in HINT_FLOORS:
        severity = at_least(severity, HINT_FLOORS[signals.hint])
    if signals.category in SENSITIVE_CATEGORIES:
        severity = at_least(severity, "medium")
        if signals.affected_tenants >= 2:
            severity = at_least(severity, "high")
    if signals.component_criticality == "critical" and severity != "low":
        severity = SEVERITY_ORDER[min(severity_rank(severity) + 1, 3)]
    elif signals.component_criticality == "low" and severity in ("medium", "high"):
        severity = SEVERITY_ORDER[severity_rank(severity) - 1]
    return severity


def escalation(current: str, evidence: str, *, forced: bool) -> str | None:
    """The new severity if the evidence calls for a higher one; None to keep the current one.

    Severity never drops by itself — a quieter hour does not make an incident less serious — and
    a founder's forced severity is left alone.
    """
    if forced or severity_rank(evidence) <= severity_rank(current):
        return None
    return evidence


def title_for(*, error_class: str, component: str, message: str) -> str:
    """A readable title: the error class, where, and the normalized message."""
    return f"{error_class} in {component}: {normalize_message(message)}"[:300]
