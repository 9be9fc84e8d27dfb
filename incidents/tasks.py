"""The incidents app's background work: counters, patterns, suppressions running out, bulk actions.

Each task takes ids or a time, re-reads what it needs and calls operations as the system (or, for
a bulk job, as the person who started it). All are safe to run twice or alongside themselves:
detection is idempotent per window and runs under run_tracked's lock, suppressions are ended
under row locks with SKIP LOCKED, and a bulk job runs once under its JobRun's advisory lock.
"""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from incidents.operations import counters_fold, suppressions_end
from incidents.operations.bulk import run_bulk_job
from incidents.operations.patterns import patterns_detect, window_end_for
from opsconsole.jobs import RunningJob, run_job, run_tracked
from opsconsole.registry import Actor


@shared_task(name="incidents.detect_patterns")
def detect_patterns_task(window_end: str | None = None) -> bool:
    """Look for patterns in the windows ending at the last 5-minute mark (or at `window_end`)."""
    end = window_end_for(datetime.fromisoformat(window_end) if window_end else timezone.now())

    def work(job: RunningJob) -> None:
        summary = patterns_detect(
            actor=Actor.for_system("incidents.detect_patterns"), window_end=end
        ).unwrap()
        job.set_result(
            window_end=end.isoformat(),
            created=summary.created,
            extended=summary.extended,
            linked=summary.linked,
        )
        job.advance(rows=summary.linked)

    return run_tracked("incidents.detect_patterns", work, params={"window_end": end.isoformat()})


@shared_task(name="incidents.end_suppressions")
def end_suppressions_task() -> int:
    """End the suppressions whose time has come."""
    return suppressions_end(actor=Actor.for_system("incidents.end_suppressions")).unwrap()


@shared_task(name="incidents.bulk_act", bind=True)
def bulk_act_task(self, job_id: int) -> bool:
    """Run a bulk acknowledge/resolve job (see incidents.operations.bulk)."""
    return run_job(job_id, run_bulk_job, task_id=self.request.id or "")


@shared_task(name="incidents.fold_counters")
def fold_counters_task() -> int:
    """Fold the count deltas no batch has folded yet (one folder at a time; repeats are cheap)."""
    return counters_fold(actor=Actor.for_system("incidents.fold_counters")).unwrap()
