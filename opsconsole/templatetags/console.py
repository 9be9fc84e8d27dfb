"""The console's template vocabulary, available in every template without `{% load %}`.

{% badge incident.severity %}          a coloured label for a status or severity
{% when incident.last_seen_at %}       "4 min ago", with the exact time on hover
{% sparkline values %}                 a small server-side SVG line, no JavaScript
{% history_for incident %}             who changed what and why, from pghistory
"""

from datetime import datetime

from django import template
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

register = template.Library()


@register.simple_tag
def badge(value, label: str = "") -> str:
    """`<span class="badge badge-<value>">`: one colour per status or severity, console-wide."""
    if value in (None, ""):
        return ""
    text = label or str(value).replace("_", " ")
    return format_html('<span class="badge badge-{}">{}</span>', str(value).lower(), text)


@register.simple_tag
def when(moment: datetime | None, empty: str = "—") -> str:
    if moment is None:
        return empty
    now = timezone.now()
    exact = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
    if moment > now:
        relative = f"in {timesince(now, moment, depth=1)}"
    else:
        relative = f"{timesince(moment, now, depth=1)} ago"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, relative
    )


@register.simple_tag
def sparkline(values, width: int = 120, height: int = 28, label: str = "") -> str:
    """A polyline over the values, scaled to the box; an empty box when there is nothing."""
    points = [float(value or 0) for value in (values or [])]
    if len(points) < 2:
        return format_html(
            '<svg class="sparkline" width="{}" height="{}" role="img" aria-label="no data"></svg>',
            width,
            height,
        )
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = (width - 2) / (len(points) - 1)
    coordinates = " ".join(
        f"{1 + index * step:.1f},{height - 2 - (value - low) / span * (height - 4):.1f}"
        for index, value in enumerate(points)
    )
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}"><polyline points="{}"/></svg>',
        width,
        height,
        width,
        height,
        label or f"trend from {points[0]:g} to {points[-1]:g}",
        coordinates,
    )


@register.inclusion_tag("components/history.html")
def history_for(obj, limit: int = 50) -> dict:
    """The row-level history of an object: every insert and update, with who, how and why."""
    from pghistory.models import Events

    events = list(Events.objects.tracks(obj).order_by("-pgh_created_at")[:limit])
    user_ids = {
        event.pgh_context.get("user")
        for event in events
        if event.pgh_context and not event.pgh_context.get("actor")
    } - {None}
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    rows = []
    for event in events:
        context = event.pgh_context or {}
        who = context.get("actor") or usernames.get(context.get("user")) or "database"
        how = context.get("operation") or ("admin" if "/admin/" in context.get("url", "") else "")
        rows.append(
            {
                "at": event.pgh_created_at,
                "label": event.pgh_label,
                "who": who,
                "how": how,
                "reason": context.get("reason", ""),
                "changes": {
                    name: values
                    for name, values in (event.pgh_diff or {}).items()
                    if name not in {"id", "pgh_obj"}
                },
            }
        )
    return {"rows": rows}
