import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from founder.operations import tenant_freeze, tenant_throttle
from incidents.models import Incident
from incidents.operations import ErrorEventIn, errors_ingest
from opsconsole.registry import Actor

REASON = "Runaway retries flood the booking API."


@pytest.fixture
def founder(make_user):
    return Actor(user=make_user("founder", username="fiona", first_name="Fiona"))


@pytest.fixture
def freeze(founder):
    """freeze(tenant, **overrides) → the freeze action (the operation must succeed)."""

    def run(tenant, **overrides):
        arguments = {"reason_code": "abuse", "reason": REASON, **overrides}
        return tenant_freeze(actor=founder, tenant=tenant, **arguments).unwrap()

    return run


@pytest.fixture
def throttle(founder):
    """throttle(tenant, rpm, **overrides) → the throttle action."""

    def run(tenant, rpm, **overrides):
        arguments = {"reason_code": "runaway_traffic", "reason": REASON, **overrides}
        return tenant_throttle(actor=founder, tenant=tenant, throttle_rpm=rpm, **arguments).unwrap()

    return run


@pytest.fixture
def incident(tenant, system):
    """An open incident that touched the tenant, made by ingesting its errors."""
    event = ErrorEventIn(
        event_id=uuid.uuid4(),
        tenant_id=tenant.pk,
        component="availability",
        error_class="UpstreamTimeout",
        message="Supplier API timed out after 3000 ms",
        occurred_at=timezone.now() - timedelta(seconds=5),
        source="prg",
    )
    summary = errors_ingest(actor=system, events=[event]).unwrap()
    return Incident.objects.get(pk=summary.incident_ids[0])


@pytest.fixture
def enforcement_client(service):
    """A platform service's API client with the enforcement:read scope."""
    return service("enforcement:read")


def ask(client, tenant) -> dict:
    """The enforcement endpoint's answer for the tenant (asserting a 200)."""
    response = client.get(f"/api/v1/enforcement/tenants/{tenant.ref}")
    assert response.status_code == 200, response.content
    return response.json()


def post_json(client, url: str, body: dict, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)
