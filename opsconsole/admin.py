"""Admin for data fixes. Plain edits are recorded by pghistory with the admin's user and URL;
business transitions (revoking a key, requeueing a delivery) go through their operations."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from opsconsole.models import (
    ApiKey,
    Delivery,
    DeliveryStatus,
    IdempotencyKey,
    JobRun,
    OperationRecord,
    OutboxEvent,
    RuntimeSwitch,
    Subscriber,
    Tenant,
    User,
)
from opsconsole.operations import api_key_revoke, delivery_requeue
from opsconsole.registry import Actor


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: to read, never to edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def run_for_each(modeladmin, request, queryset, operation, argument: str, done: str) -> None:
    """Call an operation once per selected row and report how many succeeded."""
    actor = Actor.for_request(request)
    results = [operation(actor=actor, **{argument: obj}) for obj in queryset]
    succeeded = sum(result.ok for result in results)
    modeladmin.message_user(request, f"{succeeded} of {len(results)} {done}.", messages.INFO)
    for result in results:
        if not result.ok:
            modeladmin.message_user(request, result.error.message, messages.WARNING)


admin.site.register(User, UserAdmin)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("ref", "name", "segment", "plan", "market", "mrr", "created_at")
    list_filter = ("segment", "plan", "market")
    search_fields = ("ref", "name")
    show_full_result_count = False


@admin.register(RuntimeSwitch)
class RuntimeSwitchAdmin(ReadOnlyAdmin):
    list_display = ("mode", "reason", "changed_by", "changed_at")


@admin.register(OperationRecord)
class OperationRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "operation",
        "actor_label",
        "outcome",
        "error_code",
        "target_repr",
    )
    list_filter = ("outcome", "runtime_mode", "operation")
    search_fields = ("operation", "actor_label", "target_id", "request_id")
    show_full_result_count = False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = (
        "subscriber",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event_type", "aggregate", "operation")
    list_filter = ("event_type",)
    search_fields = ("id", "aggregate")
    inlines = [DeliveryInline]
    show_full_result_count = False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "event_types", "is_active")
    list_filter = ("is_active",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event",
        "subscriber",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
    )
    list_filter = ("status", "subscriber")
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["requeue"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Requeue the selected dead deliveries")
    def requeue(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.filter(status=DeliveryStatus.DEAD),
            delivery_requeue,
            "delivery",
            "requeued",
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ("owner", "key", "status_code", "created_at")
    search_fields = ("owner", "key")


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "name",
        "status",
        "progress_done",
        "progress_total",
        "rows",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_api_key`, which shows the key once."""

    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = (
        "name",
        "prefix",
        "key_hash",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        run_for_each(self, request, queryset.active(), api_key_revoke, "api_key", "revoked")
