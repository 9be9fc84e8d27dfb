"""JobRuns: recorded, run once however often they are sent, watched live."""

import threading

import pytest
from django.db import connection

from opsconsole.jobs import job_create, run_job, run_tracked
from opsconsole.models import JobRun, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_records_progress_rows_and_success():
    job = job_create(name="tests.count", total=3)

    def work(running):
        for _ in range(3):
            running.advance(rows=10)
        running.set_watermarks(5, 42)
        running.set_result(kept=3)

    assert run_job(job.pk, work)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.percent == 100
    assert (job.progress_done, job.rows, job.watermark_from, job.watermark_to) == (3, 30, 5, 42)
    assert job.result == {"kept": 3}
    assert job.started_at <= job.finished_at


def test_a_failing_job_is_marked_failed_with_its_error():
    job = job_create(name="tests.fail")

    def work(running):
        raise ValueError("upstream sent garbage")

    with pytest.raises(ValueError, match="garbage"):
        run_job(job.pk, work)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "upstream sent garbage" in job.error


def test_a_finished_job_sent_again_does_not_run_again():
    job = job_create(name="tests.once")
    runs = []
    run_job(job.pk, runs.append)
    assert not run_job(job.pk, runs.append)
    assert len(runs) == 1


def test_two_copies_of_one_job_never_run_at_the_same_time():
    job = job_create(name="tests.exclusive")
    inside, release = threading.Event(), threading.Event()
    outcomes = []

    def slow(running):
        inside.set()
        release.wait(10)

    def first():
        outcomes.append(run_job(job.pk, slow))
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    outcomes.append(run_job(job.pk, lambda running: None))  # the duplicate
    release.set()
    thread.join()
    assert sorted(outcomes) == [False, True]
    assert JobRun.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def test_tracked_periodic_jobs_leave_one_run_each():
    assert run_tracked("tests.periodic", lambda running: running.advance(rows=7))
    run = JobRun.objects.get(name="tests.periodic")
    assert run.status == JobStatus.SUCCEEDED and run.rows == 7


def test_progress_is_visible_from_another_connection_while_the_job_runs():
    job = job_create(name="tests.visible", total=2)
    seen = []

    def work(running):
        running.advance()

        def look():
            seen.append(JobRun.objects.get(pk=job.pk).progress_done)
            connection.close()

        watcher = threading.Thread(target=look)
        watcher.start()
        watcher.join()

    run_job(job.pk, work)
    assert seen == [1]
