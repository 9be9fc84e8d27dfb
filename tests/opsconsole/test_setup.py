"""The two commands' foundations: embedded servers on a bare machine, and the demo data."""

import os
import socket
import subprocess
import sys
from io import StringIO
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from opsconsole.demo import DEFAULT_PASSWORD, DEMO_USERS
from opsconsole.models import Tenant, User

CHILD = """
import os, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    print("pg", conn.execute("select current_database()").fetchone()[0])
print("redis", redis.Redis.from_url(os.environ["REDIS_URL"]).ping())
print("url", os.environ["REDIS_URL"])
"""


def test_embedded_servers_come_up_without_configuration_and_stop_after(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["OPSCONSOLE_DATA_DIR"] = str(tmp_path / "data")
    completed = subprocess.run(
        [sys.executable, "-m", "opsconsole.embedded", "--", sys.executable, "-c", CHILD],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "pg opsconsole" in completed.stdout and "redis True" in completed.stdout
    redis_url = completed.stdout.split("url ")[1].strip()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(
            (urlparse(redis_url).hostname, urlparse(redis_url).port), timeout=2
        ),
    ):
        pass


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_every_demo_login_works():
    call_command("seed_demo", stdout=StringIO())
    first = (User.objects.count(), Tenant.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (User.objects.count(), Tenant.objects.count()) == first
    assert first[1] >= 200
    assert Tenant.objects.values("segment").distinct().count() == 4
    assert Tenant.objects.values("market").distinct().count() >= 8
    request = RequestFactory().post("/login/")
    for username, (role, _) in DEMO_USERS.items():
        user = authenticate(request, username=username, password=DEFAULT_PASSWORD)
        assert user is not None and user.role_names() == [role]
