"""The kernel's background tasks."""

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from opsconsole import outbox
from opsconsole.jobs import enqueue
from opsconsole.models import IdempotencyKey, JobRun, JobStatus

log = structlog.get_logger(__name__)


@shared_task(name="opsconsole.outbox_relay")
def outbox_relay_task() -> dict:
    """Deliver due outbox events. Safe alongside itself: claims are leased under SKIP LOCKED."""
    return dict(outbox.relay())


@shared_task(name="opsconsole.expire_idempotency_keys")
def expire_idempotency_keys_task() -> int:
    """Forget idempotency keys past their lifetime; repeats are harmless."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


RESEND_AFTER = timedelta(minutes=2)


@shared_task(name="opsconsole.resend_queued_jobs")
def resend_queued_jobs_task() -> int:
    """Re-send jobs still queued after RESEND_AFTER (their kick was lost while Redis was down).

    Safe to repeat: a job runs under an advisory lock on its id and not at all once finished
    (see `jobs.run_job`), so a job sent twice runs once.
    """
    from celery import current_app

    stale = JobRun.objects.filter(
        status=JobStatus.QUEUED, created_at__lt=timezone.now() - RESEND_AFTER
    ).exclude(params__task="")
    sent = 0
    for job in stale[:100]:
        task = current_app.tasks.get(job.params.get("task", ""))
        if task is not None and enqueue(task, job.pk):
            sent += 1
    if sent:
        log.info("jobs.resent", count=sent)
    return sent
