"""The incidents API: filtered cursor lists, detail with timeline, summary, patterns, actions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident, Status
from incidents.operations import incident_acknowledge, patterns_detect
from opsconsole.registry import Actor
from tests.factories import TenantFactory
from tests.incidents.factories import incident_with_events, incidents_for

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_the_list_filters_like_the_page(api_as):
    tenant = TenantFactory(ref="TEN-77")
    payment = incident_with_events(tenant=tenant, component="psp", error_class="RefundFailed")
    timeout = incident_with_events(component="search")
    client = api_as("sre")
    assert ids(client.get("/api/v1/incidents?tenant=TEN-77")) == [payment.pk]
    assert ids(client.get("/api/v1/incidents?component=SEARCH")) == [timeout.pk]
    assert ids(client.get("/api/v1/incidents?q=refundfailed")) == [payment.pk]
    assert ids(client.get(f"/api/v1/incidents?q=%23{timeout.pk}")) == [timeout.pk]
    assert ids(client.get("/api/v1/incidents?category=payment")) == [payment.pk]
    assert ids(client.get("/api/v1/incidents?status=resolved")) == []
    assert set(ids(client.get("/api/v1/incidents?status=active&seen=1h"))) == {
        payment.pk,
        timeout.pk,
    }
    severities = f"severity={payment.severity}&severity={timeout.severity}"
    assert len(ids(client.get(f"/api/v1/incidents?{severities}"))) == 2


def test_a_bad_filter_is_a_400_naming_it(api_as):
    response = api_as("sre").get("/api/v1/incidents?status=sleeping&since=soon")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "since"}


def test_the_list_pages_by_cursor_without_repeats(api_as):
    made = incidents_for(5)
    client = api_as("sre")
    first = client.get("/api/v1/incidents?page_size=2").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert sorted(seen) == sorted(incident.pk for incident in made) and third["next"] is None


def test_a_service_with_incidents_read_may_read_but_not_act(service):
    incident = incident_with_events()
    reader = service("incidents:read")
    assert reader.get(f"/api/v1/incidents/{incident.pk}").status_code == 200
    assert reader.get("/api/v1/incidents/summary").status_code == 200
    assert reader.post(f"/api/v1/incidents/{incident.pk}/acknowledge").status_code == 403
    assert service("events:write").get("/api/v1/incidents").status_code == 403


def test_detail_carries_the_timeline(api_as, make_user):
    incident = incident_with_events()
    incident_acknowledge(actor=Actor(user=make_user("sre", username="ann")), incident=incident)
    body = api_as("auditor").get(f"/api/v1/incidents/{incident.pk}").json()
    assert [entry["kind"] for entry in body["timeline"]] == ["acknowledged", "opened"]
    assert body["timeline"][0]["actor"] == "ann" and body["acknowledged_by"] == "ann"


def test_an_unknown_incident_is_a_404(api_as):
    assert api_as("sre").get("/api/v1/incidents/999999").status_code == 404


def test_summary_counts_active_incidents_errors_and_response_times(api_as):
    incident_with_events(3, component="checkout")
    incident_with_events(2, component="search", error_class="SlowQuery")
    body = api_as("sre").get("/api/v1/incidents/summary?window=1h").json()
    assert body["active"]["total"] == 2 and body["active"]["unacknowledged"] == 2
    assert {row["name"]: row["count"] for row in body["errors"]["by_component"]} == {
        "checkout": 3,
        "search": 2,
    }
    assert body["errors"]["total"] == 5
    assert [times["days"] for times in body["response_times"]] == [7, 30]


def test_summary_refuses_an_unknown_window(api_as):
    response = api_as("sre").get("/api/v1/incidents/summary?window=2y")
    assert response.status_code == 400 and "window" in response.json()["error"]["fields"]


def test_patterns_list_names_their_incidents(api_as, system):
    made = incidents_for(3)  # three latency incidents in one hour: a cluster
    patterns_detect(actor=system, window_end=timezone.now()).unwrap()
    [pattern] = (
        api_as("sre").get("/api/v1/incidents/patterns?kind=category_cluster").json()["results"]
    )
    assert sorted(pattern["incidents"]) == sorted(incident.pk for incident in made)


def test_an_sre_works_an_incident_through_the_api(api_as, make_user):
    incident = incident_with_events()
    client = api_as("sre")
    base = f"/api/v1/incidents/{incident.pk}"
    assert client.post(f"{base}/acknowledge").json()["status"] == "acknowledged"
    assert client.post(f"{base}/acknowledge").status_code == 409
    colleague = make_user("sre", username="bea")
    assert (
        client.post(f"{base}/assign", {"assignee": "bea"}, format="json").json()["assignee"]
        == colleague.username
    )
    note = client.post(f"{base}/notes", {"text": "Rolling back"}, format="json")
    assert note.status_code == 201 and note.json()["kind"] == "note"
    missing = client.post(f"{base}/resolve", {}, format="json")
    assert missing.status_code == 400 and "note" in missing.json()["error"]["fields"]
    resolved = client.post(f"{base}/resolve", {"note": "Rolled back 4.2"}, format="json")
    assert resolved.json()["status"] == "resolved"
    reopened = client.post(f"{base}/reopen", {"reason": "Still failing"}, format="json")
    assert reopened.json()["status"] == "open"
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds[:5] == ["reopened", "resolved", "note", "assigned", "acknowledged"]


def test_assigning_to_someone_who_does_not_work_incidents_is_refused(api_as, make_user):
    incident = incident_with_events()
    make_user("care_agent", username="carl")
    response = api_as("sre").post(
        f"/api/v1/incidents/{incident.pk}/assign", {"assignee": "carl"}, format="json"
    )
    assert response.status_code == 400 and "assignee" in response.json()["error"]["fields"]


def test_a_retried_resolve_with_the_same_key_resolves_once(api_as):
    incident = incident_with_events()
    client = api_as("sre")
    url = f"/api/v1/incidents/{incident.pk}/resolve"
    for _ in range(2):
        response = client.post(
            url, {"note": "fixed"}, format="json", headers={"Idempotency-Key": "k1"}
        )
        assert response.status_code == 200
    assert incident.timeline.filter(kind="resolved").count() == 1
    assert Incident.objects.get(pk=incident.pk).status == Status.RESOLVED


def test_response_times_average_the_stored_durations(api_as, make_user):
    incident = incident_with_events()
    Incident.objects.filter(pk=incident.pk).update(opened_at=timezone.now() - timedelta(hours=1))
    incident_acknowledge(actor=Actor(user=make_user("sre")), incident=incident).unwrap()
    body = api_as("sre").get("/api/v1/incidents/summary").json()
    week = body["response_times"][0]
    assert week["acknowledged"] == 1 and 3590 < week["mtta_seconds"] < 3700
