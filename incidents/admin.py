"""Admin for data fixes on incidents. Components are edited here; incidents' lifecycle moves only
through the operations (the admin actions call them); events, counters, timelines and patterns
are records to read."""

from django.contrib import admin

from incidents.models import (
    AffectedUser,
    Component,
    ErrorEvent,
    Incident,
    IncidentTenant,
    Pattern,
    TimelineEntry,
)
from incidents.operations import incident_acknowledge
from opsconsole.admin import ReadOnlyAdmin, run_for_each


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("name", "criticality", "upstream", "description")
    list_filter = ("criticality",)
    search_fields = ("name", "description")
    autocomplete_fields = ("upstream",)


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor_label", "message")
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "status",
        "severity",
        "category",
        "component",
        "event_count",
        "tenant_count",
        "last_seen_at",
    )
    list_filter = ("status", "severity", "category", "source")
    search_fields = ("title", "component", "fingerprint")
    list_select_related = ("assignee",)
    show_full_result_count = False
    ordering = ("-last_seen_at", "-id")
    inlines = [TimelineInline]
    # Status, severity and the counters belong to the operations and ingestion; title, category
    # and context are the fixes a person may make by hand (kept in history).
    readonly_fields = (
        "fingerprint",
        "status",
        "severity",
        "severity_forced",
        "source",
        "error_class",
        "event_count",
        "tenant_count",
        "first_seen_at",
        "last_seen_at",
        "assignee",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "resolution_note",
        "time_to_acknowledge",
        "time_to_resolve",
        "suppressed_until",
        "regression_count",
        "opened_at",
        "updated_at",
    )
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Acknowledge the selected incidents")
    def acknowledge(self, request, queryset):
        run_for_each(self, request, queryset, incident_acknowledge, "incident", "acknowledged")


@admin.register(ErrorEvent)
class ErrorEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "error_class", "component", "source", "tenant", "incident_id")
    list_filter = ("source", "severity_hint")
    search_fields = ("=event_id", "error_class", "component")
    list_select_related = ("tenant",)
    show_full_result_count = False
    raw_id_fields = ("incident", "tenant")


@admin.register(IncidentTenant)
class IncidentTenantAdmin(ReadOnlyAdmin):
    list_display = ("incident_id", "tenant", "event_count", "first_seen_at", "last_seen_at")
    list_select_related = ("tenant",)
    search_fields = ("=tenant__ref",)
    show_full_result_count = False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "incident_id", "kind", "actor_label", "message")
    list_filter = ("kind",)
    search_fields = ("=incident__id", "actor_label")
    show_full_result_count = False


@admin.register(AffectedUser)
class AffectedUserAdmin(admin.ModelAdmin):
    list_display = ("user_ref", "incident_id", "tenant", "order_amount", "currency", "source")
    list_filter = ("source",)
    search_fields = ("user_ref", "=incident__id")
    raw_id_fields = ("incident", "tenant")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # attached through incidents.attach_affected_users


@admin.register(Pattern)
class PatternAdmin(ReadOnlyAdmin):
    list_display = ("window_end", "kind", "key", "title", "confidence", "incident_count")
    list_filter = ("kind",)
    search_fields = ("key", "title")
    raw_id_fields = ("incidents",)
