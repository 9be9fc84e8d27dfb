"""Template filters for incident pages: `{% load incidents %}`."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def span(duration: timedelta | None) -> str:
    """A duration as a person says it: "45 s", "7 min", "2 h 5 min", "3 d 4 h"."""
    if duration is None:
        return "—"
    seconds = int(duration.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
