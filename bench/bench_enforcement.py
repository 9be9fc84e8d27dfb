"""The enforcement endpoint under load, beside a bare Django JSON view in the same server.

One gunicorn (sync workers, loopback only) serves both from the bench database: the console's
URLs plus a bare view that returns a constant JSON answer through the same middleware. A closed
loop of CONNECTIONS client processes — each sends its next request when the last one is
answered, so the load is bounded — alternates between the two for ROUNDS rounds of SECONDS
each. Figures are medians over rounds: requests per second (ratio ≥ 0.70 of the bare view's),
p99 latency (≤ 5 ms), and the time from a freeze request's response to the enforcement endpoint
answering `frozen` (≤ 100 ms), beside one enforcement round trip.
"""

import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection
from django.utils import timezone

from bench.common import Figure, percentile
from founder.operations import tenant_freeze, tenant_throttle
from opsconsole.embedded import free_port
from opsconsole.models import Tenant
from opsconsole.operations import api_key_create
from opsconsole.registry import Actor
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
TENANTS = 2000
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))  # more than 1: gunicorn's gthread workers
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
FREEZES = 20
PASSWORD = "bench-founder-password"  # noqa: S105 - a throwaway user in the bench database


# --- Data ----------------------------------------------------------------------------------------


def seed() -> tuple[list[str], str]:
    """Tenants (a few frozen or throttled), a platform key; returns (refs, raw key)."""
    now = timezone.now()
    Tenant.objects.bulk_create(
        Tenant(
            ref=f"TEN-B{number:05}",
            name=f"Bench tenant {number}",
            segment="smb",
            plan="growth",
            market="AT-VIE",
            created_at=now,
        )
        for number in range(TENANTS)
    )
    system = Actor.for_system("bench")
    tenants = list(Tenant.objects.filter(ref__startswith="TEN-B").order_by("ref"))
    for tenant in tenants[:20]:
        tenant_freeze(actor=system, tenant=tenant, reason_code="abuse", reason="Bench: frozen.")
    for tenant in tenants[20:60]:
        tenant_throttle(
            actor=system,
            tenant=tenant,
            reason_code="runaway_traffic",
            reason="Bench throttle.",
            throttle_rpm=600,
            duration_minutes=600,
        )
    key = api_key_create(actor=system, name="bench-platform", scopes=["enforcement:read"]).unwrap()
    return [tenant.ref for tenant in tenants], key.raw_key


