"""Filter sets shared by the HTML pages and the API lists."""

import django_filters

from founder.models import ActionStatus, ActionType, FounderAction, ReasonCode
from founder.rules import ACTIVE, FROZEN, THROTTLED
from founder.selectors import tenants_in_state
from opsconsole.models import Segment, Tenant

STATES = [(ACTIVE, "Active"), (THROTTLED, "Throttled"), (FROZEN, "Frozen")]


class TenantFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.ChoiceFilter(choices=STATES, method="in_state", empty_label="Any state")
    segment = django_filters.ChoiceFilter(choices=Segment.choices, empty_label="Any segment")
    market = django_filters.CharFilter(
        field_name="market", lookup_expr="istartswith", label="Market"
    )

    class Meta:
        model = Tenant
        fields = ["q", "state", "segment", "market"]

    def search(self, queryset, name, value):
        return queryset.search(value)

    def in_state(self, queryset, name, value):
        return tenants_in_state(queryset, value)


class FounderActionFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=ActionType.choices, empty_label="Any action")
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices, empty_label="Any status")
    reason_code = django_filters.ChoiceFilter(choices=ReasonCode.choices, empty_label="Any reason")
    tenant = django_filters.CharFilter(field_name="tenant__ref", lookup_expr="iexact")
    incident = django_filters.NumberFilter(field_name="incident_id", min_value=1)
    by = django_filters.CharFilter(field_name="created_by_label", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = FounderAction
        fields = [
            "type",
            "status",
            "reason_code",
            "tenant",
            "incident",
            "by",
            "created_after",
            "created_before",
        ]
