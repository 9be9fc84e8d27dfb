"""The founder actions API: take, list and reverse actions; who may; what a bad request is told."""

import json

import pytest
from django.test import Client

from founder.models import FounderAction
from incidents.models import Incident
from opsconsole.models import OperationRecord
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.founder.conftest import REASON, post_json

pytestmark = pytest.mark.django_db

URL = "/api/v1/founder/actions"


def freeze_body(tenant, **overrides) -> dict:
    return {
        "type": "freeze_tenant",
        "tenant": tenant.ref,
        "reason_code": "abuse",
        "reason": REASON,
        **overrides,
    }


@pytest.fixture
def founder_api(api_as):
    return api_as("founder", username="fiona")


def test_a_freeze_answers_201_with_the_action_and_the_tenant_now_frozen(founder_api, tenant):
    response = post_json(founder_api, URL, freeze_body(tenant, duration_minutes=60))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "freeze_tenant" and body["status"] == "active"
    assert body["tenant"] == tenant.ref and body["created_by"] == "fiona"
    assert body["expires_at"] is not None and body["override"] is None
    assert (
        body["enforcement"]["state"] == "frozen" and body["enforcement"]["action_id"] == body["id"]
    )


def test_a_throttle_answers_with_its_limit(founder_api, tenant):
    body = {**freeze_body(tenant), "type": "throttle_tenant", "throttle_rpm": 250}
    response = post_json(founder_api, URL, body)
    assert response.status_code == 201
    assert response.json()["throttle_rpm"] == 250
    assert response.json()["enforcement"]["throttle_rpm"] == 250


def test_an_override_names_the_incident_and_its_kind(founder_api, incident):
    body = {
        "type": "override_incident",
        "incident": incident.pk,
        "reason_code": "incident_response",
        "reason": REASON,
        "override": {"kind": "severity", "severity": "critical"},
    }
    response = post_json(founder_api, URL, body)
    assert response.status_code == 201, response.content
    assert response.json()["override"] == {"kind": "severity", "severity": "critical"}
    assert response.json()["enforcement"] is None
    assert Incident.objects.get(pk=incident.pk).severity == "critical"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "short"}, "reason"),
        ({"reason_code": "whim"}, "reason_code"),
        ({"reason_code": None}, "reason_code"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": "soon"}, "duration_minutes"),
        ({"tenant": None}, "tenant"),
        ({"tenant": "TEN-NOPE"}, "tenant"),
        ({"throttle_rpm": 10}, "throttle_rpm"),
        ({"incident": 1}, "incident"),
        ({"type": "nuke_tenant"}, "type"),
        ({"type": "throttle_tenant"}, "throttle_rpm"),
        ({"type": "throttle_tenant", "throttle_rpm": 0}, "throttle_rpm"),
        ({"type": "throttle_tenant", "throttle_rpm": 1_000_001}, "throttle_rpm"),
        (
            {
                "type": "override_incident",
                "tenant": None,
                "incident": 999999,
                "override": {"kind": "force_resolve"},
            },
            "incident",
        ),
    ],
)
def test_a_bad_request_is_400_naming_the_field(founder_api, tenant, changes, field):
    body = {
        name: value
        for name, value in {**freeze_body(tenant), **changes}.items()
        if value is not None
    }
    response = post_json(founder_api, URL, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not FounderAction.objects.exists()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (None, "override"),
        ({"kind": "obliterate"}, "override.kind"),
        ({"kind": "severity"}, "override.severity"),
        ({"kind": "force_resolve", "severity": "low"}, "override.severity"),
    ],
)
def test_a_bad_override_is_400_naming_the_field(founder_api, incident, override, field):
    body = {
        "type": "override_incident",
        "incident": incident.pk,
        "reason_code": "incident_response",
        "reason": REASON,
    }
    if override is not None:
        body["override"] = override
    response = post_json(founder_api, URL, body)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["care_agent", "care_lead", "sre", "auditor", "finance"])
def test_other_roles_get_403_whatever_they_send(api_as, tenant, role):
    client = api_as(role)
    assert post_json(client, URL, freeze_body(tenant)).status_code == 403
    assert post_json(client, URL, {"type": "nonsense"}).status_code == 403
    assert not FounderAction.objects.exists()


def test_services_may_not_take_founder_actions(service, tenant):
    client = service("enforcement:read", "events:write")
    assert post_json(client, URL, freeze_body(tenant)).status_code == 403


def test_reversing_answers_the_action_and_a_second_reversal_is_409(founder_api, tenant):
    action = post_json(founder_api, URL, freeze_body(tenant)).json()
    reverse_url = f"{URL}/{action['id']}/reverse"
    response = post_json(founder_api, reverse_url, {"reason": "Fixed on their side."})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reversed" and body["reversed_by"] == "fiona"
    assert (
        body["reversal_reason"] == "Fixed on their side."
        and body["enforcement"]["state"] == "active"
    )
    again = post_json(founder_api, reverse_url, {"reason": "Fixed on their side."})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_reversal_needs_a_reason_and_an_existing_action(founder_api, tenant):
    action = post_json(founder_api, URL, freeze_body(tenant)).json()
    short = post_json(founder_api, f"{URL}/{action['id']}/reverse", {"reason": "oops"})
    assert short.status_code == 400 and "reason" in short.json()["error"]["fields"]
    missing = post_json(founder_api, f"{URL}/{action['id']}/reverse", {})
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    assert post_json(founder_api, f"{URL}/999999/reverse", {"reason": REASON}).status_code == 404


def test_a_care_agent_may_read_the_log_but_not_reverse(api_as, founder_api, tenant):
    action = post_json(founder_api, URL, freeze_body(tenant)).json()
    care = api_as("care_agent")
    assert care.get(f"{URL}/{action['id']}").json()["id"] == action["id"]
    assert post_json(care, f"{URL}/{action['id']}/reverse", {"reason": REASON}).status_code == 403


def test_the_log_filters_by_type_status_tenant_and_reason(founder_api):
    frozen, throttled = TenantFactory(), TenantFactory()
    post_json(founder_api, URL, freeze_body(frozen))
    post_json(
        founder_api,
        URL,
        {
            **freeze_body(throttled),
            "type": "throttle_tenant",
            "throttle_rpm": 9,
            "reason_code": "fraud",
        },
    )

    def refs(**params):
        return [row["tenant"] for row in founder_api.get(URL, params).json()["results"]]

    assert refs() == [throttled.ref, frozen.ref]
    assert refs(type="freeze_tenant") == [frozen.ref]
    assert refs(reason_code="fraud") == [throttled.ref]
    assert refs(tenant=frozen.ref.lower()) == [frozen.ref]
    assert refs(status="reversed") == []


def test_a_bad_filter_is_400_naming_it(founder_api):
    response = founder_api.get(URL, {"status": "zombie"})
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_freezes_with_one_key_make_one_action_and_answer_alike(make_user):
    from opsconsole.roles import FOUNDER

    user = make_user(FOUNDER)
    tenant = TenantFactory()
    body = json.dumps(freeze_body(tenant))

    def send():
        client = Client()
        client.force_login(user)
        return client.post(
            URL, data=body, content_type="application/json", headers={"Idempotency-Key": "freeze-1"}
        )

    responses = run_concurrently(send, 20)
    assert {response.status_code for response in responses} == {201}
    assert all(response.json() == responses[0].json() for response in responses)
    assert FounderAction.objects.count() == 1
    assert OperationRecord.objects.filter(operation="founder.freeze_tenant").count() == 1
