"""Enforcement: what the platform asks on every request, answered from Redis, true to PostgreSQL.

The cache holds, per tenant, the facts of its active actions and the version of its last change
— never a computed state — so every answer is computed by `rules.tenant_state` at the moment it
is asked, and an action stops counting at its expiry time even when the answer comes from cache.

How a cached answer is kept from outliving a change:

- Every change takes the next version from EnforcementClock in its transaction; the row lock
  hands versions out in commit order.
- Before the change commits, its tenant's entry is replaced by a tombstone carrying the new
  version: readers who meet it answer from PostgreSQL, and cannot store what they read there
  (a cache write is refused when the entry holds a newer version — `_STORE`, below, runs in
  Redis atomically). After the commit the new facts replace the tombstone.
- If Redis cannot take the tombstone, the change moves `cache_epoch` on in the same transaction:
  keys are named by epoch, and readers learn the epoch in the same query that checks their API
  key, so at the commit every older entry is out of reach — even if Redis comes back with them.
  A failed refresh after the commit moves the epoch on too (a Redis that restarts from an older
  snapshot would otherwise resurrect the entry the tombstone had replaced).
- With Redis down, every read falls through to PostgreSQL; answers stay correct, only slower.

Cache bookkeeping is plumbing, like the outbox relay's: it is written here directly, not through
operations, and nothing in it is business state.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

import structlog
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from founder import rules
from founder.models import ActionStatus, EnforcementClock, FounderAction, TenantEnforcement
from opsconsole.models import Tenant
from opsconsole.registry import after_commit

log = structlog.get_logger(__name__)

ENTRY = "E"
TOMBSTONE = "T"

# Store ARGV[2] under KEYS[1] unless the key holds a newer version, or an entry (not a
# tombstone) of the same version. Values are "<version>|<E or T>|<json>".
_STORE = """
local current = redis.call('GET', KEYS[1])
if current then
  local bar = string.find(current, '|', 1, true)
  local held = tonumber(string.sub(current, 1, bar - 1))
  local incoming = tonumber(ARGV[1])
  if held > incoming or (held == incoming and string.sub(current, bar + 1, bar + 1) == 'E') then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


# --- Snapshots: a tenant's facts, read from PostgreSQL in one query -------------------------------


