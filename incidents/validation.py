"""Validating error events as they arrive, fast enough for 20,000 a second, naming every problem.

A DRF serializer per item costs more than storing the item, so the ingestion API checks each
event with the plain function `check_event` below: every field is examined (not just the first
bad one) and each problem is named with its field, as `{"occurred_at": ["..."], "context.city":
["..."]}`. The limits live in constants that the API's documented serializer also uses, and a
test holds the two to the same fields, lengths and choices.

Tenant refs are checked for the whole batch at once (one query), in `resolve_tenants`.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from incidents.models import EVENT_SOURCES, SeverityHint
from incidents.operations import ErrorEventIn

MAX_EVENTS = 1000
MAX_LENGTHS = {
    "tenant": 24,
    "component": 100,
    "error_class": 200,
    "message": 4000,
    "fingerprint": 200,
}
CONTEXT_KEYS = ("product_version", "market", "city", "vendor", "route", "journey", "session")
MAX_CONTEXT_VALUE = 200
SOURCES = tuple(str(source) for source in EVENT_SOURCES)
SEVERITY_HINTS = tuple(SeverityHint.values)
REQUIRED = ("event_id", "tenant", "component", "error_class", "message", "occurred_at", "source")
OPTIONAL = ("severity", "context", "fingerprint")
KNOWN_FIELDS = frozenset(REQUIRED + OPTIONAL)


@dataclass(frozen=True)
class Clock:
    """The accepted span of occurred_at: not further ahead than the clock skew allows, not older
    than the maximum age."""

    earliest: datetime
    latest: datetime

    @classmethod
    def around(cls, now: datetime) -> "Clock":
        return cls(
            earliest=now - timedelta(days=settings.INCIDENT_EVENT_MAX_AGE_DAYS),
            latest=now + timedelta(seconds=settings.INCIDENT_CLOCK_SKEW_SECONDS),
        )


def check_event(item: Any, clock: Clock) -> tuple[dict | None, dict[str, list[str]]]:
    """(clean values, {}) for a good event, or (None, {field: [messages]}) naming every problem.

    The clean values still carry the tenant *ref*; `resolve_tenants` turns it into an id."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    for name in item.keys() - KNOWN_FIELDS:
        errors[str(name)[:60]] = [f"Unknown field; an event has {', '.join(REQUIRED + OPTIONAL)}."]
    for name in REQUIRED:
        if item.get(name) in (None, ""):
            errors[name] = ["Required."]
    clean: dict[str, Any] = {}
    for name in ("tenant", "component", "error_class", "message", "fingerprint"):
        value = item.get(name)
        if value in (None, "") or name in errors:
            continue
        if not isinstance(value, str):
            errors[name] = ["Must be a string."]
        elif len(value) > MAX_LENGTHS[name]:
            errors[name] = [f"At most {MAX_LENGTHS[name]} characters (this has {len(value)})."]
        elif not value.strip():
            errors[name] = ["Must not be blank."]
        else:
            clean[name] = value
    if "event_id" not in errors:
        _check_uuid(item["event_id"], clean, errors)
    if "occurred_at" not in errors:
        _check_time(item["occurred_at"], clock, clean, errors)
    if "source" not in errors:
        _check_choice("source", item["source"], SOURCES, clean, errors)
    if item.get("severity") not in (None, ""):
        _check_choice("severity", item["severity"], SEVERITY_HINTS, clean, errors)
    if item.get("context") is not None:
        _check_context(item["context"], clean, errors)
    if errors:
        return None, errors
    return clean, {}


def _check_uuid(value: Any, clean: dict, errors: dict) -> None:
    try:
        clean["event_id"] = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        clean["event_id"] = None
    if clean["event_id"] is None:
        errors["event_id"] = ["Must be a UUID, like 7d9f0c1e-4b8a-4f61-9d2a-3c5e8f1a2b4c."]


def _check_time(value: Any, clock: Clock, clean: dict, errors: dict) -> None:
    if not isinstance(value, str):
        errors["occurred_at"] = ["Must be an ISO 8601 string with a time zone."]
        return
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors["occurred_at"] = ["Not an ISO 8601 date and time; send e.g. 2026-03-01T10:15:00Z."]
        return
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors["occurred_at"] = ["Give the time zone (Z or +01:00); a naive time is ambiguous."]
    elif moment > clock.latest:
        errors["occurred_at"] = [
            f"In the future by more than the allowed clock skew of "
            f"{settings.INCIDENT_CLOCK_SKEW_SECONDS} s; check the sender's clock."
        ]
    elif moment < clock.earliest:
        errors["occurred_at"] = [
            f"Older than {settings.INCIDENT_EVENT_MAX_AGE_DAYS} days; not accepted."
        ]
    else:
        clean["occurred_at"] = moment


def _check_choice(name: str, value: Any, choices: tuple[str, ...], clean, errors) -> None:
    if value in choices:
        clean[name] = value
    else:
        errors[name] = [f"{str(value)[:40]!r} is not one of {', '.join(choices)}."]


def _check_context(value: Any, clean: dict, errors: dict) -> None:
    if not isinstance(value, dict):
        errors["context"] = ["Must be an object with " + ", ".join(CONTEXT_KEYS) + "."]
        return
    context = {}
    for key, item in value.items():
        field = f"context.{str(key)[:60]}"
        if key not in CONTEXT_KEYS:
            errors[field] = [f"Unknown context key; allowed: {', '.join(CONTEXT_KEYS)}."]
        elif item is None:
            continue
        elif not isinstance(item, str | int | float) or isinstance(item, bool):
            errors[field] = ["Must be a string."]
        elif len(str(item)) > MAX_CONTEXT_VALUE:
            errors[field] = [f"At most {MAX_CONTEXT_VALUE} characters."]
        else:
            context[key] = str(item)
    clean["context"] = context


def resolve_tenants(
    valid: list[tuple[int, dict]], tenant_ids: dict[str, int]
) -> tuple[list[ErrorEventIn], list[dict]]:
    """Events for the known tenants, and a rejection for each event naming an unknown one."""
    events, rejected = [], []
    for index, clean in valid:
        tenant_id = tenant_ids.get(clean["tenant"])
        if tenant_id is None:
            rejected.append(
                {
                    "index": index,
                    "errors": {
                        "tenant": [
                            f"Unknown tenant {clean['tenant']!r}; send it to /api/v1/tenants first."
                        ]
                    },
                }
            )
            continue
        events.append(
            ErrorEventIn(
                event_id=clean["event_id"],
                tenant_id=tenant_id,
                component=clean["component"],
                error_class=clean["error_class"],
                message=clean["message"],
                occurred_at=clean["occurred_at"],
                source=clean["source"],
                severity_hint=clean.get("severity", ""),
                context=clean.get("context", {}),
                fingerprint=clean.get("fingerprint", ""),
            )
        )
    return events, rejected
