"""Incidents made the way production makes them: error events through incidents.ingest_errors."""

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from incidents.models import Incident
from incidents.operations import ErrorEventIn, errors_ingest
from opsconsole.registry import Actor
from tests.factories import TenantFactory


def error_event(tenant_id: int, **overrides) -> ErrorEventIn:
    values = {
        "event_id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "component": "checkout",
        "error_class": "UpstreamTimeout",
        "message": "Upstream gateway timed out after 3000 ms",
        "occurred_at": timezone.now() - timedelta(seconds=5),
        "source": "prg",
    }
    return ErrorEventIn(**{**values, **overrides})


def incident_with_events(
    count: int = 1, *, tenant=None, occurred_at: datetime | None = None, **overrides
) -> Incident:
    """The incident `count` events with these fields open (or join)."""
    tenant = tenant or TenantFactory()
    moment = occurred_at or timezone.now() - timedelta(seconds=5)
    events = [error_event(tenant.pk, occurred_at=moment, **overrides) for _ in range(count)]
    summary = errors_ingest(actor=Actor.for_system("tests"), events=events).unwrap()
    return Incident.objects.get(pk=summary.incident_ids[0])


def incidents_for(count: int, **overrides) -> list[Incident]:
    """`count` distinct incidents (distinct components), one event each, in one batch."""
    tenant = TenantFactory()
    events = [
        error_event(tenant.pk, component=f"service-{number}", **overrides)
        for number in range(count)
    ]
    summary = errors_ingest(actor=Actor.for_system("tests"), events=events).unwrap()
    return list(Incident.objects.filter(pk__in=summary.incident_ids))
