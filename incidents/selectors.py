"""Reads of incidents for other apps.

Compensation's part: the users an incident hurt, in the order they were attached (so a job can
keep a watermark), with the incident's facts a compensation policy is matched against.
"""

from incidents.models import AffectedUser, Incident


def affected_users_after(*, after_id: int, limit: int) -> list[AffectedUser]:
    """Affected users attached after `after_id`, oldest first, each with its incident."""
    return list(
        AffectedUser.objects.filter(id__gt=after_id)
        .select_related("incident")
        .order_by("id")[:limit]
    )


def affected_user_get(*, incident_id: int, user_ref: str) -> AffectedUser | None:
    return AffectedUser.objects.filter(incident_id=incident_id, user_ref=user_ref).first()


def incident_get(*, pk: int) -> Incident | None:
    return Incident.objects.filter(pk=pk).first()
