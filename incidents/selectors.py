"""Reads of incidents for other apps' pages and operations."""

from django.db.models import QuerySet

from incidents.models import Incident
from opsconsole.models import Tenant


def incident_get(*, pk: int) -> Incident | None:
    return Incident.objects.filter(pk=pk).first()


def tenant_incident_list(*, tenant: Tenant) -> QuerySet[Incident]:
    """The incidents that touched the tenant, most recently seen first."""
    return Incident.objects.filter(tenant_links__tenant=tenant).order_by("-last_seen_at", "-id")
