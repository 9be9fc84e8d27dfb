"""The enforcement endpoints: what the platform is told, that a change shows the moment it
commits and never before, that expiry holds even from cache, and that answers stay right with
Redis down — or back with entries from before a change it missed."""

import json
import os
import signal
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from founder import enforcement
from founder.operations import founder_action_reverse, founder_actions_expire
from opsconsole.models import Tenant
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.founder.conftest import ask
from tests.servers import RedisServer

CHANGES = "/api/v1/enforcement/changes"


def in_redis(tenant: Tenant) -> dict | None:
    raw = get_redis_connection("default").get(enforcement.cache_key(tenant.ref))
    return json.loads(raw) if raw is not None else None


def put_in_redis(snapshot: dict) -> None:
    """Write an entry as a Redis that missed later changes would still hold it."""
    key = enforcement.cache_key(snapshot["tenant"])
    get_redis_connection("default").set(key, json.dumps(snapshot))


@pytest.fixture(autouse=True)
def _fresh_memo():
    """Each test starts with this process's memo empty, as a fresh web process would."""
    enforcement._memo.clear()


def ask_elsewhere(client, tenant) -> dict:
    """Ask from another thread: its own database connection, outside this one's transaction."""
    return run_concurrently(lambda: ask(client, tenant), 1)[0]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, as the console's cache: it may stop, pause and inspect it
    (the shared one is flushed by other test processes at any moment)."""
    server = RedisServer(tmp_path / "redis").start()
    cache = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": server.url,
        "KEY_PREFIX": "founder-redis-down",
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
        },
    }
    with override_settings(CACHES={"default": cache}):
        yield server
    server.stop()
    enforcement.forget_redis_failures()


def back_up(server: RedisServer) -> None:
    server.start()
    enforcement.forget_redis_failures()


# --- Answers --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_answer_names_state_limit_until_reason_action_and_version(
    enforcement_client, freeze, throttle
):
    quiet, throttled, frozen = TenantFactory(), TenantFactory(), TenantFactory()
    limit = throttle(throttled, 240, duration_minutes=60)
    freeze_action = freeze(frozen, reason_code="fraud")
    assert ask(enforcement_client, quiet) == {
        "tenant": quiet.ref,
        "state": "active",
        "throttle_rpm": None,
        "until": None,
        "reason_code": None,
        "action_id": None,
        "version": 0,
    }
    answer = ask(enforcement_client, throttled)
    assert (answer["state"], answer["throttle_rpm"], answer["action_id"]) == (
        "throttled",
        240,
        limit.pk,
    )
    assert answer["until"] == limit.expires_at.isoformat().replace("+00:00", "Z")
    answer = ask(enforcement_client, frozen)
    assert (answer["state"], answer["reason_code"], answer["action_id"]) == (
        "frozen",
        "fraud",
        freeze_action.pk,
    )
    assert answer["version"] > 0


@pytest.mark.django_db
def test_unknown_tenants_are_404_and_services_need_the_scope(enforcement_client, service, client):
    response = enforcement_client.get("/api/v1/enforcement/tenants/TEN-404")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    tenant = TenantFactory()
    url = f"/api/v1/enforcement/tenants/{tenant.ref}"
    assert service("events:write").get(url).status_code == 403
    assert client.get(url).status_code == 401
    assert enforcement_client.get(url)["Cache-Control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_from_a_warm_cache_the_answer_costs_one_query(enforcement_client, throttle):
    tenant = TenantFactory()
    throttle(tenant, 50)
    ask(enforcement_client, tenant)
    with CaptureQueriesContext(connection) as queries:
        assert ask(enforcement_client, tenant)["state"] == "throttled"
    assert len(queries) == 1, [query["sql"] for query in queries]
    assert "opsconsole_apikey" in queries[0]["sql"]


@pytest.mark.django_db(transaction=True)
def test_another_process_finds_the_answer_in_redis(own_redis, enforcement_client, throttle):
    """The memo is per process; what one process read or refreshed, the others take from Redis
    instead of reading the actions again."""
    tenant = TenantFactory()
    throttle(tenant, 50)
    assert in_redis(tenant)["actions"][0]["throttle_rpm"] == 50  # refreshed at the commit
    enforcement._memo.clear()  # as in another process
    with CaptureQueriesContext(connection) as queries:
        assert ask(enforcement_client, tenant)["throttle_rpm"] == 50
    assert not any("founder_founderaction" in query["sql"] for query in queries)


# --- Visible at the commit, never before ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_change_shows_the_moment_it_commits_and_not_before(
    own_redis, enforcement_client, founder, freeze
):
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"  # now cached
    with transaction.atomic():
        action = freeze(tenant)
        assert ask_elsewhere(enforcement_client, tenant)["state"] == "active"
    answer = ask(enforcement_client, tenant)
    assert answer["state"] == "frozen"
    assert in_redis(tenant)["version"] == answer["version"]
    founder_action_reverse(actor=founder, action=action, reason="Fixed on their side.").unwrap()
    assert ask(enforcement_client, tenant)["state"] == "active"


@pytest.mark.django_db(transaction=True)
def test_an_entry_from_before_a_change_is_never_served(own_redis, enforcement_client, freeze):
    """The race: a reader read PostgreSQL before a change committed and writes what it read to
    the cache after the change's own refresh. The entry's stamp is not the committed one, so it
    is not used (and the next reader puts the right one back)."""
    tenant = TenantFactory()
    before = enforcement.load_snapshot(tenant.ref)
    freeze(tenant)
    put_in_redis(before)
    enforcement._memo[tenant.ref] = before
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    assert in_redis(tenant)["version"] > before["version"]


@pytest.mark.django_db(transaction=True)
def test_an_entry_from_another_copy_of_the_database_is_never_served(
    own_redis, enforcement_client, freeze
):
    """Same tenant, same version, different history (a restored copy, a test database): the
    change's time in the stamp tells them apart."""
    tenant = TenantFactory()
    freeze(tenant)
    ours = enforcement.load_snapshot(tenant.ref)
    theirs = {**ours, "stamp": f"{ours['version']}@2020-01-01T00:00:00+00:00", "actions": []}
    put_in_redis(theirs)
    enforcement._memo.clear()
    assert ask(enforcement_client, tenant)["state"] == "frozen"


