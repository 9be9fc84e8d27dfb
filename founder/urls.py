from django.urls import path

from founder import apis, views

app_name = "founder"

urlpatterns = [
    path("tenants/", views.tenant_list, name="tenant_list"),
    path("tenants/<str:ref>/", views.tenant_detail, name="tenant_detail"),
    path("tenants/<str:ref>/freeze/", views.tenant_freeze, name="tenant_freeze"),
    path("tenants/<str:ref>/throttle/", views.tenant_throttle, name="tenant_throttle"),
    path("founder/actions/", views.action_list, name="action_list"),
    path("founder/actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("founder/actions/<int:pk>/reverse/", views.action_reverse, name="action_reverse"),
    path("founder/incidents/<int:pk>/override/", views.incident_override, name="incident_override"),
]

api_urlpatterns = [
    path("founder/actions", apis.FounderActionListApi.as_view(), name="action_list"),
    path("founder/actions/<int:pk>", apis.FounderActionDetailApi.as_view(), name="action_detail"),
    path(
        "founder/actions/<int:pk>/reverse",
        apis.FounderActionReverseApi.as_view(),
        name="action_reverse",
    ),
    path(
        "enforcement/tenants/<str:ref>",
        apis.EnforcementTenantApi.as_view(),
        name="enforcement_tenant",
    ),
    path("enforcement/changes", apis.EnforcementChangesApi.as_view(), name="enforcement_changes"),
]
