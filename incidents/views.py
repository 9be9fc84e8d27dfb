"""Incident pages: the list, one incident and its work, the overview, patterns.

Each view parses its input, calls one selector (or one operation) and renders the page — or,
for an HTMX request, the partial that changed. Every control also works as a plain link or form
post: actions redirect back to the incident page when HTMX is not there.
"""

from datetime import timedelta

from django.apps import apps
from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from incidents import selectors
from incidents.filters import IncidentFilter, PatternFilter
from incidents.forms import AssignForm, BulkForm, NoteForm, ReopenForm, ResolveForm, WindowForm
from incidents.models import Incident
from incidents.operations import (
    incident_acknowledge,
    incident_assign,
    incident_note_add,
    incident_reopen,
    incident_resolve,
    incidents_bulk_acknowledge,
    incidents_bulk_resolve,
)
from opsconsole.pagination import DEFAULT_PAGE_SIZE, page_size_from
from opsconsole.registry import Actor
from opsconsole.web import form_errors_from, page_of, render_page, require_perm

RECENT_PATTERNS = timedelta(hours=24)

# What the list shows when opened without filters: what still needs someone.
DEFAULT_LIST_FILTERS = "status=active"


@require_perm("incidents.view_incident")
def incident_list(request):
    data = request.GET or QueryDict(DEFAULT_LIST_FILTERS)
    filters = IncidentFilter(
        data, queryset=selectors.incident_list(viewer=request.user), request=request
    )
    page = page_of(request, filters.qs, ordering=selectors.LIST_ORDERING, size=_page_size(request))
    return render_page(
        request,
        "incidents/incident_list.html",
        {
            "filters": filters,
            "page": page,
            "may_acknowledge": request.user.has_perm("incidents.acknowledge_incident"),
            "may_resolve": request.user.has_perm("incidents.resolve_incident"),
        },
        partial="incident-rows",
    )


def _page_size(request) -> int:
    """?page_size= as the API takes it (1 to 200); a bad value falls back to the default."""
    try:
        return page_size_from(request.GET)
    except ValidationError:
        return DEFAULT_PAGE_SIZE


def _incident_or_404(request, pk: int) -> Incident:
    try:
        return selectors.incident_get(viewer=request.user, pk=pk)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc


def extra_panels() -> list[str]:
    """Templates other apps add to the incident page (the founder's override panel): an app
    declares `incident_panels = ("founder/_incident_override.html",)` on its AppConfig; each is
    included with `incident` in its context and checks its own permission."""
    return [
        template
        for config in apps.get_app_configs()
        for template in getattr(config, "incident_panels", ())
    ]


def _work_context(request, incident: Incident, **forms) -> dict:
    """What the work partial (facts, actions, timeline) needs; forms with errors replace the
    blank ones."""
    return {
        "incident": incident,
        "timeline": selectors.incident_timeline(incident=incident),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"assignee": incident.assignee_id}),
        "note_form": forms.get("note_form") or NoteForm(),
        "may_acknowledge": request.user.has_perm("incidents.acknowledge_incident"),
        "may_resolve": request.user.has_perm("incidents.resolve_incident"),
    }


def _page_context(request, incident: Incident, **forms) -> dict:
    return _work_context(request, incident, **forms) | {
        "events": selectors.incident_recent_events(incident=incident),
        "tenants": selectors.incident_tenants(incident=incident),
        "affected_users": selectors.incident_affected_users(incident=incident),
        "patterns": selectors.incident_patterns(incident=incident),
        "extra_panels": extra_panels(),
    }


@require_perm("incidents.view_incident")
def incident_detail(request, pk: int):
    incident = _incident_or_404(request, pk)
    return render_page(request, "incidents/incident_detail.html", _page_context(request, incident))


def _worked(request, pk: int, result, success: str, form=None, form_name: str = ""):
    """After an action: the refreshed work panel for HTMX; else back to the incident page, or
    the page again with the form's errors. A refusal shows on its form (or as a message)."""
    if result is not None and result.ok:
        messages.success(request, success)
    elif result is not None and form is not None:
        form_errors_from(result, form)
    elif result is not None:
        messages.error(request, result.error.message)
    invalid = {form_name: form} if form is not None and form.errors else {}
    incident = _incident_or_404(request, pk)
    template = "incidents/incident_detail.html"
    if request.htmx:
        context = _work_context(request, incident, **invalid)
        return render_page(request, template, context, partial="incident-work")
    if invalid:
        return render_page(
            request, template, _page_context(request, incident, **invalid), status=400
        )
    return redirect(incident)


@require_perm("incidents.acknowledge_incident")
@require_POST
def incident_acknowledge_view(request, pk: int):
    incident = _incident_or_404(request, pk)
    result = incident_acknowledge(actor=Actor.for_request(request), incident=incident)
    return _worked(request, pk, result, f"#{pk} acknowledged.")


@require_perm("incidents.resolve_incident")
@require_POST
def incident_resolve_view(request, pk: int):
    incident = _incident_or_404(request, pk)
    form = ResolveForm(request.POST)
    result = None
    if form.is_valid():
        result = incident_resolve(
            actor=Actor.for_request(request), incident=incident, note=form.cleaned_data["note"]
        )
    return _worked(request, pk, result, f"#{pk} resolved.", form, "resolve_form")


