"""The founder API: founder actions (people) and enforcement (platform services).

The enforcement endpoints are the platform's hot path: the tenant answer costs one PostgreSQL
round trip (the API key, with the tenant's stamp in the same query) and a cache read.
"""

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from founder import enforcement, selectors
from founder.filters import FounderActionFilter
from founder.models import (
    TENANT_ACTIONS,
    ActionType,
    FounderAction,
    OverrideKind,
    ReasonCode,
)
from founder.operations import (
    founder_action_reverse,
    founder_incident_override,
    tenant_freeze,
    tenant_throttle,
)
from founder.rules import ACTIVE, FROZEN, THROTTLED
from incidents.models import Severity
from incidents.selectors import incident_by_pk
from opsconsole.api import result_response
from opsconsole.apikeys import KEYWORD, hash_key, note_use
from opsconsole.idempotency import idempotent
from opsconsole.models import Tenant
from opsconsole.registry import Actor

VIEW_PERMISSION = "founder.view_founderaction"
NO_STORE = {"Cache-Control": "no-store"}
OPERATIONS = {
    ActionType.FREEZE: tenant_freeze,
    ActionType.THROTTLE: tenant_throttle,
    ActionType.OVERRIDE: founder_incident_override,
}


# --- Shapes ---------------------------------------------------------------------------------------


class EnforcementSerializer(serializers.Serializer):
    tenant = serializers.CharField(help_text="The tenant's ref, e.g. TEN-42.")
    state = serializers.ChoiceField(choices=[ACTIVE, THROTTLED, FROZEN])
    throttle_rpm = serializers.IntegerField(
        allow_null=True, help_text="Requests per minute allowed while throttled."
    )
    until = serializers.DateTimeField(
        allow_null=True,
        help_text="When the governing action expires; the state may change then — ask again "
        "(or follow the change feed). Null: until reversed.",
    )
    reason_code = serializers.CharField(allow_null=True)
    action_id = serializers.IntegerField(allow_null=True, help_text="The governing action.")
    version = serializers.IntegerField(help_text="Version of the tenant's last change.")


class OverrideSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=OverrideKind.choices)
    severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, help_text="The severity to force (kind severity)."
    )

    def validate(self, data: dict) -> dict:
        forcing = data["kind"] == OverrideKind.SEVERITY
        if forcing and "severity" not in data:
            raise serializers.ValidationError({"severity": ["Required to force the severity."]})
        if not forcing and "severity" in data:
            raise serializers.ValidationError({"severity": ["Only with kind severity."]})
        return data


class FounderActionSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="ref", read_only=True)
    override = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by_label", read_only=True)
    reversed_by = serializers.CharField(source="reversed_by_label", read_only=True)

    class Meta:
        model = FounderAction
        fields = [
            "id",
            "type",
            "status",
            "tenant",
            "incident",
            "reason_code",
            "reason",
            "throttle_rpm",
            "override",
            "created_by",
            "created_at",
            "expires_at",
            "ended_at",
            "reversed_by",
            "reversal_reason",
        ]

    @extend_schema_field(OverrideSerializer(allow_null=True))
    def get_override(self, action: FounderAction) -> dict | None:
        if action.type != ActionType.OVERRIDE:
            return None
        override = {"kind": action.override_kind}
        if action.override_severity:
            override["severity"] = action.override_severity
        return override


class FounderActionResultSerializer(FounderActionSerializer):
    enforcement = EnforcementSerializer(
        allow_null=True, help_text="For tenant actions: the tenant's enforcement after the change."
    )

    class Meta(FounderActionSerializer.Meta):
        fields = [*FounderActionSerializer.Meta.fields, "enforcement"]


def action_result(action: FounderAction) -> dict:
    action.enforcement = (
        enforcement.answer(enforcement.load_snapshot(action.tenant.ref))
        if action.tenant_id
        else None
    )
    return FounderActionResultSerializer(action).data


class FounderActionRequestSerializer(serializers.Serializer):
    """FounderActionRequestDTO: one of the three actions, naming what it acts on."""

    type = serializers.ChoiceField(choices=ActionType.choices)
    tenant = serializers.CharField(
        required=False, help_text="Ref of the tenant (freeze, throttle)."
    )
    incident = serializers.IntegerField(required=False, help_text="Id of the incident (override).")
    reason_code = serializers.ChoiceField(choices=ReasonCode.choices)
    reason = serializers.CharField(help_text="Why, in at least 10 characters.")
    duration_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Expires by itself after this many minutes: 5 to 129,600 (90 days). "
        "Omit: until reversed.",
    )
    throttle_rpm = serializers.IntegerField(
        required=False, allow_null=True, help_text="Requests per minute, 1 to 1,000,000 (throttle)."
    )
    override = OverrideSerializer(required=False, allow_null=True)

    def validate(self, data: dict) -> dict:
        kind = data["type"]
        wanted = {
            "tenant": kind in TENANT_ACTIONS,
            "incident": kind == ActionType.OVERRIDE,
            "throttle_rpm": kind == ActionType.THROTTLE,
            "override": kind == ActionType.OVERRIDE,
        }
        errors = {}
        for field, needed in wanted.items():
            present = data.get(field) is not None
            if needed and not present:
                errors[field] = [f"Required for {kind}."]
            elif present and not needed:
                errors[field] = [f"Does not apply to {kind}."]
        if errors:
            raise serializers.ValidationError(errors)
        if kind in TENANT_ACTIONS:
            data["tenant"] = self._tenant(data["tenant"])
        else:
            data["incident"] = self._incident(data["incident"])
        return data

    def _tenant(self, ref: str) -> Tenant:
        tenant = selectors.tenant_get(ref=ref)
        if tenant is None:
            raise serializers.ValidationError({"tenant": [f"No tenant {ref}."]})
        return tenant

    def _incident(self, pk: int):
        incident = incident_by_pk(pk=pk)
        if incident is None:
            raise serializers.ValidationError({"incident": [f"No incident #{pk}."]})
        return incident


