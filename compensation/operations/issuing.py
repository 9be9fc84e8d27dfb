"""Issuing through the outbox, and the results the rails send back.

An approved proposal becomes one Issuance per rail — `compensation.issue` to Trutta for tokens,
`refund.requested` to Billing for money — each carried by an outbox event in the same
transaction. The relay delivers at least once; the event id is the consumer's dedupe key, and a
partial unique index allows one live issuance per proposal and rail, so nothing is issued twice.
Results come back through `issue_result_record`, which accepts the same result any number of times.
"""

from decimal import Decimal

from django.utils import timezone

from compensation import rules
from compensation.models import (
    Channel,
    CompensationProposal,
    Issuance,
    IssueStatus,
    Status,
)
from compensation.operations.decisions import locked
from opsconsole.outbox import emit
from opsconsole.registry import Actor, Conflict, Invalid, operation

ISSUABLE = [Status.AUTO_APPROVED, Status.APPROVED]


def incident_ref(proposal: CompensationProposal) -> str:
    return f"OPS-INC-{proposal.incident_id}"


def token_body(proposal: CompensationProposal, issuance: Issuance) -> dict:
    """Trutta's `compensation.issue` request (seed PD-010 §4.3), with our references beside it."""
    policy = proposal.policy
    return {
        "incident_id": incident_ref(proposal),
        "user_id": proposal.user_ref,
        "compensation_profile_id": policy.compensation_profile_id if policy else "",
        "value": {"amount": float(issuance.amount), "currency": issuance.currency},
        "meta": {
            "reason": proposal.reason_code,
            "notes": proposal.note or (policy.name if policy else "Goodwill compensation"),
        },
        "compensation_id": proposal.ref,
        "issue_ref": f"{proposal.ref}-token-{issuance.attempt}",
        "product_version_id": proposal.product_version,
        "vendor_id": proposal.vendor,
    }


def refund_body(proposal: CompensationProposal, issuance: Issuance) -> dict:
    """Billing's `refund.requested` (seed PD-010 §4.4): with the incident and the policy it
    follows."""
    policy = proposal.policy
    return {
        "refund_id": f"{proposal.ref}-refund-{issuance.attempt}",
        "compensation_id": proposal.ref,
        "incident_id": incident_ref(proposal),
        "user_id": proposal.user_ref,
        "tenant_id": proposal.tenant.ref if proposal.tenant_id else "",
        "amount": {"amount": float(issuance.amount), "currency": issuance.currency},
        "order": {
            "amount": float(proposal.order_amount) if proposal.order_amount is not None else None,
            "currency": proposal.order_currency,
        },
        "compensation_policy": (
            {"id": policy.key, "version": policy.version, "name": policy.name} if policy else None
        ),
        "reason": proposal.reason_code,
    }


EVENTS = {
    Channel.TRUTTA_TOKEN: ("compensation.issue", token_body),
    Channel.REFUND: ("refund.requested", refund_body),
}


def _eur_share(proposal: CompensationProposal, amount: Decimal, is_last: bool, so_far: Decimal):
    if is_last:
        return proposal.amount_eur - so_far
    if not proposal.amount:
        return Decimal(0)
    return rules.cents(proposal.amount_eur * amount / proposal.amount)


def _send(proposal: CompensationProposal, channels: list[tuple[str, Decimal]]) -> list[Issuance]:
    """One issuance and one outbox event per rail."""
    sent, eur_so_far = [], Decimal(0)
    for index, (channel, amount) in enumerate(channels):
        amount_eur = _eur_share(proposal, amount, index == len(channels) - 1, eur_so_far)
        eur_so_far += amount_eur
        attempt = 1 + Issuance.objects.filter(proposal=proposal, channel=channel).count()
        issuance = Issuance(
            proposal=proposal,
            channel=channel,
            attempt=attempt,
            amount=amount,
            currency=proposal.currency,
            amount_eur=amount_eur,
        )
        event_type, body = EVENTS[channel]
        issuance.event = emit(
            event_type, aggregate=f"compensation:{proposal.ref}", payload=body(proposal, issuance)
        )
        issuance.save()
        sent.append(issuance)
    return sent


