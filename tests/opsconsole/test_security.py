"""Sign-in hardening, sessions, CSRF, CSP and production settings."""

import os
import secrets
import subprocess
import sys
import time

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_html_pages_carry_a_strict_content_security_policy(login):
    response = login("sre").get("/jobs/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts(login):
    html = login("admin").get("/runtime/").content.decode()
    for chunk in html.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: <script{tag}>"


def test_sign_in_locks_after_repeated_failures(make_user):
    make_user("sre", username="sam")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": "sam", "password": "wrong"})
        assert response.status_code == 200
    assert client.post("/login/", {"username": "sam", "password": "wrong"}).status_code == 429
    locked = client.post("/login/", {"username": "sam", "password": "correct horse battery staple"})
    assert locked.status_code == 429
    assert b"Sign-in locked" in locked.content


def test_the_right_password_signs_in_and_lands_on_the_home_page(make_user):
    make_user("auditor", username="ada")
    response = Client().post(
        "/login/", {"username": "ada", "password": "correct horse battery staple"}, follow=True
    )
    assert response.status_code == 200 and response.wsgi_request.user.username == "ada"


def test_an_idle_session_ends(login):
    client = login("sre")
    assert client.get("/jobs/").status_code == 200
    later = time.time() + settings.SESSION_IDLE_TIMEOUT.total_seconds() + 5
    with time_machine.travel(later, tick=False):
        response = client.get("/jobs/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_active_session_still_ends_at_the_absolute_limit(login):
    client = login("sre")
    client.get("/jobs/")
    step = settings.SESSION_IDLE_TIMEOUT.total_seconds() - 60
    now = time.time()
    with time_machine.travel(now, tick=False) as clock:
        while time.time() - now < settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds() - step:
            clock.shift(step)
            assert client.get("/jobs/").status_code == 200, "an active person stays signed in"
        clock.shift(step)
        response = client.get("/jobs/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_csrf_is_enforced_on_unsafe_html_routes(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    response = client.post("/runtime/", {"mode": "degraded", "reason": "a reason long enough"})
    assert response.status_code == 403


def test_csrf_is_enforced_for_session_api_writes(make_user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    response = client.post("/api/v1/tenants", {"tenants": []}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


@override_settings(DEMO_ALLOWED=False)
def test_seed_demo_refuses_production_settings():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsconsole.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "ops.example.com",
    }
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout
