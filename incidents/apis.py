"""The incidents API: error events in; incidents, summaries and patterns out; incidents worked.

Reads are open to people who may view incidents and to services with `incidents:read`; error
events come from services with `events:write`; working an incident is for people only.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import selectors, validation
from incidents.filters import IncidentFilter, PatternFilter
from incidents.models import Incident, Pattern, TimelineEntry
from incidents.operations import (
    errors_ingest,
    incident_acknowledge,
    incident_assign,
    incident_note_add,
    incident_reopen,
    incident_resolve,
)
from opsconsole.api import error_response, result_response, validate_batch
from opsconsole.apis import RejectedItemSerializer
from opsconsole.idempotency import idempotent
from opsconsole.models import Tenant, User
from opsconsole.registry import Actor

READ_PERMISSION = "incidents.view_incident"
READ_SCOPE = "incidents:read"

# --- Error events in -----------------------------------------------------------------------------


class ErrorEventContextSerializer(serializers.Serializer):
    product_version = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    market = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    city = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    vendor = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    route = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    journey = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)
    session = serializers.CharField(max_length=validation.MAX_CONTEXT_VALUE, required=False)


class ErrorEventInSerializer(serializers.Serializer):
    """The documented shape of one event; `incidents.validation.check_event` enforces it."""

    event_id = serializers.UUIDField(help_text="The sender's id for the event; replays dedupe.")
    tenant = serializers.CharField(
        max_length=validation.MAX_LENGTHS["tenant"], help_text="Tenant ref, e.g. TEN-123."
    )
    component = serializers.CharField(max_length=validation.MAX_LENGTHS["component"])
    error_class = serializers.CharField(max_length=validation.MAX_LENGTHS["error_class"])
    message = serializers.CharField(max_length=validation.MAX_LENGTHS["message"])
    severity = serializers.ChoiceField(
        choices=validation.SEVERITY_HINTS, required=False, help_text="The sender's own view."
    )
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with a zone; at most the clock skew in the future."
    )
    source = serializers.ChoiceField(choices=validation.SOURCES)
    context = ErrorEventContextSerializer(required=False)
    fingerprint = serializers.CharField(
        max_length=validation.MAX_LENGTHS["fingerprint"],
        required=False,
        help_text="Group by this instead of the normalised message.",
    )


class ErrorEventBatchSerializer(serializers.Serializer):
    events = ErrorEventInSerializer(many=True, help_text=f"At most {validation.MAX_EVENTS}.")


class ErrorEventBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored now.")
    duplicates = serializers.IntegerField(help_text="Events stored before (same event_id).")
    rejected = RejectedItemSerializer(many=True)


class ErrorEventIngestApi(APIView):
    required_scope = "events:write"
    required_permission = "incidents.add_errorevent"

    @extend_schema(
        request=ErrorEventBatchSerializer,
        responses={200: ErrorEventBatchResultSerializer},
        summary="Send error events",
        description="Up to 1000 events. Valid events are stored even when others in the batch "
        "are rejected; each rejection names its index and every offending field. Events are "
        "grouped into incidents by fingerprint; replaying a batch stores nothing new.",
    )
    @idempotent
    def post(self, request):
        clock = validation.Clock.around(timezone.now())
        valid, rejected = validate_batch(
            request.data,
            key="events",
            max_items=validation.MAX_EVENTS,
            check_item=lambda item: validation.check_event(item, clock),
        )
        refs = {clean["tenant"] for _, clean in valid}
        tenant_ids = dict(Tenant.objects.filter(ref__in=refs).values_list("ref", "id"))
        events, unknown = validation.resolve_tenants(valid, tenant_ids)
        rejected = sorted(rejected + unknown, key=lambda item: item["index"])
        if not events:
            return Response({"accepted": 0, "duplicates": 0, "rejected": rejected})
        result = errors_ingest(actor=Actor.for_request(request), events=events)
        return result_response(
            result,
            lambda summary: {
                "accepted": summary.accepted,
                "duplicates": summary.duplicates,
                "rejected": rejected,
            },
        )


# --- Incidents out -------------------------------------------------------------------------------


class IncidentSerializer(serializers.ModelSerializer):
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "status",
            "severity",
            "category",
            "component",
            "error_class",
            "source",
            "event_count",
            "tenant_count",
            "first_seen_at",
            "last_seen_at",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "assignee",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, incident: Incident) -> str:
        return incident.get_absolute_url()


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "actor", "message", "data", "created_at"]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    timeline = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "fingerprint",
            "severity_forced",
            "context",
            "acknowledged_by",
            "resolved_by",
            "resolution_note",
            "time_to_acknowledge",
            "time_to_resolve",
            "suppressed_until",
            "regression_count",
            "timeline",
        ]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, incident: Incident) -> list[dict]:
        entries = selectors.incident_timeline(incident=incident)
        return TimelineEntrySerializer(entries, many=True).data


class IncidentListApi(generics.ListAPIView):
    """Incidents, most recently seen first, with the list page's filters; cursor-paginated."""

    required_permission = READ_PERMISSION
    required_scope = READ_SCOPE
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    ordering = selectors.LIST_ORDERING

    def get_queryset(self):
        return selectors.incident_list(viewer=self.request.user)

    @extend_schema(summary="List incidents")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IncidentDetailApi(generics.RetrieveAPIView):
    required_permission = READ_PERMISSION
    required_scope = READ_SCOPE
    serializer_class = IncidentDetailSerializer

    def get_object(self):
        try:
            return selectors.incident_get(viewer=self.request.user, pk=self.kwargs["pk"])
        except Incident.DoesNotExist as exc:
            raise Http404 from exc

    @extend_schema(summary="One incident with its timeline")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _counts(pairs) -> list[dict]:
    return [{"name": name, "count": count} for name, count in pairs]


