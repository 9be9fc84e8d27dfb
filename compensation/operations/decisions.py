"""People's decisions on proposals: approve (within limits, four eyes, budget), reject, cancel,
and bulk approval as a job.

Each decision locks the proposal row and re-reads it, so of two people approving at once exactly
one succeeds and the other gets a conflict.
"""

from django.utils import timezone

from compensation import rules
from compensation.evaluation import (
    check_fraud,
    check_frequency,
    limits,
    month_of,
    release,
    reserve,
    set_check,
)
from compensation.models import CANCELLABLE, CompensationProposal, Status
from compensation.operations.proposals import kick_issue
from opsconsole.jobs import enqueue, job_create
from opsconsole.models import JobRun
from opsconsole.registry import Actor, Conflict, Denied, Invalid, after_commit, operation

MIN_REASON = 5
MAX_BULK = 500


def locked(proposal: CompensationProposal) -> CompensationProposal:
    """The proposal re-read under a row lock, so a decision is made on its current state."""
    return (
        CompensationProposal.objects.select_for_update(of=("self",))
        .select_related("policy")
        .get(pk=proposal.pk)
    )


def _not_now(proposal: CompensationProposal, action: str, allowed: str) -> Conflict:
    return Conflict(
        f"{proposal.ref} is {proposal.get_status_display().lower()}; "
        f"only {allowed} proposals can be {action}.",
        code="wrong_state",
    )


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Invalid(f"Say why {what}.", fields={"reason": [f"At least {MIN_REASON} characters."]})
    return reason


def _record_decision(proposal: CompensationProposal, actor: Actor, reason: str) -> None:
    proposal.decided_by_label, proposal.decided_at = actor.label, timezone.now()
    proposal.decision_reason = reason
    proposal.save()


@operation(
    "compensation.approve",
    permission="compensation.approve_compensationproposal",
    target="proposal",
)
def proposal_approve(
    *, actor: Actor, proposal: CompensationProposal, note: str = ""
) -> CompensationProposal:
    """Approve a pending proposal within your limit; reserves its amount in the budget."""
    proposal = locked(proposal)
    if proposal.status != Status.PENDING_APPROVAL:
        raise _not_now(proposal, "approved", "pending")
    if actor.user is not None and proposal.proposed_by_id == actor.user.pk:
        raise Denied(
            f"You proposed {proposal.ref}: four eyes — another person approves it.",
            code="four_eyes",
        )
    # The user's history and flags may have changed since the proposal was made.
    check_frequency(proposal)
    check_fraud(proposal)
    verdict = rules.approval_verdict(
        approver_roles=actor.roles,
        amount_eur=proposal.amount_eur,
        limits=limits(),
        flagged=bool(proposal.flags),
    )
    if not verdict.allowed:
        raise Denied(verdict.reason, code="over_limit")
    refusal = reserve(proposal, month_of(timezone.now()))
    if refusal:
        raise Conflict(refusal, code="over_budget")
    proposal.approve()
    proposal.approved_by = actor.user
    set_check(proposal, "limit", "pass", f"Approved by {actor.label}: {verdict.reason}")
    set_check(
        proposal,
        "four_eyes",
        "pass",
        f"Proposed by {proposal.proposed_by_label}, approved by {actor.label}.",
    )
    _record_decision(proposal, actor, note.strip())
    pk = proposal.pk
    after_commit(lambda: kick_issue(pk))
    return proposal


@operation(
    "compensation.reject",
    permission="compensation.approve_compensationproposal",
    target="proposal",
)
def proposal_reject(
    *, actor: Actor, proposal: CompensationProposal, reason: str
) -> CompensationProposal:
    """Turn a pending proposal down, saying why."""
    reason = _reason(reason, "it is rejected")
    proposal = locked(proposal)
    if proposal.status != Status.PENDING_APPROVAL:
        raise _not_now(proposal, "rejected", "pending")
    proposal.reject()
    _record_decision(proposal, actor, reason)
    return proposal


@operation(
    "compensation.cancel",
    permission="compensation.cancel_compensationproposal",
    target="proposal",
)
def proposal_cancel(
    *, actor: Actor, proposal: CompensationProposal, reason: str
) -> CompensationProposal:
    """Withdraw a proposal that has not gone out; its reserved budget is released."""
    reason = _reason(reason, "it is cancelled")
    proposal = locked(proposal)
    if proposal.status not in CANCELLABLE:
        raise _not_now(proposal, "cancelled", "open (not issuing or finished)")
    release(proposal)
    proposal.cancel()
    _record_decision(proposal, actor, reason)
    return proposal


@operation("compensation.bulk_approve", permission="compensation.approve_compensationproposal")
def proposals_bulk_approve(*, actor: Actor, proposal_ids: list[int]) -> JobRun:
    """Approve many proposals in the background, each one checked as if approved alone; the job
    shows progress and which were refused and why."""
    ids = list(dict.fromkeys(int(pk) for pk in proposal_ids))
    if not ids:
        raise Invalid("Tick the proposals to approve.", fields={"proposals": ["None chosen."]})
    if len(ids) > MAX_BULK:
        raise Invalid(
            f"At most {MAX_BULK} at once; {len(ids)} were chosen.",
            fields={"proposals": [f"At most {MAX_BULK}."]},
        )
    if actor.user is None:
        raise Invalid("Bulk approval is for people.")
    job = job_create(
        name="compensation.bulk_approve",
        task="compensation.bulk_approve",
        total=len(ids),
        params={"proposal_ids": ids},
        created_by=actor.user,
    )

    def send() -> None:
        from compensation.tasks import bulk_approve_task

        enqueue(bulk_approve_task, job.pk)

    after_commit(send)
    return job
