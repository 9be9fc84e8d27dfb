from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from opsconsole import apis, errors, views

# Each app's urls.py holds `urlpatterns` (pages, under the app's namespace) and
# `api_urlpatterns` (under /api/v1/, namespace "<app_name>_api").
_url_modules = [import_module(f"{module}.urls") for module in settings.DOMAIN_APPS]

api_v1 = [
    path("tenants", apis.TenantUpsertApi.as_view(), name="tenant_upsert"),
    *(
        path("", include((urls.api_urlpatterns, f"{urls.app_name}_api")))
        for urls in _url_modules
        if urls.api_urlpatterns
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("operations/", views.operation_record_list, name="operation_record_list"),
    path("runtime/", views.runtime_switch, name="runtime_switch"),
    # One sign-in page for the whole console, with its lockout.
    path("admin/login/", views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularJSONAPIView.as_view(), name="api_schema"),
    # Swagger UI is a page for people: sign in first, like every other page.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema")),
        name="api_docs",
    ),
    path("api/v1/", include(api_v1)),
    *(
        path("", include((urls.urlpatterns, urls.app_name)))
        for urls in _url_modules
        if urls.urlpatterns
    ),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

admin.site.site_header = "Opsconsole data fixes"
admin.site.site_title = "Opsconsole admin"
admin.site.index_title = "Every change made here is kept in history"
