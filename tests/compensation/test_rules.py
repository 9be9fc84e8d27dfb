"""The compensation rules, as tables of cases."""

from decimal import Decimal as D

import pytest

from compensation.rules import (
    Case,
    PolicyCriteria,
    UnknownCurrency,
    approval_verdict,
    auto_approvable,
    convert,
    fault_of,
    is_frequent,
    match_policy,
    parts,
    proposed_amount,
    required_role,
)

LIMITS = {"care_agent": D("50"), "care_lead": D("500"), "finance": None}
RATES = {"CZK": D("0.04"), "GBP": D("1.17")}


@pytest.mark.parametrize(
    ("category", "context", "vendor", "fault"),
    [
        ("vendor", {}, "", "vendor"),
        ("availability", {"vendor": "VEN-123"}, "", "vendor"),
        ("availability", {"vendor_id": "VEN-123"}, "", "vendor"),
        ("quality", {}, "VEN-9", "vendor"),
        ("availability", {}, "", "platform"),
        ("payment", {"market": "AT-VIE"}, "", "platform"),
        ("vendor", {"fault": "mixed"}, "", "mixed"),
        ("availability", {"fault": "PLATFORM", "vendor": "VEN-1"}, "", "platform"),
        ("availability", {"fault": "nobody"}, "", "platform"),
    ],
)
def test_fault_comes_from_the_incident(category, context, vendor, fault):
    assert fault_of(category=category, context=context, vendor=vendor) == fault


ANY = PolicyCriteria(id=1, priority=100)
VENDOR = PolicyCriteria(id=2, faults=("vendor",))
VIENNA_VENDOR = PolicyCriteria(id=3, faults=("vendor",), markets=("AT-VIE",))
CRITICAL_PLATFORM = PolicyCriteria(id=4, severities=("critical",), faults=("platform",))
COFFEE = PolicyCriteria(id=5, products=("coffee-pass",), priority=10)
PAYMENTS_FROM_PRG = PolicyCriteria(id=6, categories=("payment",), sources=("prg",), priority=5)
PAYMENTS_LOW_PRIORITY = PolicyCriteria(id=7, categories=("payment",), sources=("prg",))
EVERYTHING = [ANY, VENDOR, VIENNA_VENDOR, CRITICAL_PLATFORM, COFFEE, PAYMENTS_FROM_PRG]


def case(**facts) -> Case:
    values = {"category": "availability", "severity": "high", "source": "prg", "fault": "platform"}
    return Case(**{**values, **facts})


@pytest.mark.parametrize(
    ("policies", "facts", "expected"),
    [
        ([], {}, None),
        ([VENDOR], {}, None),
        ([ANY], {}, 1),
        ([ANY, VENDOR], {"fault": "vendor"}, 2),
        (EVERYTHING, {"fault": "vendor", "market": "AT-VIE"}, 3),
        (EVERYTHING, {"fault": "vendor", "market": "DE-BER"}, 2),
        (EVERYTHING, {"severity": "critical"}, 4),
        (EVERYTHING, {"severity": "low"}, 1),
        (EVERYTHING, {"product": "coffee-pass"}, 5),
        # equally specific: the lower priority number wins
        ([PAYMENTS_LOW_PRIORITY, PAYMENTS_FROM_PRG], {"category": "payment"}, 6),
        # equally specific, equal priority: the older policy wins
        (
            [PolicyCriteria(id=9, markets=("AT",)), PolicyCriteria(id=8, markets=("AT",))],
            {"market": "AT"},
            8,
        ),
        ([PAYMENTS_FROM_PRG], {"category": "payment", "source": "tjm"}, None),
        ([CRITICAL_PLATFORM], {"severity": "critical", "fault": "mixed"}, None),
    ],
)
def test_the_most_specific_matching_policy_wins(policies, facts, expected):
    match = match_policy(policies, case(**facts))
    assert (match.id if match else None) == expected


@pytest.mark.parametrize(
    ("kind", "value", "cap", "policy_currency", "order", "order_currency", "expected"),
    [
        ("percentage_of_amount", D("100"), D("50"), "EUR", D("20.00"), "EUR", (D("20.00"), "EUR")),
        ("percentage_of_amount", D("100"), D("50"), "EUR", D("80.00"), "EUR", (D("50.00"), "EUR")),
        ("percentage_of_amount", D("50"), None, "EUR", D("33.33"), "EUR", (D("16.67"), "EUR")),
        # the cap is in the policy's currency, the amount in the order's
        ("percentage_of_amount", D("100"), D("50"), "EUR", D("2000"), "CZK", (D("1250.00"), "CZK")),
        ("percentage_of_amount", D("100"), D("50"), "EUR", D("500"), "CZK", (D("500.00"), "CZK")),
        ("fixed", D("10"), None, "EUR", D("900"), "CZK", (D("250.00"), "CZK")),
        ("fixed", D("10"), None, "EUR", None, "", (D("10.00"), "EUR")),
        ("fixed", D("10"), None, "GBP", D("10"), "GBP", (D("10.00"), "GBP")),
    ],
)
def test_the_amount_is_in_the_order_currency_with_the_cap_converted(
    kind, value, cap, policy_currency, order, order_currency, expected
):
    assert (
        proposed_amount(
            value_type=kind,
            value=value,
            cap=cap,
            policy_currency=policy_currency,
            order_amount=order,
            order_currency=order_currency,
            rates=RATES,
        )
        == expected
    )


