"""Admin for data fixes. Policies, limits, budgets and rates save through their operations, so an
edited policy becomes a new version here too; proposals and issuances are records to read."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from compensation.models import (
    ApprovalLimit,
    Budget,
    CompensationPolicy,
    CompensationProposal,
    ExchangeRate,
    FraudFlag,
    Issuance,
)
from compensation.operations import (
    approval_limit_set,
    budget_set,
    exchange_rate_set,
    policy_save,
)
from compensation.operations.settings import POLICY_FIELDS
from opsconsole.admin import ReadOnlyAdmin
from opsconsole.registry import Actor


class ThroughOperation(admin.ModelAdmin):
    """Saves call `self.save_through(request, obj, change)`, an operation; refusals are shown."""

    def save_model(self, request, obj, form, change):
        result = self.save_through(Actor.for_request(request), obj, form, change)
        if not result.ok:
            messages.error(request, result.error.message)
            raise ValidationError(result.error.message)
        obj.pk = result.value.pk

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CompensationPolicy)
class CompensationPolicyAdmin(ThroughOperation):
    list_display = ("name", "version", "is_current", "is_active", "channel", "value_type", "value")
    list_filter = ("is_current", "is_active", "channel")
    search_fields = ("name", "key")
    readonly_fields = ("key", "version", "is_current", "created_by", "created_at")

    def save_through(self, actor, obj, form, change):
        fields = {name: getattr(obj, name) for name in POLICY_FIELDS}
        previous = CompensationPolicy.objects.get(pk=obj.pk) if change else None
        return policy_save(actor=actor, fields=fields, previous=previous)


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(ThroughOperation):
    list_display = ("role", "max_eur", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def save_through(self, actor, obj, form, change):
        return approval_limit_set(actor=actor, role=obj.role, max_eur=obj.max_eur)


@admin.register(Budget)
class BudgetAdmin(ThroughOperation):
    list_display = ("market", "month", "amount_eur", "used_eur", "updated_by")
    list_filter = ("month",)
    search_fields = ("market",)
    readonly_fields = ("used_eur", "updated_by", "updated_at")

    def save_through(self, actor, obj, form, change):
        return budget_set(
            actor=actor, market=obj.market, month=obj.month, amount_eur=obj.amount_eur
        )


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ThroughOperation):
    list_display = ("currency", "eur_per_unit", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def save_through(self, actor, obj, form, change):
        return exchange_rate_set(actor=actor, currency=obj.currency, eur_per_unit=obj.eur_per_unit)


@admin.register(FraudFlag)
class FraudFlagAdmin(admin.ModelAdmin):
    list_display = ("user_ref", "reason", "source", "raised_at", "cleared_at")
    list_filter = ("source",)
    search_fields = ("user_ref",)


class IssuanceInline(admin.TabularInline):
    model = Issuance
    extra = 0
    can_delete = False
    readonly_fields = [field.name for field in Issuance._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CompensationProposal)
class CompensationProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "user_ref", "incident", "status", "amount", "currency", "amount_eur")
    list_filter = ("status", "proposed_channel", "market")
    search_fields = ("user_ref",)
    inlines = [IssuanceInline]
    show_full_result_count = False