# --- Expiry from cache ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_expiry_is_honoured_from_cache_before_any_job_runs(enforcement_client, throttle):
    tenant = TenantFactory()
    action = throttle(tenant, 120, duration_minutes=10)
    assert ask(enforcement_client, tenant)["state"] == "throttled"
    with (
        time_machine.travel(action.expires_at + timedelta(seconds=1), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        answer = ask(enforcement_client, tenant)
    assert answer["state"] == "active"
    assert not any("founder_founderaction" in query["sql"] for query in queries)


# --- The change feed ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_feed_lists_each_changed_tenant_once_in_version_order(
    enforcement_client, founder, freeze, throttle
):
    first, second = TenantFactory(), TenantFactory()
    throttle(first, 500)
    frozen = freeze(second)
    body = enforcement_client.get(CHANGES, {"since": 0}).json()
    assert [change["tenant"] for change in body["changes"]] == [first.ref, second.ref]
    assert [change["state"] for change in body["changes"]] == ["throttled", "frozen"]
    assert body["version"] == body["changes"][-1]["version"] and not body["has_more"]

    founder_action_reverse(actor=founder, action=frozen, reason="Reversed for the test.").unwrap()
    later = enforcement_client.get(CHANGES, {"since": body["version"]}).json()
    assert [(change["tenant"], change["state"]) for change in later["changes"]] == [
        (second.ref, "active")
    ]
    quiet = enforcement_client.get(CHANGES, {"since": later["version"]}).json()
    assert quiet == {"version": later["version"], "changes": [], "has_more": False}


@pytest.mark.django_db
def test_the_feed_pages_with_limit_and_has_more(enforcement_client, throttle):
    tenants = [TenantFactory() for _ in range(3)]
    for tenant in tenants:
        throttle(tenant, 100)
    page = enforcement_client.get(CHANGES, {"since": 0, "limit": 2}).json()
    assert len(page["changes"]) == 2 and page["has_more"]
    rest = enforcement_client.get(CHANGES, {"since": page["version"], "limit": 2}).json()
    assert [change["tenant"] for change in rest["changes"]] == [tenants[2].ref]
    assert not rest["has_more"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "x"}, "since"), ({"since": -1}, "since"), ({"limit": 0}, "limit")],
)
def test_the_feed_names_a_bad_parameter(enforcement_client, params, field):
    response = enforcement_client.get(CHANGES, params)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_expiry_job_publishes_the_change_to_the_feed(enforcement_client, throttle, system):
    tenant = TenantFactory()
    action = throttle(tenant, 100, duration_minutes=5)
    since = enforcement_client.get(CHANGES).json()["version"]
    with time_machine.travel(action.expires_at + timedelta(minutes=1), tick=False):
        founder_actions_expire(actor=system).unwrap()
        body = enforcement_client.get(CHANGES, {"since": since}).json()
    assert [(change["tenant"], change["state"]) for change in body["changes"]] == [
        (tenant.ref, "active")
    ]


