"""The API's common ground, through the tenants endpoint: keys, scopes, errors, batches, retries."""

import json

import pytest
from django.test import Client

from opsconsole.models import ApiKey, IdempotencyKey, OperationRecord, Tenant
from opsconsole.operations import api_key_revoke
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

URL = "/api/v1/tenants"


def tenant_json(ref="TEN-501", **overrides):
    return {
        "ref": ref,
        "name": "Vienna Coffee GmbH",
        "segment": "smb",
        "plan": "growth",
        "market": "AT-VIE",
        "mrr": "1200.00",
        "created_at": "2025-03-01T09:00:00+01:00",
        **overrides,
    }


def post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def test_a_batch_keeps_the_good_items_and_names_what_is_wrong_with_the_rest(service):
    client = service("tenants:write")
    response = post(
        client,
        {
            "tenants": [
                tenant_json("TEN-1"),
                tenant_json("bad-ref"),
                tenant_json("TEN-2", mrr="-5", segment="giant"),
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [item["index"] for item in body["rejected"]] == [1, 2]
    assert "ref" in body["rejected"][0]["errors"]
    assert set(body["rejected"][1]["errors"]) == {"mrr", "segment"}
    assert Tenant.objects.filter(ref="TEN-1").exists()


def test_upsert_updates_by_ref(service):
    client = service("tenants:write")
    post(client, {"tenants": [tenant_json(name="Old name")]})
    post(client, {"tenants": [tenant_json(name="New name")]})
    assert Tenant.objects.get(ref="TEN-501").name == "New name"


def test_too_many_items_is_413_with_a_clear_message(service):
    response = post(
        service("tenants:write"), {"tenants": [tenant_json(f"TEN-{n}") for n in range(1001)]}
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": "At most 1000 tenants per request; this one has 1001.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", None),
        ('{"tenants": "TEN-1"}', "tenants"),
        ("[]", "tenants"),
        ('{"tenants": []}', "tenants"),
    ],
)
def test_malformed_bodies_get_a_400_that_says_why(service, body, field):
    response = service("tenants:write").post(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert field in error["fields"]
    else:
        assert error["code"] == "malformed_request"


def test_a_key_without_the_scope_is_refused_with_403(service):
    response = post(service("events:write"), {"tenants": [tenant_json()]})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key lacks the scope tenants:write."


def test_an_unknown_key_is_401(db):
    client = Client(headers={"Authorization": "Api-Key oc_nothing_here"})
    response = client.post(URL, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Api-Key")


def test_a_revoked_key_stops_working_at_once(service, system):
    client = service("tenants:write")
    assert post(client, {"tenants": [tenant_json()]}).status_code == 200
    api_key_revoke(actor=system, api_key=client.api_key).unwrap()
    assert post(client, {"tenants": [tenant_json()]}).status_code == 401


def test_keys_are_stored_only_as_a_hash(service):
    client = service("tenants:write")
    stored = ApiKey.objects.get(pk=client.api_key.pk)
    raw = client.api_key.raw_key
    assert raw not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert raw.startswith(f"oc_{stored.prefix}_")


def test_writes_by_services_are_recorded_as_the_key(service):
    client = service("tenants:write")
    post(client, {"tenants": [tenant_json()]})
    record = OperationRecord.objects.get(operation="console.upsert_tenants")
    assert record.actor_label == f"api-key:{client.api_key.name}" and record.role == "service"


def test_a_replay_returns_the_first_response_and_writes_nothing_new(service):
    client = service("tenants:write")
    first = post(client, {"tenants": [tenant_json()]}, **{"Idempotency-Key": "abc-1"})
    again = post(client, {"tenants": [tenant_json()]}, **{"Idempotency-Key": "abc-1"})
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert OperationRecord.objects.filter(operation="console.upsert_tenants").count() == 1


def test_the_same_key_with_another_body_is_422(service):
    client = service("tenants:write")
    post(client, {"tenants": [tenant_json()]}, **{"Idempotency-Key": "abc-2"})
    response = post(client, {"tenants": [tenant_json(name="Else")]}, **{"Idempotency-Key": "abc-2"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_caller(service):
    first, second = service("tenants:write"), service("tenants:write")
    post(first, {"tenants": [tenant_json()]}, **{"Idempotency-Key": "shared"})
    response = post(
        second, {"tenants": [tenant_json(name="Other")]}, **{"Idempotency-Key": "shared"}
    )
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert IdempotencyKey.objects.filter(key="shared").count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_do_the_work_once_and_answer_alike(service):
    client = service("tenants:write")
    body = json.dumps({"tenants": [tenant_json()]})
    auth = {"Authorization": f"Api-Key {client.api_key.raw_key}", "Idempotency-Key": "burst"}
    responses = run_concurrently(
        lambda: Client(headers=auth).post(URL, data=body, content_type="application/json"), 8
    )
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert OperationRecord.objects.filter(operation="console.upsert_tenants").count() == 1
