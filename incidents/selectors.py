"""Reads of incidents, their events and patterns, scoped to what the viewer may see.

Each read costs a fixed number of queries whatever the page size (select_related for single
relations, prefetch for many), and none counts the whole incidents or events table: lists are
keyset-paginated, summaries aggregate the active incidents or one time window of events.
Other apps (compensation, SLO, founder) read incidents through these functions.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils import timezone

from incidents.models import (
    ACTIVE_STATUSES,
    AffectedUser,
    Component,
    ErrorEvent,
    Incident,
    IncidentTenant,
    Pattern,
    Severity,
    TimelineEntry,
)
from opsconsole.models import Tenant, User

# The columns the list shows; the rest (context, notes) stays in the database until a detail
# page asks for it.
LIST_COLUMNS = (
    "id",
    "title",
    "status",
    "severity",
    "category",
    "component",
    "error_class",
    "source",
    "event_count",
    "tenant_count",
    "first_seen_at",
    "last_seen_at",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "assignee__id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)
LIST_ORDERING = ("-last_seen_at", "-id")


def _may_read(viewer, permission: str) -> bool:
    """People by their permission; platform services by their key's incidents:read scope."""
    api_key = getattr(viewer, "api_key", None)
    if api_key is not None:
        return "incidents:read" in api_key.scopes
    return viewer.has_perm(permission)


def incident_list(*, viewer) -> QuerySet[Incident]:
    """Every incident the viewer may see, with what a list row shows (one query per page)."""
    if not _may_read(viewer, "incidents.view_incident"):
        return Incident.objects.none()
    return Incident.objects.select_related("assignee").only(*LIST_COLUMNS)


def incident_get(*, viewer, pk: int) -> Incident:
    """One incident with the people on it; raises Incident.DoesNotExist when unseen or unknown."""
    if not _may_read(viewer, "incidents.view_incident"):
        raise Incident.DoesNotExist
    return Incident.objects.select_related("assignee", "acknowledged_by", "resolved_by").get(pk=pk)


def incident_timeline(*, incident: Incident, limit: int = 100) -> list[TimelineEntry]:
    return list(incident.timeline.order_by("-created_at", "-id")[:limit])


def incident_recent_events(*, incident: Incident, limit: int = 20) -> list[ErrorEvent]:
    """The latest events of the incident (index incident, -occurred_at), with their tenants."""
    return list(
        ErrorEvent.objects.filter(incident=incident)
        .select_related("tenant")
        .order_by("-occurred_at")[:limit]
    )


def incident_tenants(*, incident: Incident, limit: int = 25) -> list[IncidentTenant]:
    """The tenants hit hardest first."""
    return list(
        IncidentTenant.objects.filter(incident=incident)
        .select_related("tenant")
        .order_by("-event_count", "tenant_id")[:limit]
    )


def incident_affected_users(*, incident: Incident, limit: int = 25) -> list[AffectedUser]:
    return list(
        AffectedUser.objects.filter(incident=incident)
        .select_related("tenant")
        .order_by("-occurred_at", "-id")[:limit]
    )


def incident_patterns(*, incident: Incident) -> list[Pattern]:
    return list(incident.patterns.order_by("-window_end", "-id")[:10])


def assignable_people() -> QuerySet[User]:
    """The people an incident can be given to: those who work incidents."""
    works = Q(groups__permissions__codename="acknowledge_incident") | Q(is_superuser=True)
    return User.objects.filter(works, is_active=True).distinct().order_by("username")


def component_names() -> list[str]:
    return list(Component.objects.order_by("name").values_list("name", flat=True))


# --- Summaries -----------------------------------------------------------------------------------


@dataclass
class ActiveSummary:
    total: int = 0
    unacknowledged: int = 0
    by_severity: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_component: list[tuple[str, int]] = field(default_factory=list)


