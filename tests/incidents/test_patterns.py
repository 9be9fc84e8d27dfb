"""Pattern detection over stored incidents: found, linked, on the timeline, never twice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Component, Pattern, TimelineEntry
from incidents.operations import patterns_detect
from incidents.operations.patterns import window_end_for
from incidents.tasks import detect_patterns_task
from opsconsole.models import JobRun, OutboxEvent
from tests.factories import TenantFactory
from tests.incidents.factories import incident_with_events

pytestmark = pytest.mark.django_db


def components(**upstream):
    for name in {*upstream, *filter(None, upstream.values())}:
        Component.objects.get_or_create(name=name)
    for name, parent in upstream.items():
        Component.objects.filter(name=name).update(upstream=Component.objects.get(name=parent))


def cascade_incidents(session: str = ""):
    components(**{"booking-api": "postgres", "checkout": "booking-api", "search": "postgres"})
    tenant = TenantFactory()
    context = {"session": session} if session else {}
    return [
        incident_with_events(tenant=tenant, component=name, error_class=f"E{n}", context=context)
        for n, name in enumerate(["postgres", "booking-api", "checkout", "search"])
    ]


def test_a_cascade_along_upstream_links_its_incidents_with_a_timeline_entry(system):
    incidents = cascade_incidents()
    end = window_end_for(timezone.now()) + timedelta(minutes=5)
    summary = patterns_detect(actor=system, window_end=end).unwrap()
    cascade = Pattern.objects.get(kind="cascade", key="component:postgres")
    assert set(cascade.incidents.values_list("id", flat=True)) == {i.pk for i in incidents}
    assert cascade.incident_count == 4 and 0 < cascade.confidence <= 1
    entry = incidents[2].timeline.filter(kind="pattern", data__pattern=cascade.pk).get()
    assert entry.data["kind"] == "cascade" and "postgres" in entry.message
    assert summary.created >= 1
    assert OutboxEvent.objects.filter(event_type="incident_pattern.detected").exists()


def test_rerunning_a_window_creates_nothing_twice(system):
    cascade_incidents()
    end = window_end_for(timezone.now()) + timedelta(minutes=5)
    patterns_detect(actor=system, window_end=end).unwrap()
    before = (Pattern.objects.count(), TimelineEntry.objects.filter(kind="pattern").count())
    again = patterns_detect(actor=system, window_end=end).unwrap()
    assert (again.created, again.linked) == (0, 0)
    after = (Pattern.objects.count(), TimelineEntry.objects.filter(kind="pattern").count())
    assert after == before


def test_an_ongoing_pattern_is_extended_by_the_next_window(system):
    incidents = cascade_incidents()
    end = window_end_for(timezone.now()) + timedelta(minutes=5)
    patterns_detect(actor=system, window_end=end).unwrap()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        later = incident_with_events(component="checkout", error_class="Late")
        summary = patterns_detect(actor=system, window_end=end + timedelta(minutes=5)).unwrap()
    cascade = Pattern.objects.get(kind="cascade", key="component:postgres")
    assert summary.created == 0 and cascade.window_end == end + timedelta(minutes=5)
    assert cascade.incident_count == len(incidents) + 1
    assert later.timeline.filter(kind="pattern").exists()


def test_incidents_whose_errors_share_a_session_form_a_cascade(system):
    cascade_incidents(session="sess-42")
    patterns_detect(actor=system, window_end=timezone.now()).unwrap()
    assert Pattern.objects.get(key="session:sess-42").incident_count == 4


def test_nothing_related_finds_no_pattern(system):
    incident_with_events(component="a", error_class="X")
    incident_with_events(component="b", error_class="Y", message="Disk quota exceeded")
    summary = patterns_detect(actor=system, window_end=timezone.now()).unwrap()
    assert summary.created == 0 and not Pattern.objects.exists()


def test_patterns_are_not_found_in_the_future(system):
    result = patterns_detect(actor=system, window_end=timezone.now() + timedelta(hours=1))
    assert result.error.fields == {"window_end": ["In the past."]}


def test_people_may_not_run_detection(make_user):
    from opsconsole.registry import Actor

    result = patterns_detect(actor=Actor(user=make_user("sre")), window_end=timezone.now())
    assert result.error.code == "forbidden"


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_detects_on_the_five_minute_grid_and_records_a_job():
    opened = window_end_for(timezone.now()) - timedelta(minutes=9)  # a minute after a grid point
    with time_machine.travel(opened, tick=False):
        cascade_incidents()
    moment = opened + timedelta(minutes=6, seconds=30)
    with time_machine.travel(moment, tick=False):
        assert detect_patterns_task()
    job = JobRun.objects.get(name="incidents.detect_patterns")
    assert job.status == "succeeded" and job.result["created"] >= 1
    assert job.params["window_end"] == (opened + timedelta(minutes=4)).isoformat()
