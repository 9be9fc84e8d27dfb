import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.operations import ErrorEventIn, errors_ingest


@pytest.fixture
def make_event(tenant):
    """make_event(**overrides) → an ErrorEventIn for the tenant fixture, happening now."""

    def make(**overrides) -> ErrorEventIn:
        values = {
            "event_id": uuid.uuid4(),
            "tenant_id": tenant.pk,
            "component": "checkout",
            "error_class": "UpstreamTimeout",
            "message": "Upstream gateway timed out after 3000 ms",
            "occurred_at": timezone.now() - timedelta(seconds=5),
            "source": "prg",
        }
        return ErrorEventIn(**{**values, **overrides})

    return make


@pytest.fixture
def ingest(system):
    def run(events):
        return errors_ingest(actor=system, events=list(events)).unwrap()

    return run
