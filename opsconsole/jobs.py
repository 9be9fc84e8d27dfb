"""Background jobs: enqueueing that never breaks a request, and JobRuns people can watch.

    # in an operation
    job = job_create(name="incidents.bulk_acknowledge", task="incidents.bulk_acknowledge",
                     total=len(ids), created_by=actor.user)
    after_commit(lambda: enqueue(bulk_acknowledge_task, job.pk))

    # in the task
    run_job(job_id, lambda job: acknowledge_in_chunks(job, ...))

A job runs under a PostgreSQL advisory lock on its id, so a copy sent twice (a lost kick re-sent,
a message redelivered after its worker died) runs once at a time and not at all once finished; a
copy whose worker died releases the lock with its connection, and the redelivered copy resumes.
Progress is written with single UPDATEs outside the job's own transactions, so the Jobs page sees
it live; a job's work therefore commits in chunks, never as one transaction around the whole job.
"""

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from django.db import connection
from django.db.models import F
from django.utils import timezone

from opsconsole.models import JobRun, JobStatus

log = structlog.get_logger(__name__)


def enqueue(task, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send a task to the broker without retrying (to run `countdown` seconds from now, if
    given); False (and a log line) if Redis is down.

    Only for work that something else picks up again — beat's sweeps, queued JobRuns re-sent by
    `resend_queued_jobs` — so a lost send delays work but never loses it.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown, retry=False)
    except Exception as exc:
        log.warning("task.enqueue_failed", task=task.name, error=str(exc))
        return False
    return True


def job_create(
    *,
    name: str,
    task: str = "",
    total: int | None = None,
    params: dict | None = None,
    created_by=None,
) -> JobRun:
    """A queued JobRun. `task` names the Celery task that runs it (given the job id), so a job
    whose send was lost is sent again."""
    return JobRun.objects.create(
        name=name,
        progress_total=total,
        params={**(params or {}), "task": task},
        created_by=created_by,
    )


@contextlib.contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """Try a session-level PostgreSQL advisory lock; yields whether this process holds it."""
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


class RunningJob:
    """Handle for a job in progress; every method writes through at once."""

    def __init__(self, job: JobRun):
        self.job = job

    @property
    def pk(self) -> int:
        return self.job.pk

    @property
    def params(self) -> dict:
        return self.job.params

    def _update(self, **changes: Any) -> None:
        JobRun.objects.filter(pk=self.job.pk).update(**changes)

    def set_total(self, total: int) -> None:
        self.job.progress_total = total
        self._update(progress_total=total)

    def advance(self, done: int = 1, *, rows: int = 0) -> None:
        self._update(progress_done=F("progress_done") + done, rows=F("rows") + rows)

    def set_watermarks(self, start: int | None, end: int | None) -> None:
        self._update(watermark_from=start, watermark_to=end)

    def set_result(self, **result: Any) -> None:
        self.job.result = {**self.job.result, **result}
        self._update(result=self.job.result)


def run_job(job_id: int, work: Callable[[RunningJob], Any], *, task_id: str = "") -> bool:
    """Run `work` for a queued job, recording how it went; False if another copy holds the job
    or it has finished already."""
    if connection.in_atomic_block:
        raise RuntimeError("a job's progress must be written outside a transaction")
    with advisory_lock(f"jobrun:{job_id}") as held:
        if not held:
            log.info("job.busy", job=job_id)
            return False
        job = JobRun.objects.filter(pk=job_id).first()
        if job is None or job.is_finished:
            return False
        JobRun.objects.filter(pk=job_id).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), task_id=task_id, error=""
        )
        try:
            work(RunningJob(job))
        except Exception as exc:
            JobRun.objects.filter(pk=job_id).update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                error=f"{type(exc).__name__}: {exc}"[:2000],
            )
            log.exception("job.failed", job=job_id, name=job.name)
            raise
        JobRun.objects.filter(pk=job_id).update(
            status=JobStatus.SUCCEEDED, finished_at=timezone.now()
        )
        log.info("job.succeeded", job=job_id, name=job.name)
        return True


def run_tracked(
    name: str, work: Callable[[RunningJob], Any], *, params: dict | None = None
) -> bool:
    """A periodic job that records itself: one JobRun per run, never two runs at once."""
    with advisory_lock(f"job:{name}") as held:
        if not held:
            log.info("job.busy", name=name)
            return False
        job = job_create(name=name, params=params)
        return run_job(job.pk, work)
