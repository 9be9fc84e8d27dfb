"""The incident pages: the list and its filters, one incident worked inline, bulk actions,
the overview and patterns — and what each costs in queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, Status
from incidents.operations import incident_assign, incident_resolve
from incidents.operations.bulk import INLINE_LIMIT
from incidents.tasks import bulk_act_task
from opsconsole.models import JobRun
from opsconsole.registry import Actor
from tests.factories import TenantFactory
from tests.incidents.factories import incident_with_events, incidents_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', response.content.decode())]


def test_the_list_shows_active_incidents_by_default_and_filters(login, system):
    resolved = incident_with_events(component="search")
    incident_resolve(actor=system, incident=resolved, note="fixed").unwrap()
    tenant = TenantFactory(ref="TEN-5")
    active = incident_with_events(tenant=tenant, component="checkout")
    client = login("sre")
    assert row_ids(client.get("/incidents/")) == [active.pk]
    assert set(row_ids(client.get("/incidents/?status="))) == {active.pk, resolved.pk}
    assert row_ids(client.get("/incidents/?status=&tenant=TEN-5")) == [active.pk]
    assert row_ids(client.get("/incidents/?status=resolved")) == [resolved.pk]


def test_filtering_with_htmx_returns_only_the_rows(login):
    incident_with_events()
    response = login("sre").get("/incidents/?status=active", headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="incident-rows">') and "<html" not in body


def test_a_bad_filter_is_shown_not_a_crash(login):
    response = login("sre").get("/incidents/?since=tomorrowish")
    assert response.status_code == 200 and "Enter a valid date/time" in response.content.decode()


def test_a_care_agent_sees_the_list_without_bulk_controls(login):
    incident_with_events()
    body = login("care_agent").get("/incidents/").content.decode()
    assert "bulk-form" not in body and 'name="ids"' not in body


QUERY_SIZES = (1, 50, 200)
# What every page's layout reads and an API response does not: the runtime banner and the roles
# shown in the top bar (opsconsole.context_processors.console).
LAYOUT_TABLES = ('"opsconsole_runtimeswitch"', '"auth_group"')


def without_layout(queries) -> list[str]:
    return [
        query["sql"]
        for query in queries
        if not any(query["sql"].startswith(f"SELECT {table}.") for table in LAYOUT_TABLES)
    ]


@pytest.fixture
def two_hundred_incidents(make_user, system):
    incidents = incidents_for(200)
    someone = make_user("sre")
    for incident in incidents[::3]:
        incident_assign(actor=system, incident=incident, assignee=someone).unwrap()
    return incidents


def test_list_page_and_api_issue_the_same_queries_for_1_50_and_200_rows(
    login, api_as, two_hundred_incidents
):
    page_client, api_client = login("sre"), api_as("sre")
    page_client.get("/incidents/"), api_client.get("/api/v1/incidents")  # warm caches
    counts = {}
    for size in QUERY_SIZES:
        with CaptureQueriesContext(connection) as page:
            page_response = page_client.get(f"/incidents/?status=active&page_size={size}")
        with CaptureQueriesContext(connection) as api:
            api_response = api_client.get(f"/api/v1/incidents?status=active&page_size={size}")
        assert len(row_ids(page_response)) == len(api_response.json()["results"]) == size
        assert len(without_layout(page)) == len(api), (without_layout(page), api.captured_queries)
        counts[size] = (len(page), len(api))
    assert counts[1] == counts[50] == counts[200], counts  # nothing grows with the page size
    assert sum("incidents_incident" in sql for sql in without_layout(page)) == 1
    assert not any("count(" in query["sql"].lower() for query in page.captured_queries)


def test_the_detail_page_costs_the_same_for_few_or_many_events_and_tenants(login):
    small = incident_with_events(1)
    large = incident_with_events(40, component="search")
    client = login("sre")
    client.get(f"/incidents/{small.pk}/")  # warm caches
    counts = []
    for incident in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/incidents/{incident.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_acknowledging_inline_returns_the_work_panel_with_the_timeline(login):
    incident = incident_with_events()
    client = login("sre", username="sam")
    response = client.post(f"/incidents/{incident.pk}/acknowledge/", headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="incident-work">')
    assert "Acknowledged by sam" in body and "acknowledged." in body
    assert Incident.objects.get(pk=incident.pk).status == Status.ACKNOWLEDGED


def test_without_htmx_an_action_redirects_back_to_the_incident(login):
    incident = incident_with_events()
    response = login("sre").post(f"/incidents/{incident.pk}/acknowledge/")
    assert response.status_code == 302 and response.url == incident.get_absolute_url()


def test_resolving_without_a_note_shows_the_error_on_the_form(login):
    incident = incident_with_events()
    client = login("sre")
    inline = client.post(f"/incidents/{incident.pk}/resolve/", {"note": ""}, headers=HTMX)
    assert inline.status_code == 200 and "This field is required" in inline.content.decode()
    plain = client.post(f"/incidents/{incident.pk}/resolve/", {"note": "ok"})
    assert plain.status_code == 400 and "Write a resolution note" in plain.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == Status.OPEN


def test_resolving_then_reopening_inline_lands_on_the_timeline(login):
    incident = incident_with_events()
    client = login("sre")
    client.post(f"/incidents/{incident.pk}/resolve/", {"note": "Rolled back"}, headers=HTMX)
    body = client.post(
        f"/incidents/{incident.pk}/reopen/", {"reason": "Errors again"}, headers=HTMX
    ).content.decode()
    assert "Rolled back" in body and "Errors again" in body
    assert Incident.objects.get(pk=incident.pk).status == Status.OPEN


def test_a_refused_action_says_why(login):
    incident = incident_with_events()
    client = login("sre")
    client.post(f"/incidents/{incident.pk}/acknowledge/")
    body = client.post(f"/incidents/{incident.pk}/acknowledge/", headers=HTMX).content.decode()
    assert "is acknowledged already" in body


def test_assigning_and_noting_from_the_page(login, make_user):
    incident = incident_with_events()
    colleague = make_user("sre", username="zoe")
    client = login("sre")
    client.post(f"/incidents/{incident.pk}/assign/", {"assignee": colleague.pk})
    client.post(f"/incidents/{incident.pk}/notes/", {"text": "Looking at the PSP"})
    incident.refresh_from_db()
    assert incident.assignee == colleague
    assert incident.timeline.first().message == "Looking at the PSP"


def test_the_detail_page_includes_the_panels_other_apps_declare(
    login, settings, monkeypatch, tmp_path
):
    from django.apps import apps

    (tmp_path / "override_panel.html").write_text("<p>Override #{{ incident.pk }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    founder_app = apps.get_app_config("opsconsole")
    monkeypatch.setattr(founder_app, "incident_panels", ("override_panel.html",), raising=False)
    incident = incident_with_events()
    body = login("founder").get(f"/incidents/{incident.pk}/").content.decode()
    assert f"<p>Override #{incident.pk}</p>" in body


def test_bulk_acknowledge_of_a_few_runs_at_once_and_reports_refusals(login, system):
    incidents = incidents_for(3)
    incident_resolve(actor=system, incident=incidents[0], note="fixed").unwrap()
    client = login("sre")
    response = client.post(
        "/incidents/bulk/",
        {"action": "acknowledge", "ids": [i.pk for i in incidents], "next": "/incidents/"},
        follow=True,
    )
    assert "Acknowledged 2 of 3" in response.content.decode()
    statuses = set(
        Incident.objects.filter(pk__in=[i.pk for i in incidents[1:]]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {Status.ACKNOWLEDGED}


def test_bulk_resolve_needs_a_note(login):
    incidents = incidents_for(2)
    response = login("sre").post(
        "/incidents/bulk/", {"action": "resolve", "ids": [i.pk for i in incidents]}, follow=True
    )
    assert "Say what resolved them" in response.content.decode()
    assert not Incident.objects.filter(status=Status.RESOLVED).exists()


def test_more_than_500_is_refused(login):
    response = login("sre").post(
        "/incidents/bulk/", {"action": "acknowledge", "ids": list(range(1, 502))}, follow=True
    )
    assert "At most 500" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_bulk_resolve_above_fifty_runs_as_a_job_through_each_operation(login):
    incidents = incidents_for(INLINE_LIMIT + 10)
    client = login("sre", username="rita")
    response = client.post(
        "/incidents/bulk/",
        {"action": "resolve", "ids": [i.pk for i in incidents], "note": "PSP failover"},
    )
    job = JobRun.objects.get(name="incidents.bulk_resolve")
    assert response.url == job.get_absolute_url()
    assert Incident.objects.filter(status=Status.RESOLVED).count() == 0  # not yet
    assert bulk_act_task.run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == ("succeeded", 60, 60)
    assert job.result["done"] == 60
    resolved = Incident.objects.filter(status=Status.RESOLVED, resolved_by__username="rita")
    assert resolved.count() == 60
    assert all(i.timeline.first().message == "PSP failover" for i in resolved)


def test_a_role_that_may_not_resolve_cannot_bulk_resolve(login):
    incident = incident_with_events()
    response = login("care_lead").post(
        "/incidents/bulk/", {"action": "resolve", "ids": [incident.pk], "note": "x"}
    )
    assert response.status_code == 403


def test_the_overview_shows_summaries_and_charts(login, system):
    incident_with_events(5, component="checkout")
    body = login("sre").get("/incidents/overview/?window=6h").content.decode()
    assert "Errors in the last 6h" in body and 'data-chart="error-chart-data"' in body
    assert "checkout" in body and "MTTA / MTTR, last 7 days" in body


def test_switching_the_window_with_htmx_returns_only_the_error_panel(login):
    body = login("sre").get("/incidents/overview/?window=1h", headers=HTMX).content.decode()
    assert body.lstrip().startswith('<section class="panel" id="error-counts">')


def test_the_sre_lands_on_the_overview(login):
    assert login("sre").get("/").url == "/incidents/overview/"


def test_the_patterns_page_and_the_recent_panel(login, system):
    from django.utils import timezone

    from incidents.operations import patterns_detect

    incidents_for(3)
    patterns_detect(actor=system, window_end=timezone.now()).unwrap()
    client = login("sre")
    assert "3 latency incidents" in client.get("/incidents/patterns/").content.decode()
    panel = client.get("/incidents/patterns/?panel=recent", headers=HTMX).content.decode()
    assert "1 recent pattern" in panel


def test_history_shows_who_changed_the_incident(login, make_user):
    incident = incident_with_events()
    incident_resolve(
        actor=Actor(user=make_user("sre", username="hal")), incident=incident, note="okay"
    ).unwrap()
    body = login("auditor").get(f"/incidents/{incident.pk}/").content.decode()
    assert "incidents.resolve" in body and "hal" in body
