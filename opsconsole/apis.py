"""The kernel's API: tenants' reference data, sent by the platform."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from opsconsole.api import result_response, validate_batch
from opsconsole.idempotency import idempotent
from opsconsole.models import Plan, Segment, market_validator, tenant_ref_validator
from opsconsole.operations import tenants_upsert
from opsconsole.registry import Actor

MAX_TENANTS = 1000


class TenantInSerializer(serializers.Serializer):
    ref = serializers.CharField(max_length=24, validators=[tenant_ref_validator])
    name = serializers.CharField(max_length=200)
    segment = serializers.ChoiceField(choices=Segment.choices)
    plan = serializers.ChoiceField(choices=Plan.choices)
    market = serializers.CharField(max_length=6, validators=[market_validator])
    mrr = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    created_at = serializers.DateTimeField()


class TenantBatchSerializer(serializers.Serializer):
    tenants = TenantInSerializer(many=True, help_text=f"At most {MAX_TENANTS}.")


class RejectedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TenantBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = RejectedItemSerializer(many=True)


class TenantUpsertApi(APIView):
    required_scope = "tenants:write"
    required_permission = "opsconsole.add_tenant"

    @extend_schema(
        request=TenantBatchSerializer,
        responses={200: TenantBatchResultSerializer},
        summary="Create or update tenants by ref",
        description="Valid tenants are stored even when others in the batch are rejected; "
        "each rejection names its index and fields.",
    )
    @idempotent
    def post(self, request):
        valid, rejected = validate_batch(
            request.data, key="tenants", item_serializer=TenantInSerializer, max_items=MAX_TENANTS
        )
        if not valid:
            return Response({"accepted": 0, "rejected": rejected})
        result = tenants_upsert(
            actor=Actor.for_request(request), tenants=[item for _, item in valid]
        )
        return result_response(result, lambda count: {"accepted": count, "rejected": rejected})
