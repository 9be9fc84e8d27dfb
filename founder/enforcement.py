"""Enforcement: what the platform asks on every request, answered from cache, true to PostgreSQL.

A cached entry holds, per tenant, the facts of its active actions — never a computed state — so
every answer is computed by `rules.tenant_state` at the moment it is asked, and an action stops
counting at its expiry time even when the answer comes from cache.

How a cached entry is kept from outliving a change: every entry carries the *stamp* of the
tenant's last change (its version and the time of that change, from TenantEnforcement), and an
entry is used only if its stamp is the one PostgreSQL holds now. The endpoint reads that stamp
in the query that checks its API key, so the check costs no round trip of its own. A change is
therefore visible from the moment it commits, whatever Redis holds: a Redis that missed the
refresh, came back from an old snapshot, or serves another copy of the database. Nothing depends
on the cache being right, only on the stamp.

Two levels: a small memo in each process (no round trip at all), then Redis, shared by every
process and refreshed after each change commits; then PostgreSQL. With Redis down the memo and
PostgreSQL answer, correctly.

Cache writes are plumbing, like the outbox relay's: written here directly, not through
operations; nothing in them is business state.
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
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from founder import rules
from founder.models import ActionStatus, EnforcementClock, FounderAction, TenantEnforcement
from opsconsole.models import ApiKey, Tenant
from opsconsole.registry import after_commit

log = structlog.get_logger(__name__)


def stamp(version: int, changed_at: datetime | None) -> str:
    """What identifies a tenant's enforcement state: its last change's version and time (the
    time tells apart two copies of the database that reached the same version differently)."""
    return f"{version}@{changed_at.isoformat() if changed_at else '-'}"


# --- Snapshots: a tenant's facts, read from PostgreSQL in one query -------------------------------


def with_facts(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """Annotate each tenant with its last change (`enforcement_version`, `enforcement_changed_at`)
    and the facts of its active actions (`enforcement_actions`, JSON objects) — in one query,
    so they come from one snapshot."""
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
    change = TenantEnforcement.objects.filter(tenant=OuterRef("pk"))
    return tenants.annotate(
        enforcement_version=Coalesce(Subquery(change.values("version")), 0),
        enforcement_changed_at=Subquery(change.values("changed_at")),
        enforcement_actions=ArraySubquery(actions),
    )


def snapshot_of(tenant: Tenant) -> dict:
    """The cacheable snapshot of a tenant annotated by `with_facts`."""
    return {
        "tenant": tenant.ref,
        "version": tenant.enforcement_version,
        "stamp": stamp(tenant.enforcement_version, tenant.enforcement_changed_at),
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
    """The enforcement endpoint's answer for a snapshot, at `now`, ready for JSON."""
    state = state_of(snapshot, now)
    until = state.until.isoformat().replace("+00:00", "Z") if state.until else None
    return {
        "tenant": snapshot["tenant"],
        **asdict(state),
        "until": until,
        "version": snapshot["version"],
    }


# --- Reading --------------------------------------------------------------------------------------


def committed_stamp(ref: str) -> str | None:
    """The tenant's stamp as committed now; None for an unknown tenant."""
    row = (
        Tenant.objects.filter(ref=ref)
        .values_list("enforcement__version", "enforcement__changed_at")
        .first()
    )
    return None if row is None else stamp(row[0] or 0, row[1])


def key_and_stamp(key_hash: str, ref: str) -> tuple[ApiKey | None, str | None]:
    """The hot path's one query: the active API key with this hash, and the tenant's committed
    stamp (None for an unknown tenant). Plain SQL on purpose: compiling the ORM query would cost
    several times what PostgreSQL takes to answer it."""
    with connection.cursor() as cursor:
        cursor.execute(KEY_AND_STAMP, [ref, key_hash])
        row = cursor.fetchone()
    if row is None:
        return None, None
    pk, name, prefix, scopes, last_used_at, tenant_id, version, changed_at = row
    api_key = ApiKey(pk=pk, name=name, prefix=prefix, scopes=scopes, last_used_at=last_used_at)
    return api_key, (stamp(version or 0, changed_at) if tenant_id is not None else None)


KEY_AND_STAMP = """
    SELECT k.id, k.name, k.prefix, k.scopes, k.last_used_at, t.id, e.version, e.changed_at
    FROM opsconsole_apikey k
    LEFT JOIN opsconsole_tenant t ON t.ref = %s
    LEFT JOIN founder_tenantenforcement e ON e.tenant_id = t.id
    WHERE k.key_hash = %s AND k.revoked_at IS NULL
"""


def tenant_enforcement(ref: str, *, current: str, now: datetime | None = None) -> dict:
    """The tenant's enforcement answer; `current` is its stamp as read from PostgreSQL in this
    request. From the process memo, else Redis, else PostgreSQL — whichever holds `current`."""
    snapshot = _memo.get(ref)
    if snapshot is None or snapshot["stamp"] != current:
        snapshot = _from_redis(ref)
        if snapshot is None or snapshot["stamp"] != current:
            snapshot = load_snapshot(ref)
            _to_redis(snapshot)
        _remember(snapshot)
    return answer(snapshot, now)


# The memo holds at most this many tenants; past that it starts over (cheaper than an LRU, and
# a refill costs one Redis read per tenant).
MEMO_SIZE = 50_000
_memo: dict[str, dict] = {}


def _remember(snapshot: dict) -> None:
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    _memo[snapshot["tenant"]] = snapshot


def cache_key(ref: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:founder:enforcement:{ref}"


def _from_redis(ref: str) -> dict | None:
    try:
        raw = _redis().get(cache_key(ref))
    except RedisError as exc:
        _redis_failed(exc)
        return None
    return json.loads(raw) if raw is not None else None


def _to_redis(snapshot: dict) -> None:
    body = json.dumps(snapshot, separators=(",", ":"))
    try:
        _redis().set(cache_key(snapshot["tenant"]), body, ex=settings.ENFORCEMENT_CACHE_SECONDS)
    except RedisError as exc:
        _redis_failed(exc)


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
    version. The cache is refreshed once the change has committed."""
    if not connection.in_atomic_block:
        raise RuntimeError("an enforcement change belongs inside its transaction")
    version = serialize_changes().version + 1
    EnforcementClock.objects.filter(pk=1).update(version=version)
    TenantEnforcement.objects.update_or_create(
        tenant=tenant, defaults={"version": version, "changed_at": timezone.now()}
    )
    ref = tenant.ref
    after_commit(lambda: refresh(ref))
    return version


def refresh(ref: str) -> None:
    """After a commit: put the tenant's committed facts in Redis (and this process's memo), so
    the next question is answered without reading them from PostgreSQL. If Redis misses this,
    nothing is wrong — only slower: entries are checked against the committed stamp."""
    snapshot = load_snapshot(ref)
    if snapshot is not None:
        _to_redis(snapshot)
        _remember(snapshot)


# --- The change feed and pages --------------------------------------------------------------------


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
