"""Ingestion: deduplicated, grouped race-safely, counted per batch, escalated, regressed."""

from datetime import timedelta
from math import inf
from time import monotonic

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import CountDelta, ErrorEvent, Incident, IncidentTenant, Status, TimelineEntry
from incidents.operations import counters_fold, errors_ingest, incident_resolve
from incidents.operations import ingest as ingest_module
from incidents.operations.fold import FOLD_LOCK
from opsconsole.models import OutboxEvent
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_events_with_one_fingerprint_share_one_incident_with_batch_counters(
    make_event, ingest, tenant
):
    other = TenantFactory()
    events = [make_event(message=f"Upstream gateway timed out after {n} ms") for n in range(5)]
    events.append(make_event(tenant_id=other.pk))
    summary = ingest(events)
    assert (summary.accepted, summary.duplicates) == (6, 0)
    [incident] = Incident.objects.all()
    assert incident.event_count == 6 and incident.tenant_count == 2
    assert incident.first_seen_at == min(event.occurred_at for event in events)
    assert incident.status == Status.OPEN and incident.source == "prg"
    assert incident.category == "latency"
    assert IncidentTenant.objects.get(incident=incident, tenant=tenant).event_count == 5
    assert incident.timeline.get().kind == "opened"


def test_replaying_a_batch_stores_nothing_new(make_event, ingest):
    events = [make_event() for _ in range(3)]
    ingest(events)
    again = ingest(events)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert ErrorEvent.objects.count() == 3
    assert Incident.objects.get().event_count == 3


def test_a_repeat_inside_one_batch_counts_once(make_event, ingest):
    event = make_event()
    summary = ingest([event, event])
    assert (summary.accepted, summary.duplicates) == (1, 1)


def test_different_problems_open_different_incidents(make_event, ingest):
    ingest([make_event(), make_event(component="search", error_class="ReadTimeout")])
    assert Incident.objects.count() == 2


def test_a_batch_costs_the_same_number_of_queries_for_5_or_500_events(make_event, ingest):
    # The incident exists and is critical already: both batches below only update its counters.
    ingest([make_event() for _ in range(600)])

    def queries_for(count):
        with CaptureQueriesContext(connection) as queries:
            ingest([make_event() for _ in range(count)])
        return len(queries)

    assert queries_for(5) == queries_for(500)


def test_severity_escalates_with_volume_and_says_why(make_event, ingest):
    ingest([make_event()])
    incident = Incident.objects.get()
    assert incident.severity == "low"
    ingest([make_event() for _ in range(120)])
    incident.refresh_from_db()
    assert incident.severity == "high"
    entry = incident.timeline.filter(kind="escalated").get()
    assert entry.data == {"from": "low", "to": "high"} and "121 errors in 5 min" in entry.message
    assert OutboxEvent.objects.filter(event_type="incident.escalated").count() == 1


def test_a_resolved_incident_whose_errors_return_regresses(make_event, ingest, system):
    ingest([make_event()])
    incident = Incident.objects.get()
    incident_resolve(actor=system, incident=incident, note="PSP failover fixed it").unwrap()
    ingest([make_event()])
    incident.refresh_from_db()
    assert incident.status == Status.REGRESSED and incident.regression_count == 1
    assert incident.resolved_at is None
    assert incident.timeline.first().kind == "regressed"
    assert Incident.objects.count() == 1


def test_after_the_regression_window_the_same_errors_open_a_new_incident(
    make_event, ingest, system, settings
):
    ingest([make_event()])
    old = Incident.objects.get()
    incident_resolve(actor=system, incident=old, note="fixed").unwrap()
    Incident.objects.filter(pk=old.pk).update(
        resolved_at=timezone.now() - settings.INCIDENT_REGRESSION_WINDOW - timedelta(hours=1)
    )
    ingest([make_event()])
    assert Incident.objects.count() == 2
    assert Incident.objects.get(pk=old.pk).status == Status.RESOLVED


