"""A person signs in through the form and finds their way by what their role may do."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def nav_labels(page) -> list[str]:
    return [label.strip() for label in page.locator("nav.sidebar li a").all_inner_texts()]


def test_an_admin_sees_the_system_pages_and_reaches_each(sign_in, live_server, console_errors):
    page = sign_in("admin")
    labels = nav_labels(page)
    assert {"Jobs", "Operations log", "Runtime switch", "Django admin"} <= set(labels)
    sidebar = page.locator("nav.sidebar")
    sidebar.get_by_role("link", name="Runtime switch").click()
    expect(page.get_by_role("heading", name="Runtime switch")).to_be_visible()
    expect(page.locator("nav.sidebar a[aria-current=page]")).to_have_text("Runtime switch")
    sidebar.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    assert console_errors == [], "the browser reported errors (a CSP violation shows up here)"


def test_a_care_agent_sees_no_system_controls_and_is_refused_them(sign_in, live_server):
    page = sign_in("care_agent")
    labels = nav_labels(page)
    assert "Runtime switch" not in labels and "Operations log" not in labels
    response = page.goto(f"{live_server.url}/runtime/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_signing_out_returns_to_the_sign_in_page(sign_in, live_server):
    page = sign_in("sre")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/jobs/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/jobs/")