def with_facts(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """Annotate each tenant with `enforcement_version` and `enforcement_actions` (the facts of its
    active actions as JSON objects) — in the same query, so both come from one snapshot."""
    actions = (
        FounderAction.objects.filter(tenant=OuterRef("pk"), status=ActionStatus.ACTIVE)
        .order_by("id")
        .values(
            json=JSONObject(
                id="id",
                type="type",
                reason_code="reason_code",
                created_at="created_at",
                expires_at="expires_at",
                throttle_rpm="throttle_rpm",
            )
        )
    )
    version = TenantEnforcement.objects.filter(tenant=OuterRef("pk")).values("version")
    return tenants.annotate(
        enforcement_version=Coalesce(Subquery(version), 0),
        enforcement_actions=ArraySubquery(actions),
    )


def snapshot_of(tenant: Tenant) -> dict:
    """The cacheable snapshot of a tenant annotated by `with_facts`."""
    return {
        "tenant": tenant.ref,
        "version": tenant.enforcement_version,
        "actions": tenant.enforcement_actions,
    }


def load_snapshot(ref: str) -> dict | None:
    tenant = with_facts(Tenant.objects.filter(ref=ref)).only("ref").first()
    return snapshot_of(tenant) if tenant is not None else None


def facts_of(snapshot: dict) -> list[rules.ActionFacts]:
    return [
        rules.ActionFacts(
            id=action["id"],
            type=action["type"],
            reason_code=action["reason_code"],
            created_at=_moment(action["created_at"]),
            expires_at=_moment(action["expires_at"]) if action["expires_at"] else None,
            throttle_rpm=action["throttle_rpm"],
        )
        for action in snapshot["actions"]
    ]


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def state_of(snapshot: dict, now: datetime | None = None) -> rules.TenantState:
    return rules.tenant_state(facts_of(snapshot), now or timezone.now())


def answer(snapshot: dict, now: datetime | None = None) -> dict:
    """The enforcement endpoint's answer for a snapshot, at `now`."""
    state = state_of(snapshot, now)
    return {"tenant": snapshot["tenant"], **asdict(state), "version": snapshot["version"]}


# --- Reading --------------------------------------------------------------------------------------


def current_epoch() -> int:
    epoch = EnforcementClock.objects.filter(pk=1).values_list("cache_epoch", flat=True).first()
    return epoch or 0


def tenant_enforcement(ref: str, *, epoch: int, now: datetime | None = None) -> dict | None:
    """The tenant's enforcement answer, or None for an unknown tenant. `epoch` is the current
    cache epoch as read from PostgreSQL in this request."""
    key = cache_key(epoch, ref)
    snapshot = _cached(key)
    if snapshot is None:
        snapshot = load_snapshot(ref)
        if snapshot is None:
            return None
        cache_snapshot(key, snapshot)
    return answer(snapshot, now)


def cache_key(epoch: int, ref: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:founder:enforcement:{epoch}:{ref}"


def _cached(key: str) -> dict | None:
    """The cached snapshot, or None on a miss, a tombstone or any Redis trouble."""
    try:
        raw = _redis().get(key)
    except RedisError as exc:
        _redis_failed(exc)
        return None
    if raw is None:
        return None
    _version, kind, body = raw.decode().split("|", 2)
    return json.loads(body) if kind == ENTRY else None


def cache_snapshot(key: str, snapshot: dict) -> bool:
    body = json.dumps(snapshot, separators=(",", ":"))
    return _store(key, snapshot["version"], ENTRY, body, settings.ENFORCEMENT_CACHE_SECONDS)


def _store(key: str, version: int, kind: str, body: str, ttl: int) -> bool:
    """Write unless Redis holds something newer; False if Redis could not be reached."""
    try:
        client = _redis()
        client.register_script(_STORE)(keys=[key], args=[version, f"{version}|{kind}|{body}", ttl])
    except RedisError as exc:
        _redis_failed(exc)
        return False
    return True


# After a failure, this process leaves Redis alone for a second: with Redis unreachable, every
# request would otherwise wait out the socket timeout before answering from PostgreSQL.
REDIS_RETRY_SECONDS = 1.0
_redis_down_until = 0.0


class RedisSkipped(RedisError):
    """Redis failed less than REDIS_RETRY_SECONDS ago; not asked this time."""


def _redis():
    if time.monotonic() < _redis_down_until:
        raise RedisSkipped("Redis failed a moment ago")
    return get_redis_connection("default")


def _redis_failed(exc: RedisError) -> None:
    global _redis_down_until
    if not isinstance(exc, RedisSkipped):
        log.warning("enforcement.redis_unavailable", error=str(exc))
        _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS


def forget_redis_failures() -> None:
    """Ask Redis again at once (for tests that bring their own Redis back up)."""
    global _redis_down_until
    _redis_down_until = 0.0


# --- Changing -------------------------------------------------------------------------------------


def serialize_changes() -> EnforcementClock:
    """Take the enforcement clock's row lock for the rest of the transaction: enforcement
    changes then happen one at a time, and each sees every earlier one committed."""
    EnforcementClock.objects.bulk_create([EnforcementClock(pk=1)], ignore_conflicts=True)
    return EnforcementClock.objects.select_for_update().get(pk=1)


def tenant_changed(tenant: Tenant) -> int:
    """Record a change of the tenant's enforcement in the current transaction; returns its
    version. Fences the cache before the commit and refreshes it after."""
    if not connection.in_atomic_block:
        raise RuntimeError("an enforcement change belongs inside its transaction")
    clock = serialize_changes()
    version = clock.version + 1
    EnforcementClock.objects.filter(pk=1).update(version=version)
    TenantEnforcement.objects.update_or_create(
        tenant=tenant, defaults={"version": version, "changed_at": timezone.now()}
    )
    key = cache_key(clock.cache_epoch, tenant.ref)
    if not _store(key, version, TOMBSTONE, "", settings.ENFORCEMENT_TOMBSTONE_SECONDS):
        _advance_epoch()
    ref = tenant.ref
    after_commit(lambda: refresh(ref))
    return version


def refresh(ref: str) -> None:
    """After a commit: put the tenant's committed facts in the cache. If Redis cannot take them,
    move the epoch on so no entry from before the change is ever read again."""
    snapshot = load_snapshot(ref)
    if snapshot is None:
        return
    if not cache_snapshot(cache_key(current_epoch(), ref), snapshot):
        _advance_epoch()


def _advance_epoch() -> None:
    EnforcementClock.objects.filter(pk=1).update(cache_epoch=F("cache_epoch") + 1)
    log.warning("enforcement.cache_epoch_advanced", reason="Redis unreachable during a change")


# --- The change feed ------------------------------------------------------------------------------


def changes_since(version: int, *, limit: int, now: datetime | None = None) -> list[dict]:
    """Each tenant whose enforcement changed after `version`, once, in version order, with its
    answer now."""
    tenants = with_facts(Tenant.objects.filter(enforcement__version__gt=version)).order_by(
        "enforcement__version"
    )[:limit]
    now = now or timezone.now()
    return [answer(snapshot_of(tenant), now) for tenant in tenants.only("ref")]


def states_of(tenants: Iterable[Tenant], now: datetime | None = None) -> None:
    """Set `tenant.enforcement_state` on tenants annotated by `with_facts` (for pages)."""
    now = now or timezone.now()
    for tenant in tenants:
        tenant.enforcement_state = state_of(snapshot_of(tenant), now)
