"""The demo history is what the console is shown with: every state, a cascade, patterns."""

from io import StringIO

import pytest
from django.core.management import call_command

from incidents.models import ErrorEvent, Incident, Pattern, Status

pytestmark = pytest.mark.django_db


def test_the_demo_holds_incidents_in_every_state_a_cascade_and_patterns():
    call_command("seed_demo", stdout=StringIO())
    states = set(Incident.objects.values_list("status", flat=True))
    assert states == set(Status.values)
    assert Incident.objects.count() >= 24 and ErrorEvent.objects.count() >= 2000
    assert Pattern.objects.filter(kind="cascade", key="component:postgres-main").exists()
    assert Incident.objects.filter(time_to_resolve__isnull=False).count() >= 10  # MTTR has data
