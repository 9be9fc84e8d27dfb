"""A tenant's state from its actions: freeze beats throttle, the lowest throttle wins, expired and
reversed actions stop counting at their time — whatever order the actions come in."""

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from founder.rules import ActionFacts, TenantState, tenant_state

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return T + timedelta(minutes=n)


def facts(id, type, *, at=-60, expires=None, ended=None, code="abuse", rpm=None):
    """An action at minutes relative to T: created `at`, expiring and ended when given."""
    return ActionFacts(
        id=id,
        type=type,
        reason_code=code,
        created_at=minutes(at),
        expires_at=minutes(expires) if expires is not None else None,
        ended_at=minutes(ended) if ended is not None else None,
        throttle_rpm=rpm,
    )


def freeze(id, **when):
    return facts(id, "freeze_tenant", **when)


def throttle(id, rpm, *, code="runaway_traffic", **when):
    return facts(id, "throttle_tenant", code=code, rpm=rpm, **when)


ACTIVE = TenantState("active")

CASES = [
    ("no actions", [], ACTIVE),
    ("a freeze", [freeze(1)], TenantState("frozen", None, None, "abuse", 1)),
    (
        "a freeze with an expiry says until when",
        [freeze(1, expires=30)],
        TenantState("frozen", None, minutes(30), "abuse", 1),
    ),
    ("an expired freeze no longer counts", [freeze(1, expires=-1)], ACTIVE),
    ("a freeze expiring exactly now no longer counts", [freeze(1, expires=0)], ACTIVE),
    ("a reversed freeze no longer counts", [freeze(1, ended=-5)], ACTIVE),
    ("an action taken after the moment asked about does not count yet", [freeze(1, at=5)], ACTIVE),
    (
        "a throttle",
        [throttle(1, 600)],
        TenantState("throttled", 600, None, "runaway_traffic", 1),
    ),
    (
        "the most restrictive throttle wins",
        [throttle(1, 600), throttle(2, 120, expires=240), throttle(3, 5000)],
        TenantState("throttled", 120, minutes(240), "runaway_traffic", 2),
    ),
    (
        "when the strictest throttle expires the next one applies",
        [throttle(1, 600), throttle(2, 120, expires=-1)],
        TenantState("throttled", 600, None, "runaway_traffic", 1),
    ),
    (
        "when the strictest throttle is reversed the next one applies",
        [throttle(1, 600, expires=90), throttle(2, 120, ended=-10)],
        TenantState("throttled", 600, minutes(90), "runaway_traffic", 1),
    ),
    (
        "freeze beats throttle",
        [throttle(1, 10), freeze(2, code="fraud"), throttle(3, 1)],
        TenantState("frozen", None, None, "fraud", 2),
    ),
    (
        "a throttle applies again once the freeze over it expires",
        [throttle(1, 300, expires=600), freeze(2, expires=-1)],
        TenantState("throttled", 300, minutes(600), "runaway_traffic", 1),
    ),
    (
        "a throttle applies again once the freeze over it is reversed",
        [freeze(1, ended=-1), throttle(2, 300)],
        TenantState("throttled", 300, None, "runaway_traffic", 2),
    ),
    (
        "everything ended: active",
        [freeze(1, ended=-30), throttle(2, 100, expires=-20), throttle(3, 50, ended=-1)],
        ACTIVE,
    ),
    (
        "of equal throttles the longest-lasting governs, so `until` is when the limit changes",
        [throttle(1, 100, expires=30), throttle(2, 100, expires=90), throttle(3, 100, expires=60)],
        TenantState("throttled", 100, minutes(90), "runaway_traffic", 2),
    ),
    (
        "a throttle without expiry outlasts any with one",
        [throttle(1, 100, expires=30), throttle(2, 100, code="legal")],
        TenantState("throttled", 100, None, "legal", 2),
    ),
    (
        "of two freezes the one without expiry governs",
        [freeze(1, expires=30), freeze(2)],
        TenantState("frozen", None, None, "abuse", 2),
    ),
    (
        "of identical actions the older governs",
        [throttle(7, 100), throttle(3, 100)],
        TenantState("throttled", 100, None, "runaway_traffic", 3),
    ),
]


@pytest.mark.parametrize(
    ("actions", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_state_in_every_order(actions, expected):
    """The same actions in any order give the same state."""
    for ordering in permutations(actions):
        assert tenant_state(ordering, T) == expected


def test_an_expiry_counts_at_its_time_without_anyone_recording_it():
    """The state changes at the expiry time itself; nothing else needs to happen."""
    actions = [freeze(1, expires=10), throttle(2, 250, expires=20)]
    assert tenant_state(actions, minutes(9)).state == "frozen"
    assert tenant_state(actions, minutes(10)) == TenantState(
        "throttled", 250, minutes(20), "runaway_traffic", 2
    )
    assert tenant_state(actions, minutes(20)) == ACTIVE