def test_a_replay_never_reopens_a_resolved_incident(make_event, ingest, system):
    events = [make_event()]
    ingest(events)
    incident = Incident.objects.get()
    incident_resolve(actor=system, incident=incident, note="fixed").unwrap()
    ingest(events)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_ingesting_needs_the_events_scope(make_event, service):
    from opsconsole.registry import Actor

    key = service("enforcement:read").api_key
    result = errors_ingest(actor=Actor(api_key=key), events=[make_event()])
    assert result.error.code == "forbidden"
    assert not ErrorEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_with_a_new_fingerprint_leave_one_incident(make_event, system):
    batches = iter([[make_event() for _ in range(50)] for _ in range(4)])
    results = run_concurrently(lambda: errors_ingest(actor=system, events=next(batches)), 4)
    assert all(result.ok for result in results), [result.error for result in results]
    counters_fold(actor=system).unwrap()  # the sweep: what no batch could fold while it ran
    [incident] = Incident.objects.all()
    assert incident.event_count == 200 == ErrorEvent.objects.count()
    assert TimelineEntry.objects.filter(kind="opened").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_cannot_fold_leaves_its_counts_for_the_next_fold(make_event, system):
    """While someone else holds the fold lock, a batch is stored and counted by the next fold —
    never lost, never counted twice."""
    other = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s)", [FOLD_LOCK])
    try:
        result = errors_ingest(actor=system, events=[make_event() for _ in range(7)])
    finally:
        other.close()  # releases the lock
    assert result.ok and result.value.accepted == 7
    assert Incident.objects.get().event_count == 0 and CountDelta.objects.count() == 1
    counters_fold(actor=system).unwrap()
    assert Incident.objects.get().event_count == 7 and not CountDelta.objects.exists()
    counters_fold(actor=system).unwrap()
    assert Incident.objects.get().event_count == 7


@pytest.mark.django_db(transaction=True)
def test_a_burst_is_folded_once_at_the_end_of_the_fold_interval(
    make_event, system, settings, monkeypatch
):
    """The first batch folds inline; batches within the interval leave their deltas to one
    deferred fold, asked for once."""
    settings.INCIDENT_FOLD_INTERVAL_SECONDS = 60
    monkeypatch.setattr(ingest_module, "_last_inline_fold", -inf)
    monkeypatch.setattr(ingest_module, "_deferred_fold_due", -inf)
    errors_ingest(actor=system, events=[make_event() for _ in range(2)]).unwrap()
    assert Incident.objects.get().event_count == 2
    for _ in range(3):
        errors_ingest(actor=system, events=[make_event() for _ in range(5)]).unwrap()
    assert Incident.objects.get().event_count == 2 and CountDelta.objects.count() == 3
    assert ingest_module._deferred_fold_due > monotonic()  # one fold asked for, due in 60 s
    counters_fold(actor=system).unwrap()
    assert Incident.objects.get().event_count == 17 and not CountDelta.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_batch_store_it_once(make_event, system):
    events = [make_event() for _ in range(30)]
    results = run_concurrently(lambda: errors_ingest(actor=system, events=events), 3)
    assert sum(result.value.accepted for result in results) == 30
    counters_fold(actor=system).unwrap()
    assert Incident.objects.get().event_count == 30


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_incidents_in_any_order_neither_deadlock_nor_lose(
    make_event,
):
    """Batches sharing ten incidents (and some events), each in its own order, from four
    threads: every batch is stored and every counter adds up."""
    import random

    from tests.factories import TenantFactory

    tenants = [TenantFactory() for _ in range(4)]
    shared = [make_event(component=f"svc-{n}") for n in range(10)]
    batches = []
    for seed, tenant in enumerate(tenants):
        events = [
            make_event(component=f"svc-{n % 10}", tenant_id=tenant.pk) for n in range(60)
        ] + shared
        random.Random(seed).shuffle(events)
        batches.append(events)
    queue = iter(batches)
    results = run_concurrently(lambda: errors_ingest(actor=system_actor(), events=next(queue)), 4)
    assert all(result.ok for result in results), [result.error for result in results]
    assert sum(result.value.accepted for result in results) == 4 * 60 + 10
    counters_fold(actor=system_actor()).unwrap()
    assert (
        ErrorEvent.objects.count()
        == 250
        == sum(Incident.objects.values_list("event_count", flat=True))
    )
    assert IncidentTenant.objects.count() == 10 * 5  # four senders and the fixture's tenant
    assert set(Incident.objects.values_list("tenant_count", flat=True)) == {5}


def system_actor():
    from opsconsole.registry import Actor

    return Actor.for_system("tests")
