"""The proposal filters, shared by the Customer Care queue and `GET /api/v1/compensations`."""

from datetime import timedelta

import django_filters
from django.utils import timezone

from compensation.models import Channel, Flag, Status

AGES = {
    "1h": ("Under an hour", timedelta(hours=1), None),
    "24h": ("Under a day", timedelta(days=1), None),
    "over_24h": ("Over a day", None, timedelta(days=1)),
    "over_72h": ("Over 3 days", None, timedelta(days=3)),
}
FLAG_CHOICES = [*Flag.choices, ("any", "Any flag"), ("none", "No flags")]


class ProposalFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(
        field_name="proposed_channel", choices=Channel.choices, empty_label="Any channel"
    )
    market = django_filters.CharFilter(lookup_expr="iexact", label="Market")
    min_eur = django_filters.NumberFilter(
        field_name="amount_eur", lookup_expr="gte", label="From (EUR)"
    )
    max_eur = django_filters.NumberFilter(
        field_name="amount_eur", lookup_expr="lte", label="To (EUR)"
    )
    age = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _, _) in AGES.items()],
        method="filter_age",
        empty_label="Any age",
    )
    flag = django_filters.ChoiceFilter(
        choices=FLAG_CHOICES, method="filter_flag", empty_label="Flags or not"
    )
    user = django_filters.CharFilter(field_name="user_ref", lookup_expr="iexact", label="User")
    incident = django_filters.NumberFilter(field_name="incident_id", label="Incident")

    def filter_age(self, queryset, name, value):
        _, younger_than, older_than = AGES[value]
        now = timezone.now()
        if younger_than is not None:
            return queryset.filter(created_at__gte=now - younger_than)
        return queryset.filter(created_at__lt=now - older_than)

    def filter_flag(self, queryset, name, value):
        if value == "any":
            return queryset.exclude(flags=[])
        if value == "none":
            return queryset.filter(flags=[])
        return queryset.filter(flags__contains=[value])
