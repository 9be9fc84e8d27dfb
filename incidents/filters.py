"""The incidents list's filters: one FilterSet for the HTML list and GET /api/v1/incidents."""

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from incidents.models import (
    ACTIVE_STATUSES,
    Category,
    Incident,
    IncidentTenant,
    Pattern,
    PatternKind,
    Severity,
    Source,
    Status,
)

SEEN_WITHIN = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
SEEN_WITHIN["30d"] = timedelta(days=30)


class IncidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_text",
        label="Search",
        help_text="Words in the title (trigram index), or #id.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search titles or #id"}),
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=[("active", "Active (not resolved)"), *Status.choices],
        empty_label="Any status",
        help_text="`active` is every status but resolved.",
    )
    severity = django_filters.MultipleChoiceFilter(
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Repeat for several: severity=high&severity=critical.",
    )
    category = django_filters.ChoiceFilter(choices=Category.choices, empty_label="Any category")
    component = django_filters.CharFilter(
        lookup_expr="iexact", widget=forms.TextInput(attrs={"placeholder": "Component"})
    )
    tenant = django_filters.CharFilter(
        method="filter_tenant",
        label="Tenant",
        help_text="A tenant ref (TEN-123): incidents that touched this tenant.",
        widget=forms.TextInput(attrs={"placeholder": "Tenant ref"}),
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, empty_label="Any source")
    seen = django_filters.ChoiceFilter(
        method="filter_seen",
        label="Seen within",
        choices=[(key, f"Last {key}") for key in SEEN_WITHIN],
        empty_label="Any time",
        help_text="Seen in the last 1h, 24h, 7d or 30d.",
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="last_seen_at",
        lookup_expr="gte",
        label="Seen since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="first_seen_at",
        lookup_expr="lte",
        label="Seen until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    assignee = django_filters.ChoiceFilter(
        method="filter_assignee",
        choices=[("me", "Assigned to me"), ("nobody", "Unassigned")],
        empty_label="Anyone",
    )

    class Meta:
        model = Incident
        fields = [
            "q",
            "status",
            "severity",
            "category",
            "component",
            "tenant",
            "source",
            "seen",
            "since",
            "until",
            "assignee",
        ]

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        text = value.strip()
        if text.startswith("#") and text[1:].isdigit():
            return queryset.filter(pk=int(text[1:]))
        return queryset.filter(title__icontains=text) if text else queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset.filter(status=value)

    def filter_tenant(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        links = IncidentTenant.objects.filter(incident=OuterRef("pk"), tenant__ref=value.strip())
        return queryset.filter(Exists(links))

    def filter_seen(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(last_seen_at__gte=timezone.now() - SEEN_WITHIN[value])

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "nobody":
            return queryset.filter(assignee__isnull=True)
        user = getattr(self.request, "user", None)
        user_id = getattr(user, "pk", None)
        return queryset.filter(assignee_id=user_id) if user_id else queryset.none()


class PatternFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PatternKind.choices, empty_label="Any pattern")
    since = django_filters.IsoDateTimeFilter(
        field_name="window_end",
        lookup_expr="gte",
        label="Seen since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    min_confidence = django_filters.NumberFilter(
        field_name="confidence", lookup_expr="gte", label="Confidence at least"
    )

    class Meta:
        model = Pattern
        fields = ["kind", "since", "min_confidence"]