@pytest.mark.django_db(transaction=True)
def test_versions_follow_the_commit_order_of_simultaneous_changes(founder, enforcement_client):
    from founder.operations import tenant_throttle

    tenants = [TenantFactory() for _ in range(8)]
    queue = iter(tenants)
    results = run_concurrently(
        lambda: tenant_throttle(
            actor=founder,
            tenant=next(queue),
            reason_code="abuse",
            reason="Simultaneous throttles for the test.",
            throttle_rpm=10,
        ),
        8,
    )
    assert all(result.ok for result in results)
    body = enforcement_client.get(CHANGES).json()
    versions = [change["version"] for change in body["changes"]]
    assert sorted({change["tenant"] for change in body["changes"]}) == sorted(
        t.ref for t in tenants
    )
    assert versions == sorted(set(versions)) == list(range(versions[0], versions[0] + 8))


# --- Redis down -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_answers_come_from_postgresql_and_stay_right(
    own_redis, enforcement_client, founder, freeze
):
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"
    own_redis.stop()
    action = freeze(tenant)
    enforcement._memo.clear()  # another process: neither memo nor Redis to help
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    founder_action_reverse(actor=founder, action=action, reason="Reversed while Redis is down.")
    assert ask(enforcement_client, tenant)["state"] == "active"
    back_up(own_redis)
    assert ask(enforcement_client, tenant)["state"] == "active"
    freeze(tenant)
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    assert in_redis(tenant)["actions"]


@pytest.mark.django_db(transaction=True)
def test_a_redis_that_missed_a_change_never_serves_its_older_entry(
    own_redis, enforcement_client, freeze
):
    """Redis stalls (it keeps its data) while a freeze commits, so the refresh times out; it
    answers again still holding the entry from before the freeze."""
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"
    stale = in_redis(tenant)
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        freeze(tenant)
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    enforcement.forget_redis_failures()
    put_in_redis(stale)  # whatever the timed-out write did, this is what a lost one leaves
    enforcement._memo.clear()
    assert ask(enforcement_client, tenant)["state"] == "frozen"


@pytest.mark.django_db(transaction=True)
def test_a_redis_restarted_from_an_old_snapshot_never_serves_it(
    own_redis, enforcement_client, freeze
):
    tenant = TenantFactory()
    ask(enforcement_client, tenant)
    stale = in_redis(tenant)
    freeze(tenant)
    own_redis.stop()
    back_up(own_redis)
    put_in_redis(stale)  # restored from a snapshot taken before the freeze
    enforcement._memo.clear()
    assert ask(enforcement_client, tenant)["state"] == "frozen"


@pytest.mark.django_db(transaction=True)
def test_the_freeze_itself_works_with_redis_down(own_redis, enforcement_client, freeze):
    own_redis.stop()
    tenant = TenantFactory()
    action = freeze(tenant, duration_minutes=30)
    assert ask(enforcement_client, tenant)["until"] is not None
    assert timezone.now() < action.expires_at
