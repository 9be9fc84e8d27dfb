"""Browser tests drive the real console in Debian's Chromium through Playwright.

Playwright cannot download its own browser here; it is pointed at /usr/bin/chromium (or
$CHROMIUM_PATH). Without Chromium the tests are skipped with that reason — except in CI
(REQUIRE_BROWSER=1), where a missing browser fails the run.
"""

import os

import pytest

from opsconsole.demo import DEFAULT_PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` to run browser tests"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API keeps an event loop running in the test thread from the first browser
    test to the end of the session; the tests (and the database teardown after them) still use
    Django's ORM synchronously there, which is safe in a test. Browser tests run last (see
    tests/conftest.py), so this holds only for them."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def console_errors(page):
    """Everything the browser complained about — CSP violations included."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def sign_in(page, live_server, make_user):
    """sign_in(role) → the page, signed in through the real form as a new person with that role."""

    def as_role(role: str, username: str | None = None):
        user = make_user(role, username=username or f"{role}-browser")
        user.set_password(DEFAULT_PASSWORD)
        user.save()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return as_role
