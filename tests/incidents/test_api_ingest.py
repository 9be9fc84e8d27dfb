"""POST /api/v1/events/errors: valid events kept, every bad field named, replays harmless."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import validation
from incidents.apis import ErrorEventContextSerializer, ErrorEventInSerializer
from incidents.models import ErrorEvent, Incident

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/errors"


@pytest.fixture
def sender(service):
    return service("events:write")


def event(sender_tenant, /, **overrides) -> dict:
    values = {
        "event_id": str(uuid.uuid4()),
        "tenant": sender_tenant.ref,
        "component": "checkout",
        "error_class": "UpstreamTimeout",
        "message": "Upstream gateway timed out after 3000 ms",
        "severity": "error",
        "occurred_at": (timezone.now() - timedelta(seconds=3)).isoformat(),
        "source": "prg",
        "context": {"market": "AT-VIE", "session": "s-1"},
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not ...}


def post(client, events, **headers):
    return client.post(URL, {"events": events}, format="json", headers=headers)


def test_valid_events_are_stored_and_grouped(sender, tenant):
    response = post(sender, [event(tenant), event(tenant)])
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    incident = Incident.objects.get()
    assert incident.event_count == 2 and incident.context["session"] == "s-1"
    assert ErrorEvent.objects.first().severity_hint == "error"


def test_valid_events_are_kept_when_others_in_the_batch_are_rejected(sender, tenant):
    good = event(tenant)
    response = post(sender, [event(tenant, event_id="nope"), good, event(tenant, source="x")])
    body = response.json()
    assert (body["accepted"], [item["index"] for item in body["rejected"]]) == (1, [0, 2])
    assert ErrorEvent.objects.get().event_id == uuid.UUID(good["event_id"])


FUTURE = (timezone.now() + timedelta(hours=1)).isoformat()
OLD = (timezone.now() - timedelta(days=45)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"event_id": "not-a-uuid"}, "event_id", "UUID"),
        ({"event_id": 42}, "event_id", "UUID"),
        ({"tenant": "TEN-404404"}, "tenant", "Unknown tenant"),
        ({"occurred_at": "2026-03-01T10:00:00"}, "occurred_at", "time zone"),
        ({"occurred_at": "yesterday"}, "occurred_at", "ISO 8601"),
        ({"occurred_at": FUTURE}, "occurred_at", "future"),
        ({"occurred_at": OLD}, "occurred_at", "Older than"),
        ({"message": "x" * 4001}, "message", "At most 4000"),
        ({"component": "c" * 101}, "component", "At most 100"),
        ({"error_class": "   "}, "error_class", "blank"),
        ({"message": 12}, "message", "string"),
        ({"severity": "fatal"}, "severity", "not one of"),
        ({"source": "mainframe"}, "source", "not one of"),
        ({"context": {"browser": "x"}}, "context.browser", "Unknown context key"),
        ({"context": {"city": "v" * 201}}, "context.city", "At most 200"),
        ({"context": ["city"]}, "context", "object"),
        ({"colour": "red"}, "colour", "Unknown field"),
        ({"component": ...}, "component", "Required"),
        ({"occurred_at": None}, "occurred_at", "Required"),
    ],
)
def test_each_rejection_names_its_field_and_reason(sender, tenant, overrides, field, says):
    response = post(sender, [event(tenant, **overrides)])
    assert response.status_code == 200
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 0 and says in " ".join(rejected["errors"][field])
    assert not ErrorEvent.objects.exists()


def test_every_problem_of_an_event_is_named_at_once(sender, tenant):
    bad = event(tenant, event_id="x", source="?", occurred_at="2026-01-01T00:00:00")
    [rejected] = post(sender, [bad]).json()["rejected"]
    assert set(rejected["errors"]) == {"event_id", "source", "occurred_at"}


def test_an_item_that_is_not_an_object_is_rejected(sender, tenant):
    body = post(sender, ["oops", event(tenant)]).json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 0, "errors": {"non_field_errors": ["Each event must be a JSON object."]}}
    ]


def test_more_than_a_thousand_events_is_refused_whole_with_413(sender, tenant):
    response = post(sender, [event(tenant) for _ in range(1001)])
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "At most 1000 events per request; this one has 1001."
    )
    assert not ErrorEvent.objects.exists()


@pytest.mark.parametrize("body", [{}, {"events": "x"}, {"events": []}])
def test_a_body_without_a_list_of_events_is_a_400(sender, body):
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400 and "events" in response.json()["error"]["fields"]


def test_replaying_a_batch_stores_nothing_new_and_counts_duplicates(sender, tenant):
    events = [event(tenant) for _ in range(3)]
    post(sender, events)
    assert post(sender, events).json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert Incident.objects.get().event_count == 3


def test_an_idempotency_key_replays_the_first_response(sender, tenant):
    events = [event(tenant)]
    first = post(sender, events, **{"Idempotency-Key": "batch-1"})
    again = post(sender, events, **{"Idempotency-Key": "batch-1"})
    assert again.json() == first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(sender, [event(tenant)], **{"Idempotency-Key": "batch-1"})
    assert other.status_code == 422


def test_sending_needs_the_events_scope(service, tenant):
    response = post(service("incidents:read"), [event(tenant)])
    assert response.status_code == 403 and not ErrorEvent.objects.exists()


def test_the_documented_shape_and_the_validator_agree():
    """The schema's serializer and the fast validator name the same fields, limits and choices."""
    fields = ErrorEventInSerializer().fields
    assert set(fields) == validation.KNOWN_FIELDS
    assert {name for name, field in fields.items() if field.required} == set(validation.REQUIRED)
    for name, limit in validation.MAX_LENGTHS.items():
        assert fields[name].max_length == limit
    assert tuple(fields["source"].choices) == validation.SOURCES
    assert tuple(fields["severity"].choices) == validation.SEVERITY_HINTS
    assert tuple(ErrorEventContextSerializer().fields) == validation.CONTEXT_KEYS