# --- The server ----------------------------------------------------------------------------------


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.enforcement_settings",
        "DATABASE_URL": database_url(),
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "opsconsole.wsgi:application",
            *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
            *("--threads", str(THREADS), "--backlog", "256", "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()
            return server
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not come up")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


# --- The load ------------------------------------------------------------------------------------


def _client(port: int, requests_bytes: list[bytes], seconds: float, results) -> None:
    """Send requests one after another (a new connection each: sync workers close them) for
    `seconds`; report each latency and the count of answers that were not 200."""
    latencies, failures = [], 0
    deadline = time.perf_counter() + seconds
    index = random.randrange(len(requests_bytes))
    while (started := time.perf_counter()) < deadline:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(requests_bytes[index % len(requests_bytes)])
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        latencies.append(time.perf_counter() - started)
        failures += not response.startswith(b"HTTP/1.1 200")
        index += 1
    results.put((latencies, failures))


def load(port: int, paths: list[str], headers: dict[str, str]) -> tuple[float, float]:
    """One round: (requests per second, p99 seconds) of CONNECTIONS closed-loop clients."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    prepared = [
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Connection: close\r\n\r\n".encode()
        for path in paths
    ]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    clients = [
        context.Process(target=_client, args=(port, prepared, SECONDS, results))
        for _ in range(CONNECTIONS)
    ]
    for client in clients:
        client.start()
    collected = [results.get() for _ in clients]
    for client in clients:
        client.join()
    latencies = [latency for batch, _ in collected for latency in batch]
    failures = sum(failed for _, failed in collected)
    if failures:
        raise RuntimeError(f"{failures} requests were not answered 200")
    return len(latencies) / SECONDS, percentile(latencies, 99)


# --- Freeze to frozen ----------------------------------------------------------------------------


def freeze_to_frozen(port: int, refs: list[str], key: str) -> tuple[list[float], list[float]]:
    """Freeze tenants through the API as a founder; after each response, ask the enforcement
    endpoint as the platform until it says frozen. Returns (those delays, single GET times)."""
    base = f"http://127.0.0.1:{port}"
    UserFactory(username="bench-founder", password=PASSWORD, role="founder")
    founder = requests.Session()
    login_page = founder.get(f"{base}/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    founder.post(
        f"{base}/login/",
        data={"username": "bench-founder", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
    ).raise_for_status()
    csrf = founder.cookies["csrftoken"]
    platform = requests.Session()
    platform.headers["Authorization"] = f"Api-Key {key}"
    delays, round_trips = [], []
    for ref in refs[-FREEZES:]:
        url = f"{base}/api/v1/enforcement/tenants/{ref}"
        started = time.perf_counter()
        assert platform.get(url).json()["state"] == "active"  # cached before the freeze
        round_trips.append(time.perf_counter() - started)
        response = founder.post(
            f"{base}/api/v1/founder/actions",
            json={
                "type": "freeze_tenant",
                "tenant": ref,
                "reason_code": "abuse",
                "reason": "Bench: freeze to frozen.",
            },
            headers={"X-CSRFToken": csrf, "Referer": base},
        )
        answered = time.perf_counter()
        assert response.status_code == 201, response.text
        while platform.get(url).json()["state"] != "frozen":
            if time.perf_counter() - answered > 5:
                raise RuntimeError(f"{ref} was not frozen 5 s after the freeze's response")
        delays.append(time.perf_counter() - answered)
    return delays, round_trips


# --- The run -------------------------------------------------------------------------------------


def run() -> list[Figure]:
    refs, key = seed()
    port = free_port()
    server = start_server(port)
    try:
        enforcement_paths = [f"/api/v1/enforcement/tenants/{ref}" for ref in refs]
        bare_paths = [f"/api/v1/bench/bare/{ref}" for ref in refs]
        auth = {"Authorization": f"Api-Key {key}"}
        for ref in refs:  # warm the cache the way the platform's traffic would
            url = f"http://127.0.0.1:{port}/api/v1/enforcement/tenants/{ref}"
            requests.get(url, headers=auth, timeout=10).raise_for_status()
        rounds = {"bare": [], "enforcement": []}
        for _ in range(ROUNDS):
            rounds["bare"].append(load(port, bare_paths, {}))
            rounds["enforcement"].append(load(port, enforcement_paths, auth))
        delays, round_trips = freeze_to_frozen(port, refs, key)
    finally:
        stop_server(server)

    def median(name: str, index: int) -> float:
        return statistics.median(result[index] for result in rounds[name])

    rps, bare_rps = median("enforcement", 0), median("bare", 0)
    p99_ms, bare_p99_ms = median("enforcement", 1) * 1000, median("bare", 1) * 1000
    worst_ms = max(delays) * 1000
    return [
        Figure(
            name="enforcement GET throughput",
            value=rps,
            unit="req/s",
            floor_name="bare Django JSON view, same server",
            floor=bare_rps,
            better="higher",
            target="ratio ≥ 0.70",
            met=rps / bare_rps >= 0.70,
        ),
        Figure(
            name="enforcement GET p99 under that load",
            value=p99_ms,
            unit="ms",
            floor_name="bare view p99",
            floor=bare_p99_ms,
            better="lower",
            target="≤ 5 ms",
            met=p99_ms <= 5,
        ),
        Figure(
            name=f"freeze response → says frozen (worst of {FREEZES})",
            value=worst_ms,
            unit="ms",
            floor_name="one enforcement GET (median)",
            floor=statistics.median(round_trips) * 1000,
            better="lower",
            target="≤ 100 ms",
            met=worst_ms <= 100,
        ),
    ]
