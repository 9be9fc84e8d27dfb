"""What a tenant may do, computed from its founder actions: a pure rule, table-tested.

No ORM, no I/O: the enforcement endpoint runs this on every request over the facts it holds —
from Redis or from PostgreSQL — so expiry is decided by the clock at the moment of the question,
never by whether the expiry job has run.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ACTIVE = "active"
THROTTLED = "throttled"
FROZEN = "frozen"

FREEZE = "freeze_tenant"
THROTTLE = "throttle_tenant"


@dataclass(frozen=True)
class ActionFacts:
    """The part of a founder action the tenant's state depends on."""

    id: int
    type: str  # freeze_tenant | throttle_tenant
    reason_code: str
    created_at: datetime
    expires_at: datetime | None = None
    ended_at: datetime | None = None  # reversed, or recorded as expired
    throttle_rpm: int | None = None

    def counts_at(self, now: datetime) -> bool:
        return (
            self.created_at <= now
            and (self.ended_at is None or now < self.ended_at)
            and (self.expires_at is None or now < self.expires_at)
        )

    def lasts_longer_than(self, other: "ActionFacts") -> bool:
        """Ties between equally restrictive actions go to the one that lasts longest (no expiry
        lasts longest), then to the older one, so the answer does not depend on input order."""
        mine = (self.expires_at is None, self.expires_at or self.created_at, -self.id)
        theirs = (other.expires_at is None, other.expires_at or other.created_at, -other.id)
        return mine > theirs


@dataclass(frozen=True)
class TenantState:
    """What the platform must enforce. `until` is when the governing action expires: the state
    may change then (to the next throttle, or to active), so ask again at that time."""

    state: str
    throttle_rpm: int | None = None
    until: datetime | None = None
    reason_code: str | None = None
    action_id: int | None = None


UNRESTRICTED = TenantState(state=ACTIVE)


def _governing(candidates: list[ActionFacts], restrictiveness) -> ActionFacts:
    best = candidates[0]
    for action in candidates[1:]:
        if restrictiveness(action) > restrictiveness(best) or (
            restrictiveness(action) == restrictiveness(best) and action.lasts_longer_than(best)
        ):
            best = action
    return best


def tenant_state(actions: Iterable[ActionFacts], now: datetime) -> TenantState:
    """Freeze beats throttle; the lowest requests-per-minute wins among throttles; an action
    counts from its creation until it is reversed or its expiry time passes."""
    counting = [action for action in actions if action.counts_at(now)]
    freezes = [action for action in counting if action.type == FREEZE]
    if freezes:
        action = _governing(freezes, lambda _: 0)
        return TenantState(FROZEN, None, action.expires_at, action.reason_code, action.id)
    throttles = [action for action in counting if action.type == THROTTLE]
    if throttles:
        action = _governing(throttles, lambda throttle: -throttle.throttle_rpm)
        return TenantState(
            THROTTLED, action.throttle_rpm, action.expires_at, action.reason_code, action.id
        )
    return UNRESTRICTED
