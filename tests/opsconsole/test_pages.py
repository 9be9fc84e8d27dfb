"""The kernel's pages: jobs with live progress, the operations log, the runtime switch."""

import pytest

from opsconsole.jobs import job_create
from opsconsole.models import OperationRecord, RuntimeSwitch

pytestmark = pytest.mark.django_db


def test_jobs_page_lists_jobs_and_polls_only_while_one_runs(login):
    client = login("sre")
    finished = job_create(name="slo.pipeline")
    finished.status = "succeeded"
    finished.save()
    page = client.get("/jobs/")
    assert b"slo.pipeline" in page.content and b'hx-trigger="every 2s"' not in page.content
    job_create(name="incidents.bulk_acknowledge", total=120)
    page = client.get("/jobs/")
    assert b'hx-trigger="every 2s"' in page.content


def test_an_htmx_request_gets_only_the_rows(login):
    job_create(name="slo.pipeline")
    response = login("sre").get("/jobs/", headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b"slo.pipeline" in response.content


def test_job_detail_polls_until_the_job_finishes(login):
    job = job_create(name="incidents.bulk_resolve", total=80)
    client = login("sre")
    assert b'hx-trigger="every 2s"' in client.get(f"/jobs/{job.pk}/").content
    job.status = "succeeded"
    job.save()
    partial = client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"})
    assert b"every 2s" not in partial.content and b"<html" not in partial.content


def test_switching_to_maintenance_shows_the_banner_to_everyone(login):
    admin = login("admin")
    response = admin.post(
        "/runtime/", {"mode": "maintenance", "reason": "Database upgrade until 22:00"}, follow=True
    )
    assert b"now in maintenance mode" in response.content
    assert RuntimeSwitch.objects.get().mode == "maintenance"
    page = login("care_agent").get("/dashboard/")
    assert b"Maintenance mode." in page.content and b"Database upgrade until 22:00" in page.content


def test_a_refused_switch_shows_the_reason_on_the_form(login):
    response = login("admin").post("/runtime/", {"mode": "degraded", "reason": "short"})
    assert response.status_code == 200
    assert b"At least 10 characters." in response.content
    assert OperationRecord.objects.get().outcome == "invalid"


def test_operations_log_filters_by_outcome(login):
    admin = login("admin")
    admin.post("/runtime/", {"mode": "degraded", "reason": "short"})
    admin.post("/runtime/", {"mode": "degraded", "reason": "long enough reason here"})
    page = login("auditor").get("/operations/?outcome=invalid")
    assert page.content.count(b"console.set_runtime_mode</code>") == 1


def test_navigation_follows_the_role(login):
    care = login("care_agent").get("/dashboard/").content
    assert b"Jobs" in care and b"Runtime switch" not in care and b"Operations log" not in care
    admin = login("admin").get("/dashboard/").content
    assert b"Runtime switch" in admin and b"Django admin" in admin


def test_readiness_reports_database_redis_and_registry(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "redis": "ok"}
    assert (
        body["registry"]["frozen"] and "console.set_runtime_mode" in body["registry"]["operations"]
    )


def test_history_shows_who_changed_the_switch_and_why(login):
    login("admin").post("/runtime/", {"mode": "degraded", "reason": "Trutta is slow to answer"})
    page = login("admin").get("/runtime/").content.decode()
    assert "console.set_runtime_mode" in page and "Trutta is slow to answer" in page
