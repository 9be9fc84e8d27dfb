"""A founder freezes a misbehaving tenant from its page and the platform is told at once; then
reverses it, and the platform is told that too."""

import pytest
import requests
from playwright.sync_api import expect

from founder.models import ActionStatus, FounderAction
from opsconsole.operations import api_key_create
from opsconsole.registry import Actor
from tests.factories import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def enforcement_state(live_server, api_key, tenant) -> str:
    response = requests.get(
        f"{live_server.url}/api/v1/enforcement/tenants/{tenant.ref}",
        headers={"Authorization": f"Api-Key {api_key.raw_key}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["state"]


def test_a_founder_freezes_a_tenant_and_reverses_it(sign_in, live_server, console_errors):
    tenant = TenantFactory(name="Orbit Rides GmbH")
    platform = api_key_create(
        actor=Actor.for_system("tests"), name="platform", scopes=["enforcement:read"]
    ).unwrap()
    page = sign_in("founder")
    page.goto(f"{live_server.url}/tenants/{tenant.ref}/")
    assert enforcement_state(live_server, platform, tenant) == "active"

    page.get_by_role("link", name="Freeze").click()
    dialog = page.locator("#freeze-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").select_option("runaway_traffic")
    dialog.get_by_label("Why").fill("Retry storm from their app: 40k requests a minute.")
    dialog.get_by_label("Expires after").fill("4")
    dialog.get_by_label("Unit").select_option("hours")
    dialog.get_by_label("Type the tenant's name to confirm").fill("Orbit Rides")
    dialog.get_by_role("button", name="Freeze tenant").click()
    expect(dialog).to_be_visible()  # the typed name did not match: nothing was sent
    assert not FounderAction.objects.exists()

    dialog.get_by_label("Type the tenant's name to confirm").fill("Orbit Rides GmbH")
    dialog.get_by_role("button", name="Freeze tenant").click()
    expect(page.get_by_text("Orbit Rides GmbH is frozen.")).to_be_visible()
    assert enforcement_state(live_server, platform, tenant) == "frozen"
    action = FounderAction.objects.get()
    assert (action.expires_at - action.created_at).total_seconds() == 4 * 3600

    page.get_by_role("link", name="Reverse").click()
    reverse_dialog = page.locator(f"#reverse-{action.pk}-dialog")
    reverse_dialog.get_by_label("Why reverse it").fill("Their engineers shipped the fix.")
    reverse_dialog.get_by_role("button", name="Reverse").click()
    expect(page.get_by_text("is reversed.")).to_be_visible()
    assert enforcement_state(live_server, platform, tenant) == "active"
    assert FounderAction.objects.get().status == ActionStatus.REVERSED
    assert console_errors == [], "the browser reported errors (a CSP violation shows up here)"


def test_a_freeze_with_a_short_reason_is_explained_in_the_dialog(sign_in, live_server):
    tenant = TenantFactory(name="Quartz Hotels SA")
    page = sign_in("founder")
    page.goto(f"{live_server.url}/tenants/{tenant.ref}/")
    page.get_by_role("link", name="Freeze").click()
    dialog = page.locator("#freeze-dialog")
    dialog.get_by_label("Reason").select_option("abuse")
    dialog.get_by_label("Why").fill("spam")
    dialog.get_by_label("Type the tenant's name to confirm").fill("Quartz Hotels SA")
    # The browser's own check (minlength) is bypassed to see the server's answer in the dialog.
    dialog.locator("form").evaluate("form => form.setAttribute('novalidate', '')")
    dialog.get_by_role("button", name="Freeze tenant").click()
    expect(dialog.get_by_text("Ensure this value has at least 10 characters")).to_be_visible()
    assert not FounderAction.objects.exists()
