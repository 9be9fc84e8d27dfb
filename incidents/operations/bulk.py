"""Acknowledging or resolving many incidents at once, each through its own operation.

Up to INLINE_LIMIT incidents are worked in the request; more (up to BULK_LIMIT) become a JobRun
that a worker runs in the background with progress people can watch. Either way every incident
goes through incidents.acknowledge / incidents.resolve — the same checks, timeline entries,
records and outbox events as one click on its page — and one refused incident (resolved by
someone else meanwhile) is reported, never stops the others.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from incidents.models import Incident
from incidents.operations.lifecycle import MIN_NOTE, incident_acknowledge, incident_resolve
from opsconsole.jobs import RunningJob, enqueue, job_create
from opsconsole.models import JobRun, User
from opsconsole.registry import Actor, Invalid, Result, after_commit, operation

BULK_LIMIT = 500
INLINE_LIMIT = 50
CHUNK = 25


@dataclass
class BulkOutcome:
    action: str
    requested: int
    done: int = 0
    refused: dict[int, str] = field(default_factory=dict)
    job: JobRun | None = None

    @property
    def summary(self) -> str:
        verb = {"acknowledge": "Acknowledged", "resolve": "Resolved"}[self.action]
        if self.job is not None:
            return f"{self.requested} incidents are being worked as job {self.job.pk}."
        text = f"{verb} {self.done} of {self.requested}."
        if self.refused:
            text += f" {len(self.refused)} not changed: " + "; ".join(
                f"#{pk}: {reason}" for pk, reason in list(self.refused.items())[:5]
            )
            text += "…" if len(self.refused) > 5 else ""
        return text


@operation("incidents.bulk_acknowledge", permission="incidents.acknowledge_incident")
def incidents_bulk_acknowledge(*, actor: Actor, incident_ids: list[int]) -> BulkOutcome:
    """Acknowledge up to 500 incidents; more than 50 run as a background job."""
    return _bulk(actor, "acknowledge", incident_ids, note="")


@operation("incidents.bulk_resolve", permission="incidents.resolve_incident")
def incidents_bulk_resolve(*, actor: Actor, incident_ids: list[int], note: str) -> BulkOutcome:
    """Resolve up to 500 incidents with one note; more than 50 run as a background job."""
    if len(note.strip()) < MIN_NOTE:
        raise Invalid("Say what resolved them.", fields={"note": ["Write a resolution note."]})
    return _bulk(actor, "resolve", incident_ids, note=note.strip())


def _bulk(actor: Actor, action: str, incident_ids: list[int], *, note: str) -> BulkOutcome:
    ids = list(dict.fromkeys(int(pk) for pk in incident_ids))
    if not ids:
        raise Invalid("Select at least one incident.", fields={"ids": ["Select incidents."]})
    if len(ids) > BULK_LIMIT:
        raise Invalid(
            f"At most {BULK_LIMIT} incidents per action; {len(ids)} were selected.",
            fields={"ids": [f"At most {BULK_LIMIT}."]},
        )
    outcome = BulkOutcome(action=action, requested=len(ids))
    if len(ids) <= INLINE_LIMIT:
        for pk in ids:
            _tally(outcome, pk, apply_one(actor, action, pk, note))
        return outcome
    outcome.job = job_create(
        name=f"incidents.bulk_{action}",
        task="incidents.bulk_act",
        total=len(ids),
        params={"action": action, "ids": ids, "note": note},
        created_by=actor.user,
    )
    from incidents.tasks import bulk_act_task  # the task module imports this one

    job_id = outcome.job.pk
    after_commit(lambda: enqueue(bulk_act_task, job_id))
    return outcome


ACTIONS: dict[str, Callable[..., Result]] = {
    "acknowledge": lambda actor, incident, note: incident_acknowledge(
        actor=actor, incident=incident
    ),
    "resolve": lambda actor, incident, note: incident_resolve(
        actor=actor, incident=incident, note=note
    ),
}


def apply_one(actor: Actor, action: str, pk: int, note: str) -> Result:
    incident = Incident.objects.filter(pk=pk).first()
    if incident is None:
        return Result(error=Invalid(f"#{pk} does not exist."))
    return ACTIONS[action](actor, incident, note)


def _tally(outcome: BulkOutcome, pk: int, result: Result) -> None:
    if result.ok:
        outcome.done += 1
    else:
        outcome.refused[pk] = result.error.message


def run_bulk_job(job: RunningJob) -> None:
    """The job's work: each incident through its operation as the person who started the job,
    a chunk at a time, progress written after each chunk."""
    params = job.params
    user = User.objects.filter(pk=job.job.created_by_id, is_active=True).first()
    if user is None:  # never fall back to the system's authority
        raise PermissionError("the person who started this job can no longer act")
    actor = Actor(user=user)
    outcome = BulkOutcome(action=params["action"], requested=len(params["ids"]))
    ids = params["ids"]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for pk in chunk:
            _tally(outcome, pk, apply_one(actor, params["action"], pk, params.get("note", "")))
        job.advance(len(chunk), rows=len(chunk))
    job.set_result(
        done=outcome.done,
        refused=len(outcome.refused),
        reasons={str(pk): reason for pk, reason in outcome.refused.items()},
    )
