"""The compensation API: proposals for Customer Care tools, decisions for people, results from
Trutta and Billing. Each view parses, calls one operation or selector, and answers."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compensation.filters import ProposalFilter
from compensation.models import Channel, CompensationProposal, IssueStatus, ValueType
from compensation.operations import (
    fraud_flag_raise,
    issue_result_record,
    proposal_approve,
    proposal_create,
    proposal_reject,
)
from compensation.selectors import proposal_list
from incidents.selectors import incident_by_pk
from opsconsole.api import result_response
from opsconsole.idempotency import idempotent
from opsconsole.models import User
from opsconsole.registry import Actor

VIEW = "compensation.view_compensationproposal"
DECIDE = "compensation.approve_compensationproposal"


# --- Out -----------------------------------------------------------------------------------------


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()


class ProposedValueSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ValueType.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    cap = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, allow_null=True, required=False
    )
    currency = serializers.CharField(max_length=3, default="EUR")


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    result = serializers.ChoiceField(choices=["pass", "flag", "fail", "pending"])
    detail = serializers.CharField()
    at = serializers.DateTimeField()


class IssuanceSerializer(serializers.Serializer):
    channel = serializers.CharField()
    attempt = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    event_id = serializers.UUIDField(help_text="The outbox event that carried it: dedupe on it.")
    external_reference = serializers.CharField()


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField()
    status = serializers.CharField()
    incident_id = serializers.IntegerField()
    user_id = serializers.CharField(source="user_ref")
    tenant_id = serializers.SerializerMethodField()
    product = serializers.CharField()
    product_version_id = serializers.CharField(source="product_version")
    vendor_id = serializers.CharField(source="vendor")
    market = serializers.CharField()
    fault = serializers.CharField()
    incident_category = serializers.CharField()
    incident_severity = serializers.CharField()
    order = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField()
    proposed_channel = serializers.CharField()
    proposed_value = ProposedValueSerializer()
    amount = MoneySerializer(source="*", help_text="In the currency of the order.")
    amount_eur = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    requires_approval = serializers.BooleanField()
    required_role = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField())
    checks = CheckSerializer(many=True)
    proposed_by = serializers.CharField(source="proposed_by_label")
    decided_by = serializers.CharField(source="decided_by_label")
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    issuances = IssuanceSerializer(many=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_tenant_id(self, proposal) -> str | None:
        return proposal.tenant.ref if proposal.tenant_id else None

    def get_order(self, proposal) -> dict:
        return {"amount": proposal.order_amount, "currency": proposal.order_currency}

    def get_policy(self, proposal) -> dict | None:
        policy = proposal.policy
        if policy is None:
            return None
        return {"id": policy.pk, "key": policy.key, "version": policy.version, "name": policy.name}


def render(proposal: CompensationProposal) -> dict:
    return ProposalSerializer(proposal).data


def reread(proposal: CompensationProposal) -> dict:
    """The proposal as stored after an operation, with its issuances."""
    return render(proposal_list().get(pk=proposal.pk))


# --- Reads ---------------------------------------------------------------------------------------


class ProposalListApi(generics.ListAPIView):
    required_permission = VIEW
    required_scope = "compensation:read"
    serializer_class = ProposalSerializer
    filterset_class = ProposalFilter
    ordering = ("-id",)

    def get_queryset(self):
        return proposal_list(viewer=self.request.user)

    @extend_schema(summary="List compensation proposals, newest first, with filters")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProposalDetailApi(APIView):
    required_permission = VIEW
    required_scope = "compensation:read"

    @extend_schema(responses={200: ProposalSerializer}, summary="One proposal with its checks")
    def get(self, request, pk: int):
        proposal = get_object_or_404(proposal_list(viewer=request.user), pk=pk)
        return Response(render(proposal))


# --- Writes --------------------------------------------------------------------------------------


class ProposalCreateSerializer(serializers.Serializer):
    incident_id = serializers.IntegerField()
    user_id = serializers.CharField(max_length=64)
    order_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    order_currency = serializers.CharField(max_length=3, required=False, default="")
    product = serializers.CharField(max_length=100, required=False, default="")
    product_version_id = serializers.CharField(max_length=100, required=False, default="")
    market = serializers.CharField(max_length=6, required=False, default="")
    vendor_id = serializers.CharField(max_length=100, required=False, default="")
    proposed_channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    proposed_value = ProposedValueSerializer(required=False)
    reason_code = serializers.CharField(max_length=40, required=False, default="")
    note = serializers.CharField(max_length=2000, required=False, default="")
    proposed_by = serializers.CharField(
        max_length=150,
        required=False,
        default="",
        help_text="For a care tool's key: the console username of the person proposing, so "
        "that person cannot also approve it.",
    )

    def validate(self, data):
        if ("proposed_value" in data) != ("proposed_channel" in data):
            raise serializers.ValidationError(
                {"proposed_value": ["Give proposed_channel and proposed_value together."]}
            )
        return data


class ProposalCreateApi(APIView):
    required_permission = "compensation.add_compensationproposal"
    required_scope = "compensation:write"

    @extend_schema(
        request=ProposalCreateSerializer,
        responses={201: ProposalSerializer},
        summary="Propose a compensation for one user of an incident",
        description="Without proposed_channel and proposed_value the matching policy decides "
        "them (seed PD-010 §4.2). One proposal per incident and user: a second is a 409.",
    )
    @idempotent
    def post(self, request):
        body = ProposalCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        incident = incident_by_pk(pk=data["incident_id"])
        if incident is None:
            raise serializers.ValidationError({"incident_id": ["No such incident."]})
        proposer = None
        if data["proposed_by"]:
            proposer = User.objects.filter(username=data["proposed_by"]).first()
            if proposer is None:
                raise serializers.ValidationError({"proposed_by": ["No such console user."]})
        value = data.get("proposed_value")
        result = proposal_create(
            actor=Actor.for_request(request),
            incident=incident,
            user_ref=data["user_id"],
            order_amount=data.get("order_amount"),
            order_currency=data["order_currency"],
            product=data["product"],
            product_version=data["product_version_id"],
            market=data["market"],
            vendor=data["vendor_id"],
            proposed_channel=data.get("proposed_channel", ""),
            proposed_value=dict(value) if value else None,
            reason_code=data["reason_code"],
            note=data["note"],
            proposed_by=proposer,
        )
        return result_response(result, reread, status_code=201)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ProposalApproveApi(APIView):
    required_permission = DECIDE
    required_scope = None  # people approve, never services

    @extend_schema(
        request=NoteSerializer,
        responses={200: ProposalSerializer},
        summary="Approve within your limit (four eyes, budget reserved)",
    )
    @idempotent
    def post(self, request, pk: int):
        proposal = get_object_or_404(proposal_list(viewer=request.user), pk=pk)
        body = NoteSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        result = proposal_approve(
            actor=Actor.for_request(request), proposal=proposal, note=body.validated_data["note"]
        )
        return result_response(result, reread)


class ProposalRejectApi(APIView):
    required_permission = DECIDE
    required_scope = None

    @extend_schema(
        request=ReasonSerializer, responses={200: ProposalSerializer}, summary="Reject, saying why"
    )
    @idempotent
    def post(self, request, pk: int):
        proposal = get_object_or_404(proposal_list(viewer=request.user), pk=pk)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = proposal_reject(
            actor=Actor.for_request(request),
            proposal=proposal,
            reason=body.validated_data["reason"],
        )
        return result_response(result, reread)


class ResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IssueStatus.choices[1:])
    external_reference = serializers.CharField(max_length=120, required=False, default="")
    channel = serializers.ChoiceField(
        choices=[Channel.TRUTTA_TOKEN, Channel.REFUND],
        required=False,
        default="",
        help_text="Which rail, for a mixed compensation.",
    )
    event_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="The event the request came in."
    )
    message = serializers.CharField(max_length=500, required=False, default="")


class ProposalResultApi(APIView):
    required_permission = "compensation.record_issue_result"
    required_scope = "compensation:write"

    @extend_schema(
        request=ResultSerializer,
        responses={200: ProposalSerializer},
        summary="Report what Trutta or Billing did: issued or failed",
        description="Sending the same result again answers the same and changes nothing.",
    )
    @idempotent
    def post(self, request, pk: int):
        proposal = get_object_or_404(proposal_list(viewer=request.user), pk=pk)
        body = ResultSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = issue_result_record(
            actor=Actor.for_request(request),
            proposal=proposal,
            status=data["status"],
            external_reference=data["external_reference"],
            channel=data["channel"],
            event_id=str(data.get("event_id") or ""),
            message=data["message"],
        )
        return result_response(result, reread)


class FraudFlagSerializer(serializers.Serializer):
    user_id = serializers.CharField(max_length=64)
    reason = serializers.CharField(max_length=300)
    source = serializers.CharField(max_length=40, required=False, default="")


class FraudFlagOutSerializer(serializers.Serializer):
    user_id = serializers.CharField(source="user_ref")
    reason = serializers.CharField()
    source = serializers.CharField()
    raised_at = serializers.DateTimeField()


class FraudFlagRaiseApi(APIView):
    required_permission = "compensation.change_fraudflag"
    required_scope = "compensation:write"

    @extend_schema(
        request=FraudFlagSerializer,
        responses={200: FraudFlagOutSerializer},
        summary="Flag a user suspected of abuse (Trutta); the open flag is returned if one exists",
    )
    @idempotent
    def post(self, request):
        body = FraudFlagSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = fraud_flag_raise(
            actor=Actor.for_request(request),
            user_ref=data["user_id"],
            reason=data["reason"],
            source=data["source"],
        )
        return result_response(result, lambda flag: FraudFlagOutSerializer(flag).data)