def _seconds(duration) -> float | None:
    return round(duration.total_seconds(), 1) if duration is not None else None


COUNTS = serializers.ListField(
    child=inline_serializer(
        "NamedCount", {"name": serializers.CharField(), "count": serializers.IntegerField()}
    )
)


class IncidentSummaryApi(APIView):
    required_permission = "incidents.view_errorevent"
    required_scope = READ_SCOPE

    @extend_schema(
        summary="Active incidents, error counts, MTTA/MTTR",
        parameters=[
            OpenApiParameter(
                "window",
                OpenApiTypes.STR,
                enum=list(selectors.ERROR_WINDOWS),
                description="The window of the error counts (default 24h).",
            )
        ],
        responses={
            200: inline_serializer(
                "IncidentSummary",
                {
                    "active": inline_serializer(
                        "ActiveIncidents",
                        {
                            "total": serializers.IntegerField(),
                            "unacknowledged": serializers.IntegerField(),
                            "by_severity": COUNTS,
                            "by_category": COUNTS,
                            "by_component": COUNTS,
                        },
                    ),
                    "errors": inline_serializer(
                        "ErrorCounts",
                        {
                            "window": serializers.CharField(),
                            "since": serializers.DateTimeField(),
                            "until": serializers.DateTimeField(),
                            "total": serializers.IntegerField(),
                            "by_class": COUNTS,
                            "by_component": COUNTS,
                        },
                    ),
                    "response_times": serializers.ListField(
                        child=inline_serializer(
                            "ResponseTimes",
                            {
                                "days": serializers.IntegerField(),
                                "mtta_seconds": serializers.FloatField(allow_null=True),
                                "mttr_seconds": serializers.FloatField(allow_null=True),
                                "acknowledged": serializers.IntegerField(),
                                "resolved": serializers.IntegerField(),
                            },
                        )
                    ),
                },
            )
        },
    )
    def get(self, request):
        window = request.query_params.get("window", selectors.DEFAULT_ERROR_WINDOW)
        if window not in selectors.ERROR_WINDOWS:
            return error_response(
                400,
                "invalid",
                f"Unknown window {window!r}.",
                {"window": [f"One of {', '.join(selectors.ERROR_WINDOWS)}."]},
            )
        viewer = request.user
        active = selectors.active_summary(viewer=viewer)
        errors = selectors.error_counts(viewer=viewer, window=window)
        return Response(
            {
                "active": {
                    "total": active.total,
                    "unacknowledged": active.unacknowledged,
                    "by_severity": _counts(active.by_severity),
                    "by_category": _counts(active.by_category),
                    "by_component": _counts(active.by_component),
                },
                "errors": {
                    "window": errors.window,
                    "since": errors.since,
                    "until": errors.until,
                    "total": errors.total,
                    "by_class": _counts(errors.by_class),
                    "by_component": _counts(errors.by_component),
                },
                "response_times": [
                    {
                        "days": times.days,
                        "mtta_seconds": _seconds(times.mtta),
                        "mttr_seconds": _seconds(times.mttr),
                        "acknowledged": times.acknowledged,
                        "resolved": times.resolved,
                    }
                    for times in selectors.response_times(viewer=viewer)
                ],
            }
        )


