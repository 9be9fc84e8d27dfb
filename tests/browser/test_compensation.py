"""Customer Care works the compensation queue in a real browser: within their limit, with the
keyboard, and a care lead takes what is above it."""

from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from compensation.models import CompensationProposal, Status
from compensation.operations import budget_set
from opsconsole.registry import Actor
from tests.compensation.factories import proposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():

    import_module("compensation.migrations.0002_default_limits").create(apps, None)

    budget_set(
        actor=Actor.for_system("tests"),
        market="AT-VIE",
        month=timezone.localdate().replace(day=1),
        amount_eur=Decimal("1000"),
    ).unwrap()
    token = proposal(user_ref="USR-TOKEN", amount="20.00")
    refund = proposal(user_ref="USR-REFUND", amount="200.00", proposed_channel="refund")
    return token, refund


def test_a_care_agent_approves_a_small_token_and_a_care_lead_the_large_refund(
    sign_in, live_server, console_errors, queue
):
    token, refund = queue
    page = sign_in("care_agent")
    expect(page.get_by_role("heading", name="Compensation queue")).to_be_visible()
    token_row = page.locator(f"#proposal-{token.pk}")
    refund_row = page.locator(f"#proposal-{refund.pk}")
    expect(token_row).to_contain_text("20.00 EUR")
    expect(refund_row).to_contain_text("needs a care lead")

    page.keyboard.press("j")  # the oldest proposal: the token
    expect(token_row).to_have_class("highlight")
    page.keyboard.press("a")
    expect(token_row).to_contain_text(f"{token.ref} approved")
    expect(token_row.locator(".badge")).to_have_text("approved")

    refund_row.get_by_role("button", name="Approve").click()
    expect(refund_row).to_contain_text("over your limit of 50.00 EUR as care agent")
    assert CompensationProposal.objects.get(pk=refund.pk).status == Status.PENDING_APPROVAL

    page.get_by_role("button", name="Sign out").click()
    page = sign_in("care_lead")
    refund_row = page.locator(f"#proposal-{refund.pk}")
    expect(page.locator(f"#proposal-{token.pk}")).to_have_count(0)  # no longer pending
    refund_row.get_by_role("button", name="Approve").click()
    expect(refund_row).to_contain_text(f"{refund.ref} approved")
    statuses = dict(CompensationProposal.objects.values_list("user_ref", "status"))
    assert statuses == {"USR-TOKEN": Status.APPROVED, "USR-REFUND": Status.APPROVED}
    assert console_errors == [], "the browser reported errors (a CSP violation shows up here)"


def test_rejecting_inline_asks_for_a_reason_typed_after_the_r_key(
    sign_in, live_server, console_errors, queue
):
    token, _ = queue
    page = sign_in("care_agent")
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.keyboard.type("Customer already got a voucher")
    page.keyboard.press("Enter")
    row = page.locator(f"#proposal-{token.pk}")
    expect(row).to_contain_text(f"{token.ref} rejected")
    assert CompensationProposal.objects.get(pk=token.pk).decision_reason == (
        "Customer already got a voucher"
    )
    assert console_errors == []
