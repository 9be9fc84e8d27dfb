"""The enforcement endpoints: what the platform is told, that a change shows the moment it
commits and never before, that expiry holds even from cache, and that answers stay right with
Redis down — or back with entries from before a change it missed."""

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
from founder.models import EnforcementClock
from founder.operations import founder_action_reverse, founder_actions_expire
from opsconsole.models import Tenant
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.founder.conftest import ask
from tests.servers import RedisServer

CHANGES = "/api/v1/enforcement/changes"


def cached_raw(tenant: Tenant) -> bytes | None:
    key = enforcement.cache_key(enforcement.current_epoch(), tenant.ref)
    return get_redis_connection("default").get(key)


def ask_elsewhere(client, tenant) -> dict:
    """Ask from another thread: its own database connection, outside this one's transaction."""
    return run_concurrently(lambda: ask(client, tenant), 1)[0]


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
def test_from_a_warm_cache_the_answer_costs_one_query(enforcement_client):
    tenant = TenantFactory()
    ask(enforcement_client, tenant)
    with CaptureQueriesContext(connection) as queries:
        assert ask(enforcement_client, tenant)["state"] == "active"
    assert len(queries) == 1, [query["sql"] for query in queries]
    assert "opsconsole_apikey" in queries[0]["sql"]


# --- Visible at the commit, never before ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_change_shows_the_moment_it_commits_and_not_before(enforcement_client, founder, freeze):
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"  # now cached
    with transaction.atomic():
        action = freeze(tenant)
        assert ask_elsewhere(enforcement_client, tenant)["state"] == "active"
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    assert cached_raw(tenant).startswith(b"%d|E|" % ask(enforcement_client, tenant)["version"])
    founder_action_reverse(actor=founder, action=action, reason="Fixed on their side.").unwrap()
    assert ask(enforcement_client, tenant)["state"] == "active"


@pytest.mark.django_db(transaction=True)
def test_a_reader_holding_what_it_read_before_the_commit_cannot_put_it_back(
    enforcement_client, freeze
):
    """The race: a reader misses the cache, reads PostgreSQL, and stores what it read only after
    a change committed and refreshed the cache. Its older version is refused."""
    tenant = TenantFactory()
    before = enforcement.load_snapshot(tenant.ref)
    freeze(tenant)
    key = enforcement.cache_key(enforcement.current_epoch(), tenant.ref)
    assert enforcement.cache_snapshot(key, before)  # Redis answered ...
    assert ask(enforcement_client, tenant)["state"] == "frozen"  # ... and kept the newer entry


@pytest.mark.django_db(transaction=True)
def test_during_the_change_readers_answer_from_postgresql_and_store_nothing(
    enforcement_client, freeze
):
    tenant = TenantFactory()
    ask(enforcement_client, tenant)
    with transaction.atomic():
        freeze(tenant)
        assert b"|T|" in cached_raw(tenant)  # the fence, before the commit
        assert ask_elsewhere(enforcement_client, tenant)["state"] == "active"
        assert b"|T|" in cached_raw(tenant)  # the reader could not store its older answer


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


@pytest.fixture
def own_redis(tmp_path):
    """A Redis this test starts, stops and pauses itself, as the console's cache."""
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


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_answers_come_from_postgresql_and_stay_right(
    own_redis, enforcement_client, founder, freeze
):
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"
    own_redis.stop()
    action = freeze(tenant)
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    founder_action_reverse(actor=founder, action=action, reason="Reversed while Redis is down.")
    assert ask(enforcement_client, tenant)["state"] == "active"
    back_up(own_redis)
    assert ask(enforcement_client, tenant)["state"] == "active"
    freeze(tenant)
    assert ask(enforcement_client, tenant)["state"] == "frozen"
    assert cached_raw(tenant) is not None


@pytest.mark.django_db(transaction=True)
def test_a_redis_unreachable_during_a_change_never_serves_its_older_entry(
    own_redis, enforcement_client, freeze
):
    """Redis stalls (it keeps its data) while a freeze commits, so the fence times out; when it
    answers again it still holds the entry from before the freeze."""
    tenant = TenantFactory()
    assert ask(enforcement_client, tenant)["state"] == "active"
    epoch = enforcement.current_epoch()
    stale_key = enforcement.cache_key(epoch, tenant.ref)
    stale_entry = get_redis_connection("default").get(stale_key)
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        freeze(tenant)
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert enforcement.current_epoch() > epoch  # moved on in the freeze's own transaction
    enforcement.forget_redis_failures()
    # The timed-out writes may still land once Redis wakes; one that got lost would leave this:
    get_redis_connection("default").set(stale_key, stale_entry)
    assert ask(enforcement_client, tenant)["state"] == "frozen"


@pytest.mark.django_db(transaction=True)
def test_a_refresh_lost_after_the_commit_moves_the_epoch_on(own_redis, enforcement_client, freeze):
    """Redis takes the fence, then goes away before the refresh; when it comes back from an
    older snapshot with the entry from before, that entry is never read."""
    tenant = TenantFactory()
    ask(enforcement_client, tenant)
    stale_key = enforcement.cache_key(enforcement.current_epoch(), tenant.ref)
    stale_entry = get_redis_connection("default").get(stale_key)
    epoch = enforcement.current_epoch()
    with transaction.atomic():
        freeze(tenant)
        own_redis.stop()
    assert EnforcementClock.objects.get().cache_epoch > epoch
    back_up(own_redis)
    get_redis_connection("default").set(stale_key, stale_entry)  # restored from a snapshot
    assert ask(enforcement_client, tenant)["state"] == "frozen"


@pytest.mark.django_db(transaction=True)
def test_the_freeze_itself_works_with_redis_down(own_redis, enforcement_client, freeze):
    own_redis.stop()
    tenant = TenantFactory()
    action = freeze(tenant, duration_minutes=30)
    assert action.pk and ask(enforcement_client, tenant)["until"] is not None
    assert timezone.now() < action.expires_at
