"""Compensation's background work. Every task takes ids, re-reads, and calls an operation; each is
safe to run twice or alongside itself (see each docstring)."""

import structlog
from celery import shared_task

from compensation.models import CompensationProposal, Status
from compensation.operations import (
    proposal_approve,
    proposal_issue,
    proposals_create_for_affected_users,
    proposals_route_waiting,
)
from incidents.selectors import affected_users_after
from opsconsole.jobs import RunningJob, run_job, run_tracked
from opsconsole.models import JobRun, JobStatus
from opsconsole.registry import Actor

log = structlog.get_logger(__name__)

PROPOSE_JOB = "compensation.propose"
CHUNK = 200


def last_watermark() -> int:
    """Where the last successful run of the proposal job stopped in the affected users."""
    last = (
        JobRun.objects.filter(name=PROPOSE_JOB, status=JobStatus.SUCCEEDED)
        .exclude(watermark_to=None)
        .order_by("-id")
        .values_list("watermark_to", flat=True)
        .first()
    )
    return last or 0


def propose(job: RunningJob) -> None:
    """Apply the policies to users attached since the last run, chunk by chunk, then route the
    proposals still waiting for an exchange rate."""
    actor = Actor.for_system(PROPOSE_JOB)
    start = position = last_watermark()
    totals = {"created": 0, "no_policy": 0, "no_order_amount": 0}
    while users := affected_users_after(after_id=position, limit=CHUNK):
        counts = proposals_create_for_affected_users(actor=actor, affected=users).unwrap()
        totals = {name: totals[name] + counts[name] for name in totals}
        position = users[-1].pk
        job.advance(len(users), rows=counts["created"])
        job.set_watermarks(start, position)
    job.set_watermarks(start, position)
    routed = proposals_route_waiting(actor=actor).unwrap()
    job.set_result(**totals, waiting_routed=routed)


@shared_task(name=PROPOSE_JOB)
def propose_task() -> bool:
    """Turn affected users into proposals. Safe to repeat: one run at a time (run_tracked), a
    watermark, and a unique (incident, user) with ON CONFLICT DO NOTHING."""
    return run_tracked(PROPOSE_JOB, propose)


@shared_task(name="compensation.issue")
def issue_task(proposal_id: int) -> bool:
    """Issue one approved proposal. Safe twice: the operation locks the row and issues only an
    approved proposal, so a second copy finds it issuing and does nothing."""
    proposal = CompensationProposal.objects.filter(pk=proposal_id).first()
    if proposal is None:
        return False
    result = proposal_issue(actor=Actor.for_system("compensation.issue"), proposal=proposal)
    if not result.ok and result.error.code != "wrong_state":
        log.warning("compensation.issue_failed", proposal=proposal_id, error=result.error.message)
    return result.ok


@shared_task(name="compensation.issue_approved")
def issue_approved_task() -> int:
    """Issue approved proposals whose kick was lost (Redis down at commit). Safe alongside the
    per-proposal task for the same reason."""
    ids = list(
        CompensationProposal.objects.filter(
            status__in=[Status.APPROVED, Status.AUTO_APPROVED]
        ).values_list("pk", flat=True)[:500]
    )
    return sum(issue_task(pk) for pk in ids)


def approve_each(job: RunningJob) -> None:
    created_by = JobRun.objects.select_related("created_by").get(pk=job.pk).created_by
    actor = Actor(user=created_by)
    approved, refused = 0, {}
    for pk in job.params["proposal_ids"]:
        proposal = CompensationProposal.objects.filter(pk=pk).first()
        if proposal is None:
            refused[f"CMP-{pk}"] = "No such proposal."
        else:
            result = proposal_approve(actor=actor, proposal=proposal)
            if result.ok:
                approved += 1
            else:
                refused[proposal.ref] = result.error.message
        job.advance()
        job.set_result(approved=approved, refused=len(refused), reasons=refused)


@shared_task(name="compensation.bulk_approve")
def bulk_approve_task(job_id: int) -> bool:
    """Approve the job's proposals one by one as the person who asked. Safe twice: run_job runs a
    job once, and approving an approved proposal is a refused conflict, not a second approval."""
    return run_job(job_id, approve_each, task_id=bulk_approve_task.request.id or "")
