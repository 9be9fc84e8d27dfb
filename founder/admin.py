"""Founder actions in the admin: to look things up. Taking, reversing and expiring actions are
operations (the tenant's enforcement, its version and the outbox move with them), so the admin
shows them read-only."""

from django.contrib import admin

from founder.models import FounderAction


@admin.register(FounderAction)
class FounderActionAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "status", "tenant", "incident", "reason_code", "created_at"]
    list_filter = ["type", "status", "reason_code"]
    search_fields = ["tenant__ref", "tenant__name", "reason", "created_by_label"]
    list_select_related = ["tenant", "incident"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