class PatternSerializer(serializers.ModelSerializer):
    incidents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Pattern
        fields = [
            "id",
            "kind",
            "key",
            "title",
            "confidence",
            "window_start",
            "window_end",
            "incident_count",
            "details",
            "incidents",
            "detected_at",
        ]
        read_only_fields = fields


class PatternListApi(generics.ListAPIView):
    """Patterns found among incidents, newest first."""

    required_permission = "incidents.view_pattern"
    required_scope = READ_SCOPE
    serializer_class = PatternSerializer
    filterset_class = PatternFilter
    ordering = ("-window_end", "-id")

    def get_queryset(self):
        return selectors.pattern_list(viewer=self.request.user)

    @extend_schema(summary="List patterns")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- Working an incident -------------------------------------------------------------------------


class IncidentActionApi(APIView):
    """One operation on one incident; subclasses name the permission and call the operation."""

    required_scope = None  # people only

    def incident(self, request, pk: int) -> Incident:
        return get_object_or_404(selectors.incident_list(viewer=request.user), pk=pk)

    def respond(self, result):
        return result_response(result, lambda incident: IncidentSerializer(incident).data)


class IncidentAcknowledgeApi(IncidentActionApi):
    required_permission = "incidents.acknowledge_incident"

    @extend_schema(request=None, responses={200: IncidentSerializer}, summary="Acknowledge")
    @idempotent
    def post(self, request, pk: int):
        incident = self.incident(request, pk)
        return self.respond(
            incident_acknowledge(actor=Actor.for_request(request), incident=incident)
        )


class ResolveInSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="What resolved it.")


class IncidentResolveApi(IncidentActionApi):
    required_permission = "incidents.resolve_incident"

    @extend_schema(
        request=ResolveInSerializer, responses={200: IncidentSerializer}, summary="Resolve"
    )
    @idempotent
    def post(self, request, pk: int):
        body = ResolveInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = self.incident(request, pk)
        return self.respond(
            incident_resolve(
                actor=Actor.for_request(request), incident=incident, **body.validated_data
            )
        )


class ReopenInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text="Why it is not resolved.")


class IncidentReopenApi(IncidentActionApi):
    required_permission = "incidents.resolve_incident"

    @extend_schema(
        request=ReopenInSerializer, responses={200: IncidentSerializer}, summary="Reopen"
    )
    @idempotent
    def post(self, request, pk: int):
        body = ReopenInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = self.incident(request, pk)
        return self.respond(
            incident_reopen(
                actor=Actor.for_request(request), incident=incident, **body.validated_data
            )
        )


class AssignInSerializer(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        help_text="A username, or null to unassign.",
    )


class IncidentAssignApi(IncidentActionApi):
    required_permission = "incidents.acknowledge_incident"

    @extend_schema(
        request=AssignInSerializer, responses={200: IncidentSerializer}, summary="Assign"
    )
    @idempotent
    def post(self, request, pk: int):
        body = AssignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = self.incident(request, pk)
        return self.respond(
            incident_assign(
                actor=Actor.for_request(request), incident=incident, **body.validated_data
            )
        )


class NoteInSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class IncidentNoteApi(IncidentActionApi):
    required_permission = "incidents.acknowledge_incident"

    @extend_schema(
        request=NoteInSerializer, responses={201: TimelineEntrySerializer}, summary="Add a note"
    )
    @idempotent
    def post(self, request, pk: int):
        body = NoteInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = self.incident(request, pk)
        result = incident_note_add(
            actor=Actor.for_request(request), incident=incident, **body.validated_data
        )
        return result_response(
            result,
            lambda value: TimelineEntrySerializer(value.timeline.first()).data,
            status_code=201,
        )
