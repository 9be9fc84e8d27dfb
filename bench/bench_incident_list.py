"""The incidents list page at scale, beside the Django admin's changelist of the same table.

1,000,000 error events, 100,000 incidents and 10,000 tenants are generated in SQL (a few
INSERT … SELECT generate_series statements; triggers off while loading, as a restore would), then
the console's list page — 50 rows, filtered the ways an SRE filters — is requested through the
whole Django stack (session, middleware, template) and timed; p95 over every request. The floor
is the admin changelist filtered alike, in the same run.
"""

import statistics
import time

from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from bench.common import Figure, percentile
from opsconsole.models import User

TENANTS = 10_000
INCIDENTS = 100_000
EVENTS = 1_000_000
REQUESTS_PER_FILTER = 25
TARGET_MS = 100.0

COMPONENTS = "ARRAY['checkout','booking-api','search','payments-psp','vendor-gateway','auth',"
COMPONENTS += "'trip-planner','notifications','content','safety-monitor']"
CLASSES = "ARRAY['UpstreamTimeout','IntegrityError','KeyError','PaymentDeclined','SlowQuery',"
CLASSES += "'VendorNoShow','TokenExpired','SmtpError']"
CATEGORIES = "ARRAY['availability','latency','data','payment','vendor','safety','quality',"
CATEGORIES += "'security']"
# Most incidents are resolved; a few thousand are active, as in a console that is worked.
STATUS = (
    "CASE WHEN g % 50 = 0 THEN 'open' WHEN g % 50 = 1 THEN 'acknowledged' "
    "WHEN g % 50 = 2 THEN 'regressed' ELSE 'resolved' END"
)

LOAD = [
    "SET session_replication_role = replica",
    f"""
    INSERT INTO opsconsole_tenant (ref, name, segment, plan, market, mrr, created_at)
    SELECT 'TEN-L' || g, 'Load tenant ' || g, 'smb', 'growth', 'AT', 100, now()
    FROM generate_series(1, {TENANTS}) AS g
    """,
    f"""
    INSERT INTO incidents_incident (
        fingerprint, title, component, error_class, category, severity, severity_forced, status,
        source, event_count, tenant_count, first_seen_at, last_seen_at, context, opened_at,
        updated_at, regression_count, resolution_note, resolved_at, time_to_resolve
    )
    SELECT md5(g::text),
           ({CLASSES})[1 + g % 8] || ' in ' || ({COMPONENTS})[1 + g % 10] || ': request ' ||
               (g % 997) || ' failed for route ' || (g % 89) || ' near gate ' || (g % 13),
           ({COMPONENTS})[1 + g % 10], ({CLASSES})[1 + g % 8], ({CATEGORIES})[1 + g % 8],
           (ARRAY['low','medium','high','critical'])[1 + (g / 7) % 4], false, {STATUS},
           (ARRAY['prg','tjm','lem','trutta','monitoring'])[1 + g % 5], 10, 3,
           now() - make_interval(mins => g), now() - make_interval(mins => g) + interval '5 min',
           '{{}}', now() - make_interval(mins => g), now(), 0, '',
           CASE WHEN g % 50 > 2 THEN now() - make_interval(mins => g) + interval '2 hours' END,
           CASE WHEN g % 50 > 2 THEN interval '2 hours' END
    FROM generate_series(1, {INCIDENTS}) AS g
    """,
    f"""
    INSERT INTO incidents_errorevent (
        event_id, tenant_id, incident_id, component, error_class, message, severity_hint,
        source, context, fingerprint, occurred_at, received_at
    )
    SELECT gen_random_uuid(), tenant.first + (incident.n * 3 + g % 3) % {TENANTS},
           incident.first + incident.n, 'checkout', 'UpstreamTimeout',
           'Upstream timed out after ' || g || ' ms', 'error', 'prg', '{{}}', md5(incident.n::text),
           now() - make_interval(secs => g % 2592000), now()
    FROM generate_series(1, {EVENTS}) AS g,
         LATERAL (SELECT (SELECT min(id) FROM incidents_incident) AS first,
                         (g::bigint * 7919) % {INCIDENTS} AS n) AS incident,
         LATERAL (SELECT min(id) AS first FROM opsconsole_tenant WHERE ref LIKE 'TEN-L%%')
             AS tenant
    """,
    """
    INSERT INTO incidents_incidenttenant
        (incident_id, tenant_id, event_count, first_seen_at, last_seen_at)
    SELECT incident_id, tenant_id, count(*), min(occurred_at), max(occurred_at)
    FROM incidents_errorevent GROUP BY 1, 2
    """,
    "SET session_replication_role = DEFAULT",
    "ANALYZE",
]

# The ways an SRE filters the list; each request asks for one 50-row page.
FILTERS = [
    "status=active",
    "status=active&severity=critical&severity=high",
    "category=payment",
    "status=resolved&component=search",
    "q=timed%20out%20gate",
    "q=KeyError",
    "seen=7d&severity=high",
    "tenant=TEN-L4242",
    "status=open&source=lem",
    "status=&since=2026-01-01T00:00",
]
ADMIN_FILTERS = [
    "status__exact=open",
    "status__exact=acknowledged&severity__exact=critical",
    "category__exact=payment",
    "q=KeyError",
    "severity__exact=high&source__exact=lem",
]


def _load() -> None:
    with connection.cursor() as cursor:
        for statement in LOAD:
            cursor.execute(statement)
    connection.commit()


def _latencies(client: Client, path: str, filters: list[str]) -> list[float]:
    samples = []
    for query in filters:
        client.get(f"{path}?{query}")  # warm this plan
        these = []
        for _ in range(REQUESTS_PER_FILTER):
            started = time.perf_counter()
            response = client.get(f"{path}?{query}")
            these.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}?{query} answered {response.status_code}")
        print(f"  {path}?{query}: median {statistics.median(these):.1f} ms", flush=True)
        samples += these
    return samples


def run() -> list[Figure]:
    started = time.perf_counter()
    _load()
    print(f"  loaded {EVENTS:,} events in {time.perf_counter() - started:.0f}s", flush=True)
    sre = User.objects.create_user("bench-sre")
    sre.groups.add(Group.objects.get(name="sre"))
    admin = User.objects.create_superuser("bench-admin", password=None)
    console, django_admin = Client(), Client()
    console.force_login(sre)
    django_admin.force_login(admin)
    page = _latencies(console, "/incidents/", FILTERS)
    changelist = _latencies(django_admin, "/admin/incidents/incident/", ADMIN_FILTERS)
    value, floor = percentile(page, 95), percentile(changelist, 95)
    return [
        Figure(
            name="incidents list page, 50 rows filtered, at 1M events/100k incidents (p95)",
            value=value,
            unit="ms",
            floor_name="Django admin changelist, filtered alike (p95)",
            floor=floor,
            better="lower",
            target=f"≤ {TARGET_MS:.0f} ms",
            met=value <= TARGET_MS,
        )
    ]