def operation_arguments(data: dict) -> dict:
    """The validated request as keyword arguments of the action's operation."""
    arguments = {
        "reason_code": data["reason_code"],
        "reason": data["reason"],
        "duration_minutes": data.get("duration_minutes"),
    }
    if data["type"] in TENANT_ACTIONS:
        arguments["tenant"] = data["tenant"]
    else:
        arguments["incident"] = data["incident"]
        arguments["override_kind"] = data["override"]["kind"]
        arguments["severity"] = data["override"].get("severity", "")
    if data["type"] == ActionType.THROTTLE:
        arguments["throttle_rpm"] = data["throttle_rpm"]
    return arguments


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why, in at least 10 characters.")


# --- Founder actions ------------------------------------------------------------------------------


class FounderActionListApi(ListAPIView):
    """GET: the founder actions log, filtered. POST: take an action (founders)."""

    required_permission = VIEW_PERMISSION
    serializer_class = FounderActionSerializer
    filterset_class = FounderActionFilter
    ordering = ("-id",)

    def get_queryset(self):
        return selectors.action_list()

    def check_permissions(self, request) -> None:
        super().check_permissions(request)
        if request.method == "POST" and not any(
            request.user.has_perm(call.spec.permission) for call in OPERATIONS.values()
        ):
            self.permission_denied(request, message="Only founders take founder actions.")

    @extend_schema(summary="The founder actions log")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Freeze or throttle a tenant, or override an incident",
        request=FounderActionRequestSerializer,
        responses={201: FounderActionResultSerializer},
    )
    @idempotent
    def post(self, request):
        serializer = FounderActionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        call = OPERATIONS[data["type"]]
        result = call(actor=Actor.for_request(request), **operation_arguments(data))
        return result_response(result, action_result, status_code=201)


class FounderActionDetailApi(APIView):
    required_permission = VIEW_PERMISSION

    @extend_schema(summary="One founder action", responses={200: FounderActionSerializer})
    def get(self, request, pk: int):
        return Response(FounderActionSerializer(_action_or_404(pk)).data)


class FounderActionReverseApi(APIView):
    required_permission = "founder.reverse_founderaction"

    @extend_schema(
        summary="Reverse an active founder action",
        request=ReverseSerializer,
        responses={200: FounderActionResultSerializer},
    )
    @idempotent
    def post(self, request, pk: int):
        action = _action_or_404(pk)
        serializer = ReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = founder_action_reverse(
            actor=Actor.for_request(request), action=action, **serializer.validated_data
        )
        return result_response(result, action_result)


def _action_or_404(pk: int) -> FounderAction:
    action = selectors.action_get(pk=pk)
    if action is None:
        raise exceptions.NotFound(f"No founder action #{pk}.")
    return action


# --- Enforcement ----------------------------------------------------------------------------------


class EnforcementTenantApi(APIView):
    required_scope = "enforcement:read"
    required_permission = VIEW_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        """The platform's hot path: a valid key with the scope, asking about a known tenant, is
        answered after one query (the key and the tenant's stamp) and a cache read, without
        DRF's request machinery, which would cost more than the answer. Everything else —
        people, missing or bad keys, unknown tenants — takes the full path below, with its
        errors in the API's shape."""
        header = request.headers.get("Authorization", "")
        if header.startswith(f"{KEYWORD} "):
            raw = header[len(KEYWORD) + 1 :]
            api_key, current = enforcement.key_and_stamp(hash_key(raw), kwargs["ref"])
            if (
                api_key is not None
                and current is not None
                and self.required_scope in api_key.scopes
            ):
                note_use(api_key)
                found = enforcement.tenant_enforcement(kwargs["ref"], current=current)
                return HttpResponse(
                    json.dumps(found), content_type="application/json", headers=NO_STORE
                )
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        summary="What the platform must enforce for a tenant now",
        responses={200: EnforcementSerializer},
    )
    def get(self, request, ref: str):
        current = enforcement.committed_stamp(ref)
        if current is None:
            raise exceptions.NotFound(f"No tenant {ref}.")
        return Response(enforcement.tenant_enforcement(ref, current=current), headers=NO_STORE)


MAX_CHANGES = 1000


class ChangesQuerySerializer(serializers.Serializer):
    since = serializers.IntegerField(
        min_value=0, default=0, help_text="The `version` of your last answer; 0 for everything."
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_CHANGES, default=500)


class ChangesSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Send it as `since` next time.")
    changes = EnforcementSerializer(many=True)
    has_more = serializers.BooleanField(help_text="More changes wait: ask again at once.")


class EnforcementChangesApi(APIView):
    required_scope = "enforcement:read"
    required_permission = VIEW_PERMISSION

    @extend_schema(
        summary="Tenants whose enforcement changed since a version",
        description="Poll once a second with the last `version` you saw; each changed tenant "
        "comes once, with its state now. A tenant never listed is active.",
        parameters=[
            OpenApiParameter("since", int, description="Last version seen (default 0)."),
            OpenApiParameter("limit", int, description=f"At most this many (1 to {MAX_CHANGES})."),
        ],
        responses={200: ChangesSerializer},
    )
    def get(self, request):
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, limit = query.validated_data["since"], query.validated_data["limit"]
        changes = enforcement.changes_since(since, limit=limit + 1)
        body = {
            "version": changes[:limit][-1]["version"] if changes else since,
            "changes": changes[:limit],
            "has_more": len(changes) > limit,
        }
        return Response(body, headers=NO_STORE)
