"""Error ingestion through the bulk API beside a raw COPY of the same events into the same table.

A real server (gunicorn, production-like bench settings, one worker per core) takes batches of
500 events from CONCURRENCY clients over HTTP, each with an API key: authentication, per-item
validation, grouping into incidents, counters, severity and the operation record all count: the
count deltas that batches leave to a deferred fold are folded after each round, inside its time. The
floor is psycopg's COPY of the same events (fresh ids, the same incidents) into
incidents_errorevent in the same run — the cheapest way to put those rows there. Medians of
ROUNDS rounds.
"""

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.common import Figure
from incidents import rules
from incidents.models import Incident
from incidents.operations import counters_fold
from opsconsole.models import Tenant
from opsconsole.operations import api_key_create
from opsconsole.registry import Actor

BATCH = 500
BATCHES_PER_ROUND = 40
ROUNDS = 3
WORKERS = 2  # one per core
CONCURRENCY = 4
TENANTS = 1000
TARGET = 20_000
COMPONENTS = ["checkout", "booking-api", "search", "payments-psp", "vendor-gateway", "auth"]
CLASSES = ["UpstreamTimeout", "IntegrityError", "KeyError", "PaymentDeclined", "SlowQuery"]
TEMPLATES = [
    "Upstream timed out after {n} ms for cart {uuid}",
    "duplicate key value violates unique constraint slot_{n}",
    "Charge {ref} declined with code {n}",
    "query took {n} ms for listing {n}",
]
ROOT = Path(__file__).resolve().parent.parent


def _tenant_refs() -> list[str]:
    Tenant.objects.bulk_create(
        [
            Tenant(
                ref=f"TEN-B{number}",
                name=f"Bench tenant {number}",
                segment="smb",
                plan="growth",
                market="AT",
                created_at=timezone.now(),
            )
            for number in range(TENANTS)
        ],
        ignore_conflicts=True,
    )
    return list(Tenant.objects.filter(ref__startswith="TEN-B").values_list("ref", flat=True))


def _events(rng: random.Random, refs: list[str], count: int) -> list[dict]:
    now = timezone.now()
    events = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "tenant": rng.choice(refs),
                "component": rng.choice(COMPONENTS),
                "error_class": rng.choice(CLASSES),
                "message": template.format(
                    n=rng.randint(1, 99999), uuid=uuid.uuid4(), ref=f"PRS-{rng.randint(1, 9999)}"
                ),
                "severity": rng.choice(["warning", "error", "error", "critical"]),
                "occurred_at": (now - timedelta(seconds=rng.randint(0, 240))).isoformat(),
                "source": rng.choice(["prg", "tjm", "monitoring"]),
                "context": {"market": "AT-VIE", "session": f"s-{rng.randint(1, 5000)}"},
            }
        )
    return events


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsconsole.settings.bench",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "opsconsole.wsgi",
            f"--workers={WORKERS}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the bench server did not start")


def _post_all(port: int, key: str, bodies: list[bytes]) -> float:
    """Send the bodies from CONCURRENCY clients; the wall time until the last is stored."""

    def send(share: list[bytes]) -> None:
        for body in share:
            link = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            link.request(
                "POST",
                "/api/v1/events/errors",
                body=body,
                headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
            )
            response = link.getresponse()
            answer = json.loads(response.read())
            if response.status != 200 or answer["accepted"] != BATCH:
                raise RuntimeError(f"ingestion refused a batch: {response.status} {answer}")
            link.close()

    shares = [bodies[index::CONCURRENCY] for index in range(CONCURRENCY)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(send, shares))
    return time.perf_counter() - started


def _fold_rest() -> float:
    """Fold the count deltas the batches deferred (a worker's job in production, not running
    here); the seconds taken count as ingestion time."""
    started = time.perf_counter()
    counters_fold(actor=Actor.for_system("bench")).unwrap()
    return time.perf_counter() - started


COPY_COLUMNS = (
    "event_id, tenant_id, incident_id, component, error_class, message, severity_hint, "
    "source, context, fingerprint, occurred_at, received_at"
)


def _copy(events: list[dict], tenant_ids: dict[str, int], incident_of: dict[str, int]) -> float:
    """COPY the same events (fresh ids, their incidents) into the same table; the seconds taken."""
    now = timezone.now()
    rows = []
    for event in events:
        fingerprint = rules.fingerprint(
            component=event["component"], error_class=event["error_class"], message=event["message"]
        )
        rows.append(
            (
                uuid.uuid4(),
                tenant_ids[event["tenant"]],
                incident_of[fingerprint],
                event["component"],
                event["error_class"],
                event["message"],
                event["severity"],
                event["source"],
                json.dumps(event["context"]),
                fingerprint,
                event["occurred_at"],
                now,
            )
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY incidents_errorevent ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    connection.commit()
    return time.perf_counter() - started


def run() -> list[Figure]:
    rng = random.Random(7)
    refs = _tenant_refs()
    key = api_key_create(
        actor=Actor.for_system("bench"), name="bench-ingest", scopes=["events:write"]
    ).unwrap()
    rounds = [_events(rng, refs, BATCH * BATCHES_PER_ROUND) for _ in range(ROUNDS)]
    warmup = _events(rng, refs, BATCH * 4)
    batches = [
        [
            json.dumps({"events": events[start : start + BATCH]}).encode()
            for start in range(0, len(events), BATCH)
        ]
        for events in [warmup, *rounds]
    ]
    port = _free_port()
    server = _start_server(port)
    try:
        _post_all(port, key.raw_key, batches[0])
        _fold_rest()
        api_rates = [
            BATCH * BATCHES_PER_ROUND / (_post_all(port, key.raw_key, bodies) + _fold_rest())
            for bodies in batches[1:]
        ]
    finally:
        server.terminate()
        server.wait(10)
    tenant_ids = dict(Tenant.objects.values_list("ref", "id"))
    incident_of = dict(Incident.objects.active().values_list("fingerprint", "id"))
    copy_rates = [len(events) / _copy(events, tenant_ids, incident_of) for events in rounds]
    value, floor = statistics.median(api_rates), statistics.median(copy_rates)
    return [
        Figure(
            name=f"error events through POST /api/v1/events/errors ({BATCH} per request)",
            value=value,
            unit="events/s",
            floor_name="raw psycopg COPY of the same events",
            floor=floor,
            better="higher",
            target=f"≥ {TARGET:,} events/s",
            met=value >= TARGET,
        )
    ]