@operation("compensation.issue", target="proposal")
def proposal_issue(*, actor: Actor, proposal: CompensationProposal) -> CompensationProposal:
    """Send an approved proposal to its rails (run by the issue task, for the system)."""
    proposal = locked(proposal)
    if proposal.status not in ISSUABLE:
        raise Conflict(
            f"{proposal.ref} is {proposal.get_status_display().lower()}; only approved proposals "
            "are issued.",
            code="wrong_state",
        )
    proposal.start_issuing()
    proposal.save()
    _send(
        proposal, rules.parts(proposal.proposed_channel, proposal.amount, proposal.refund_percent)
    )
    return proposal


def latest_issuances(proposal: CompensationProposal) -> dict[str, Issuance]:
    """Each rail's latest attempt."""
    latest: dict[str, Issuance] = {}
    for issuance in proposal.issuances.order_by("attempt"):
        latest[issuance.channel] = issuance
    return latest


@operation(
    "compensation.retry_issue",
    permission="compensation.cancel_compensationproposal",
    target="proposal",
)
def proposal_issue_retry(*, actor: Actor, proposal: CompensationProposal) -> CompensationProposal:
    """Send the failed parts of a proposal again, as new requests (what was issued stays)."""
    proposal = locked(proposal)
    if proposal.status != Status.FAILED:
        raise Conflict(
            f"{proposal.ref} is {proposal.get_status_display().lower()}; only failed issues can "
            "be retried.",
            code="wrong_state",
        )
    failed = [
        (channel, issuance.amount)
        for channel, issuance in latest_issuances(proposal).items()
        if issuance.status == IssueStatus.FAILED
    ]
    proposal.start_issuing()
    proposal.save()
    _send(proposal, failed)
    return proposal


def _which(proposal: CompensationProposal, channel: str, event_id: str) -> Issuance:
    latest = latest_issuances(proposal)
    if event_id:
        found = proposal.issuances.filter(event_id=event_id).first()
        if found is None:
            raise Invalid(
                f"No issue of {proposal.ref} was sent as event {event_id}.",
                fields={"event_id": ["Not an event of this compensation."]},
            )
        return found
    if channel:
        if channel not in latest:
            raise Invalid(
                f"{proposal.ref} was not sent to {channel}.",
                fields={"channel": [f"One of {', '.join(latest) or 'none yet'}."]},
            )
        return latest[channel]
    if len(latest) != 1:
        raise Invalid(
            f"{proposal.ref} went out as a token and a refund; say which (channel or event_id).",
            fields={"channel": ["Required for a mixed compensation."]},
        )
    return next(iter(latest.values()))


@operation(
    "compensation.record_result",
    permission="compensation.record_issue_result",
    scope="compensation:write",
    target="proposal",
)
def issue_result_record(
    *,
    actor: Actor,
    proposal: CompensationProposal,
    status: str,
    external_reference: str = "",
    channel: str = "",
    event_id: str = "",
    message: str = "",
) -> CompensationProposal:
    """What Trutta or Billing did with an issue: `issued` or `failed`. Sending the same result
    again changes nothing; a different result for a finished issue is a conflict."""
    if status not in (IssueStatus.ISSUED, IssueStatus.FAILED):
        raise Invalid("Say issued or failed.", fields={"status": ["issued or failed."]})
    proposal = locked(proposal)
    if not proposal.issuances.exists():
        raise Conflict(f"{proposal.ref} has not been sent for issuing.", code="wrong_state")
    issuance = _which(proposal, channel, str(event_id or ""))
    if issuance.status == status:
        return proposal  # a replay of a result already recorded
    if issuance.status != IssueStatus.ISSUING:
        raise Conflict(
            f"The {issuance.get_channel_display().lower()} of {proposal.ref} (attempt "
            f"{issuance.attempt}) was recorded as {issuance.status} already.",
            code="result_recorded",
        )
    issuance.status = status
    issuance.external_reference = external_reference.strip()[:120]
    issuance.message = message.strip()[:500]
    issuance.finished_at = timezone.now()
    issuance.save()
    _settle(proposal)
    return proposal


def _settle(proposal: CompensationProposal) -> None:
    """The proposal follows its rails: issued when every rail issued, failed when one failed and
    none is still on its way."""
    states = {issuance.status for issuance in latest_issuances(proposal).values()}
    if proposal.status != Status.ISSUING or IssueStatus.ISSUING in states:
        return
    if states == {IssueStatus.ISSUED}:
        proposal.mark_issued()
        proposal.issued_at = timezone.now()
    else:
        proposal.mark_failed()
    proposal.save()
