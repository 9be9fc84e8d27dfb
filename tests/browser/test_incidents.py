"""An SRE filters the incidents list, acknowledges and resolves one, sees both on its timeline."""

import pytest
from playwright.sync_api import expect

from tests.factories import TenantFactory
from tests.incidents.factories import incident_with_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_sre_filters_acknowledges_and_resolves_an_incident(sign_in, live_server, console_errors):
    tenant = TenantFactory(ref="TEN-321")
    target = incident_with_events(
        3,
        tenant=tenant,
        component="payments-psp",
        error_class="RefundFailed",
        message="Refund PRS-1 failed: card issuer unavailable",
    )
    incident_with_events(component="search", error_class="SlowQuery", message="Query slow")
    page = sign_in("sre", username="sam")
    page.goto(f"{live_server.url}/incidents/")
    rows = page.locator("#incident-rows tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_placeholder("Tenant ref").fill("TEN-321")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("RefundFailed")
    assert "tenant=TEN-321" in page.url  # the filtered list is a link one can share

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{target.pk}")
    page.get_by_role("button", name="Acknowledge").click()
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li").first).to_contain_text("Acknowledged by sam")

    page.get_by_label("Resolve with a note").fill("Issuer back; refunds retried.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(timeline.locator("li").first).to_contain_text("Issuer back; refunds retried.")
    expect(timeline).to_contain_text("Acknowledged by sam")
    expect(page.locator("#incident-work .badge-resolved").first).to_be_visible()
    assert console_errors == [], "the browser reported errors (a CSP violation shows up here)"
