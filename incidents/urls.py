from django.urls import path

from incidents import apis, views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/overview/", views.overview, name="overview"),
    path("incidents/patterns/", views.pattern_list, name="pattern_list"),
    path("incidents/bulk/", views.incident_bulk, name="incident_bulk"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path(
        "incidents/<int:pk>/acknowledge/",
        views.incident_acknowledge_view,
        name="incident_acknowledge",
    ),
    path("incidents/<int:pk>/resolve/", views.incident_resolve_view, name="incident_resolve"),
    path("incidents/<int:pk>/reopen/", views.incident_reopen_view, name="incident_reopen"),
    path("incidents/<int:pk>/assign/", views.incident_assign_view, name="incident_assign"),
    path("incidents/<int:pk>/notes/", views.incident_note_view, name="incident_note"),
]

api_urlpatterns = [
    path("events/errors", apis.ErrorEventIngestApi.as_view(), name="error_events_ingest"),
    path("incidents", apis.IncidentListApi.as_view(), name="incident_list"),
    path("incidents/summary", apis.IncidentSummaryApi.as_view(), name="incident_summary"),
    path("incidents/patterns", apis.PatternListApi.as_view(), name="pattern_list"),
    path("incidents/<int:pk>", apis.IncidentDetailApi.as_view(), name="incident_detail"),
    path(
        "incidents/<int:pk>/acknowledge",
        apis.IncidentAcknowledgeApi.as_view(),
        name="incident_acknowledge",
    ),
    path("incidents/<int:pk>/resolve", apis.IncidentResolveApi.as_view(), name="incident_resolve"),
    path("incidents/<int:pk>/reopen", apis.IncidentReopenApi.as_view(), name="incident_reopen"),
    path("incidents/<int:pk>/assign", apis.IncidentAssignApi.as_view(), name="incident_assign"),
    path("incidents/<int:pk>/notes", apis.IncidentNoteApi.as_view(), name="incident_notes"),
]