def active_summary(*, viewer) -> ActiveSummary:
    """Active incidents by severity, category and component, from one GROUP BY."""
    if not _may_read(viewer, "incidents.view_incident"):
        return ActiveSummary()
    rows = (
        Incident.objects.filter(status__in=ACTIVE_STATUSES)
        .values_list("severity", "category", "component", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    severity, category, component = Counter(), Counter(), Counter()
    summary = ActiveSummary()
    for sev, cat, comp, status, count in rows:
        severity[sev] += count
        category[cat] += count
        component[comp] += count
        summary.total += count
        if status in ("open", "regressed"):
            summary.unacknowledged += count
    summary.by_severity = [(level, severity[level]) for level in reversed(Severity.values)]
    summary.by_category = category.most_common()
    summary.by_component = component.most_common()
    return summary


# Each window with the bucket its chart uses.
ERROR_WINDOWS = {
    "1h": (timedelta(hours=1), timedelta(minutes=5)),
    "6h": (timedelta(hours=6), timedelta(minutes=15)),
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
}
DEFAULT_ERROR_WINDOW = "24h"


@dataclass
class ErrorCounts:
    window: str
    since: datetime
    until: datetime
    total: int = 0
    by_class: list[tuple[str, int]] = field(default_factory=list)
    by_component: list[tuple[str, int]] = field(default_factory=list)
    series: list[tuple[datetime, int]] = field(default_factory=list)


ERROR_SERIES = """
SELECT date_bin(%(bucket)s, occurred_at, %(origin)s) AS bucket, count(*)
FROM incidents_errorevent
WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
GROUP BY 1 ORDER BY 1
"""


def error_counts(*, viewer, window: str = DEFAULT_ERROR_WINDOW, now=None) -> ErrorCounts:
    """Errors by class and by component over the window (the seed's error store summaries), and
    their count per bucket for a chart; every bucket of the window is present, empty ones at 0."""
    span, bucket = ERROR_WINDOWS[window]
    until = now or timezone.now()
    since = until - span
    counts = ErrorCounts(window=window, since=since, until=until)
    if not _may_read(viewer, "incidents.view_errorevent"):
        return counts
    rows = (
        ErrorEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
        .values_list("error_class", "component")
        .annotate(count=Count("id"))
        .order_by()
    )
    by_class, by_component = Counter(), Counter()
    for error_class, component, count in rows:
        by_class[error_class] += count
        by_component[component] += count
        counts.total += count
    counts.by_class = by_class.most_common()
    counts.by_component = by_component.most_common()
    with connection.cursor() as cursor:
        cursor.execute(
            ERROR_SERIES, {"bucket": bucket, "origin": since, "since": since, "until": until}
        )
        per_bucket = dict(cursor.fetchall())
    steps = int(span / bucket)
    counts.series = [
        (since + bucket * step, per_bucket.get(since + bucket * step, 0)) for step in range(steps)
    ]
    return counts


@dataclass
class ResponseTimes:
    days: int
    mtta: timedelta | None
    mttr: timedelta | None
    acknowledged: int
    resolved: int


def response_times(*, viewer, now=None) -> list[ResponseTimes]:
    """MTTA over incidents opened, and MTTR over incidents resolved, in the last 7 and 30 days —
    plain averages of the stored durations, one query."""
    if not _may_read(viewer, "incidents.view_incident"):
        return []
    now = now or timezone.now()
    aggregates = {}
    for days in (7, 30):
        opened = Q(opened_at__gte=now - timedelta(days=days))
        resolved = Q(resolved_at__gte=now - timedelta(days=days))
        acknowledged = opened & Q(time_to_acknowledge__isnull=False)
        aggregates |= {
            f"mtta_{days}": Avg("time_to_acknowledge", filter=opened),
            f"mttr_{days}": Avg("time_to_resolve", filter=resolved),
            f"acknowledged_{days}": Count("id", filter=acknowledged),
            f"resolved_{days}": Count("id", filter=resolved),
        }
    since = now - timedelta(days=30)
    values = Incident.objects.filter(Q(opened_at__gte=since) | Q(resolved_at__gte=since)).aggregate(
        **aggregates
    )
    return [
        ResponseTimes(
            days=days,
            mtta=values[f"mtta_{days}"],
            mttr=values[f"mttr_{days}"],
            acknowledged=values[f"acknowledged_{days}"],
            resolved=values[f"resolved_{days}"],
        )
        for days in (7, 30)
    ]


DAILY_RESOLUTION = """
SELECT day, coalesce(opened.count, 0), coalesce(resolved.count, 0), resolved.mttr_hours
FROM generate_series(date_trunc('day', %(since)s::timestamptz),
                     date_trunc('day', %(now)s::timestamptz), interval '1 day') AS day
LEFT JOIN (SELECT date_trunc('day', opened_at) AS day, count(*) FROM incidents_incident
           WHERE opened_at >= %(since)s GROUP BY 1) AS opened USING (day)
LEFT JOIN (SELECT date_trunc('day', resolved_at) AS day, count(*),
                  avg(extract(epoch FROM time_to_resolve)) / 3600 AS mttr_hours
           FROM incidents_incident WHERE resolved_at >= %(since)s GROUP BY 1) AS resolved
     USING (day)
ORDER BY day
"""


def daily_resolution(*, viewer, days: int = 30, now=None) -> list[tuple]:
    """Per day of the last `days`: incidents opened, resolved, and the day's MTTR in hours."""
    if not _may_read(viewer, "incidents.view_incident"):
        return []
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(DAILY_RESOLUTION, {"since": now - timedelta(days=days - 1), "now": now})
        return cursor.fetchall()


# --- Patterns ------------------------------------------------------------------------------------

PATTERN_INCIDENT_COLUMNS = ("id", "title", "severity", "status", "component")


def pattern_list(*, viewer) -> QuerySet[Pattern]:
    """Patterns, newest first, each with its incidents (two queries per page)."""
    if not _may_read(viewer, "incidents.view_pattern"):
        return Pattern.objects.none()
    incidents = Incident.objects.only(*PATTERN_INCIDENT_COLUMNS).order_by("-last_seen_at")
    return Pattern.objects.prefetch_related(Prefetch("incidents", queryset=incidents))


# --- For compensation: the users an incident hurt, in the order they were attached (a job keeps a
# watermark on the id), with the incident facts a compensation policy is matched against.


def affected_users_after(*, after_id: int, limit: int) -> list[AffectedUser]:
    """Affected users attached after `after_id`, oldest first, each with its incident."""
    return list(
        AffectedUser.objects.filter(id__gt=after_id)
        .select_related("incident")
        .order_by("id")[:limit]
    )


def affected_user_get(*, incident_id: int, user_ref: str) -> AffectedUser | None:
    return AffectedUser.objects.filter(incident_id=incident_id, user_ref=user_ref).first()


def incident_by_pk(*, pk: int) -> Incident | None:
    """An incident a platform service refers to by id (no viewer: services see every incident)."""
    return Incident.objects.filter(pk=pk).first()


# --- For the founder's tenant page.


def tenant_incident_list(*, tenant: Tenant) -> QuerySet[Incident]:
    """The incidents that touched the tenant, most recently seen first."""
    return Incident.objects.filter(tenant_links__tenant=tenant).order_by("-last_seen_at", "-id")