@require_perm("incidents.resolve_incident")
@require_POST
def incident_reopen_view(request, pk: int):
    incident = _incident_or_404(request, pk)
    form = ReopenForm(request.POST)
    result = None
    if form.is_valid():
        result = incident_reopen(
            actor=Actor.for_request(request), incident=incident, reason=form.cleaned_data["reason"]
        )
    return _worked(request, pk, result, f"#{pk} reopened.", form, "reopen_form")


@require_perm("incidents.acknowledge_incident")
@require_POST
def incident_assign_view(request, pk: int):
    incident = _incident_or_404(request, pk)
    form = AssignForm(request.POST)
    result = None
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        result = incident_assign(
            actor=Actor.for_request(request), incident=incident, assignee=assignee
        )
    return _worked(request, pk, result, f"#{pk} assignment changed.", form, "assign_form")


@require_perm("incidents.acknowledge_incident")
@require_POST
def incident_note_view(request, pk: int):
    incident = _incident_or_404(request, pk)
    form = NoteForm(request.POST)
    result = None
    if form.is_valid():
        result = incident_note_add(
            actor=Actor.for_request(request), incident=incident, text=form.cleaned_data["text"]
        )
    return _worked(request, pk, result, "Note added.", form, "note_form")


@require_perm("incidents.acknowledge_incident")
@require_POST
def incident_bulk(request):
    """Acknowledge or resolve the incidents ticked on the list; more than 50 run as a job."""
    back = request.POST.get("next") or ""
    back = back if back.startswith("/") and not back.startswith("//") else ""
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back or "incidents:incident_list")
    actor = Actor.for_request(request)
    ids, action = form.cleaned_data["ids"], form.cleaned_data["action"]
    if action == "resolve":
        if not request.user.has_perm("incidents.resolve_incident"):
            messages.error(request, "Your role may acknowledge incidents but not resolve them.")
            return redirect(back or "incidents:incident_list")
        result = incidents_bulk_resolve(
            actor=actor, incident_ids=ids, note=form.cleaned_data["note"]
        )
    else:
        result = incidents_bulk_acknowledge(actor=actor, incident_ids=ids)
    if not result.ok:
        messages.error(request, result.error.message)
        return redirect(back or "incidents:incident_list")
    outcome = result.value
    if outcome.job is not None:
        messages.info(request, outcome.summary)
        return redirect(outcome.job)
    (messages.success if not outcome.refused else messages.warning)(request, outcome.summary)
    return redirect(back or "incidents:incident_list")


@require_perm("incidents.view_errorevent")
def overview(request):
    """What is broken now, how errors run, how fast incidents are worked."""
    form = WindowForm(request.GET or None)
    window = (form.is_valid() and form.cleaned_data["window"]) or selectors.DEFAULT_ERROR_WINDOW
    viewer = request.user
    errors = selectors.error_counts(viewer=viewer, window=window)
    days = selectors.daily_resolution(viewer=viewer)
    context = {
        "window": window,
        "windows": list(selectors.ERROR_WINDOWS),
        "active": selectors.active_summary(viewer=viewer),
        "errors": errors,
        "response_times": selectors.response_times(viewer=viewer),
        "patterns": selectors.pattern_list(viewer=viewer)[:6],
        "error_chart": {
            "series": [{"label": "errors", "color": "#c8322b"}],
            "yLabel": "errors",
            "height": 200,
            "data": [
                [int(moment.timestamp()) for moment, _ in errors.series],
                [count for _, count in errors.series],
            ],
        },
        "resolution_chart": {
            "series": [
                {"label": "opened", "color": "#d46b08"},
                {"label": "resolved", "color": "#1f8a4c"},
            ],
            "yLabel": "incidents",
            "height": 180,
            "data": [
                [int(day.timestamp()) for day, *_ in days],
                [opened for _, opened, _, _ in days],
                [resolved for _, _, resolved, _ in days],
            ],
        },
        "mttr_chart": {
            "series": [{"label": "MTTR (hours)", "color": "#2f6fde"}],
            "yLabel": "hours",
            "height": 180,
            "data": [
                [int(day.timestamp()) for day, *_ in days],
                [round(hours, 1) if hours is not None else None for *_, hours in days],
            ],
        },
    }
    return render_page(request, "incidents/overview.html", context, partial="error-counts")


@require_perm("incidents.view_pattern")
def pattern_list(request):
    """Every pattern, or (panel=recent, for the incidents list) the last day's few."""
    patterns = selectors.pattern_list(viewer=request.user)
    if request.GET.get("panel") == "recent":
        recent = patterns.filter(window_end__gte=timezone.now() - RECENT_PATTERNS)
        page = page_of(request, recent, ordering=("-window_end", "-id"), size=5)
        return render_page(
            request,
            "incidents/pattern_list.html",
            {"page": page, "filters": PatternFilter(queryset=patterns)},
            partial="recent-patterns",
        )
    filters = PatternFilter(request.GET, queryset=patterns)
    page = page_of(request, filters.qs, ordering=("-window_end", "-id"), size=24)
    return render_page(
        request,
        "incidents/pattern_list.html",
        {"filters": filters, "page": page},
        partial="pattern-rows",
    )
