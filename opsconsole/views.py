from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_redis import get_redis_connection

from opsconsole import selectors
from opsconsole.models import JobRun, JobStatus, Outcome, RuntimeMode
from opsconsole.navigation import home_for, nav_for
from opsconsole.operations import runtime_mode_set
from opsconsole.registry import Actor, registry
from opsconsole.web import form_errors_from, page_of, render_page, require_perm

# --- Probes --------------------------------------------------------------------------------------


@login_not_required
@require_GET
@never_cache
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
@never_cache
def readyz(request):
    """Readiness: PostgreSQL answers and the registry is closed. Redis is reported but does not
    decide readiness: without it the console still serves from PostgreSQL."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        get_redis_connection("default").ping()
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    status = {
        "frozen": registry.is_frozen,
        "count": len(registry.names()),
        "operations": registry.names(),
    }
    if checks["database"] == "ok":
        status = registry.status()
    ready = checks["database"] == "ok" and registry.is_frozen
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks, "registry": status},
        status=200 if ready else 503,
    )


# --- Home ----------------------------------------------------------------------------------------


class ConsoleLoginView(LoginView):
    redirect_authenticated_user = True
    http_method_names = ["get", "post", "head", "options"]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            failure_limit=settings.AXES_FAILURE_LIMIT,
            idle_minutes=int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60),
            **kwargs,
        )


@login_not_required
def admin_login(request):
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def home(request):
    return redirect(home_for(request.user))


def dashboard(request):
    """Landing page for roles without a home of their own: where to go, what is running."""
    return render(
        request,
        "opsconsole/dashboard.html",
        {"sections": nav_for(request.user), "recent_jobs": selectors.job_list()[:5]},
    )


# --- Jobs ----------------------------------------------------------------------------------------


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *JobStatus.choices], required=False)
    name = forms.CharField(required=False, label="Job")


@require_perm("opsconsole.view_jobrun")
def job_list(request):
    form = JobFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = page_of(request, selectors.job_list(**filters), ordering=("-id",))
    has_running = any(not job.is_finished for job in page.items)
    return render_page(
        request,
        "opsconsole/job_list.html",
        {"form": form, "page": page, "has_running": has_running},
        partial="job-rows",
    )


@require_perm("opsconsole.view_jobrun")
def job_detail(request, pk: int):
    job = get_object_or_404(JobRun, pk=pk)
    return render_page(request, "opsconsole/job_detail.html", {"job": job}, partial="job-progress")


# --- Operation records ---------------------------------------------------------------------------


class RecordFilterForm(forms.Form):
    operation = forms.ChoiceField(required=False)
    outcome = forms.ChoiceField(choices=[("", "Any outcome"), *Outcome.choices], required=False)
    actor = forms.CharField(required=False, label="Actor")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [("", "Any operation")] + [
            (name, name) for name in registry.names()
        ]


@require_perm("opsconsole.view_operationrecord")
def operation_record_list(request):
    form = RecordFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = page_of(request, selectors.operation_record_list(**filters), ordering=("-id",))
    return render_page(
        request,
        "opsconsole/operation_record_list.html",
        {"form": form, "page": page},
        partial="record-rows",
    )


# --- Runtime switch ------------------------------------------------------------------------------


class RuntimeSwitchForm(forms.Form):
    mode = forms.ChoiceField(choices=RuntimeMode.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required for degraded and maintenance: people will read it in the banner.",
    )


@require_perm("opsconsole.set_runtime_mode")
@require_http_methods(["GET", "POST"])
def runtime_switch(request):
    switch = selectors.runtime_switch_get()
    form = RuntimeSwitchForm(
        request.POST or None, initial={"mode": switch.mode, "reason": switch.reason}
    )
    if request.method == "POST" and form.is_valid():
        result = runtime_mode_set(actor=Actor.for_request(request), **form.cleaned_data)
        if result.ok:
            messages.success(
                request, f"The console is now in {result.value.get_mode_display().lower()} mode."
            )
            return redirect("runtime_switch")
        form_errors_from(result, form)
    return render(request, "opsconsole/runtime_switch.html", {"form": form, "switch": switch})