def test_a_currency_without_a_rate_is_named():
    with pytest.raises(UnknownCurrency) as missing:
        convert(D("10"), "HUF", "EUR", RATES)
    assert missing.value.currency == "HUF"
    assert convert(D("10"), "GBP", "EUR", RATES) == D("11.70")
    assert convert(D("11.70"), "EUR", "GBP", RATES) == D("10.00")


@pytest.mark.parametrize(
    ("channel", "amount", "refund_percent", "expected"),
    [
        ("trutta_token", D("20"), 50, [("trutta_token", D("20"))]),
        ("refund", D("20"), 50, [("refund", D("20"))]),
        ("mixed", D("20"), 50, [("trutta_token", D("10.00")), ("refund", D("10.00"))]),
        ("mixed", D("10.01"), 50, [("trutta_token", D("5.00")), ("refund", D("5.01"))]),
        ("mixed", D("20"), 0, [("trutta_token", D("20.00"))]),
        ("mixed", D("20"), 100, [("refund", D("20.00"))]),
    ],
)
def test_a_mixed_compensation_splits_into_parts_that_add_up(
    channel, amount, refund_percent, expected
):
    assert parts(channel, amount, refund_percent) == expected


@pytest.mark.parametrize(("earlier", "frequent"), [(0, False), (2, False), (3, True), (7, True)])
def test_more_than_three_in_the_window_counting_this_one_is_frequent(earlier, frequent):
    assert is_frequent(earlier) is frequent


@pytest.mark.parametrize(
    ("amount", "flagged", "role"),
    [
        (D("0"), False, "care_agent"),
        (D("50.00"), False, "care_agent"),
        (D("50.01"), False, "care_lead"),
        (D("500"), False, "care_lead"),
        (D("500.01"), False, "finance"),
        (D("20"), True, "care_lead"),
        (D("900"), True, "finance"),
    ],
)
def test_the_least_senior_role_whose_limit_covers_it_is_required(amount, flagged, role):
    assert required_role(amount, LIMITS, flagged=flagged) == role


def test_without_an_unlimited_role_a_large_amount_has_no_approver():
    assert (
        required_role(D("9000"), {"care_agent": D("50"), "care_lead": D("500")}, flagged=False)
        is None
    )


@pytest.mark.parametrize(
    ("roles", "amount", "flagged", "allowed", "reason"),
    [
        (["care_agent"], D("20"), False, True, "Within care agent limit 50"),
        (["care_agent"], D("50"), False, True, "Within care agent limit 50"),
        (["care_agent"], D("200"), False, False, "over your limit of 50 EUR as care agent"),
        (["care_lead"], D("200"), False, True, "Within care lead limit 500"),
        (["care_lead"], D("501"), False, False, "over your limit of 500 EUR as care lead"),
        (["finance"], D("50000"), False, True, "Within finance no limit"),
        (["care_agent"], D("5"), True, False, "flagged: a care lead or finance"),
        (["care_lead"], D("5"), True, True, "Within care lead"),
        (["care_agent", "care_lead"], D("200"), False, True, "care lead"),
        (["founder"], D("1"), False, False, "no approval limit"),
        (["admin"], D("1"), False, False, "no approval limit"),
    ],
)
def test_an_approver_acts_within_their_most_generous_limit(roles, amount, flagged, allowed, reason):
    verdict = approval_verdict(
        approver_roles=roles, amount_eur=amount, limits=LIMITS, flagged=flagged
    )
    assert verdict.allowed is allowed
    assert reason in verdict.reason


@pytest.mark.parametrize(
    ("overrides", "automatic", "reason"),
    [
        ({}, True, "automatically"),
        ({"policy_allows": False}, False, "asks for a person"),
        ({"value_from_policy": False}, False, "set by a person"),
        ({"severity": "medium"}, True, "automatically"),
        ({"severity": "high"}, False, "High severity"),
        ({"severity": "critical"}, False, "Critical severity"),
        ({"flags": ["frequent"]}, False, "Flagged (frequent)"),
        ({"amount_eur": D("50.01")}, False, "automatic limit of 50"),
        ({"auto_limit": D("0")}, False, "automatic limit of 0"),
    ],
)
def test_only_small_clear_cases_are_approved_automatically(overrides, automatic, reason):
    facts = {
        "policy_allows": True,
        "value_from_policy": True,
        "severity": "low",
        "flags": [],
        "amount_eur": D("20"),
        "auto_limit": D("50"),
    }
    allowed, why = auto_approvable(**{**facts, **overrides})
    assert allowed is automatic and reason in why
