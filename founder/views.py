"""Founder pages: tenants, the founder actions log, and the forms that freeze, throttle, override
and reverse — as HTMX dialogs on the tenant's page, and as plain pages that work without them."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from founder import operations, selectors
from founder.filters import FounderActionFilter, TenantFilter
from founder.forms import FreezeForm, OverrideForm, ReverseForm, ThrottleForm
from founder.models import FounderAction
from founder.panels import tenant_panels_for
from founder.rules import FROZEN
from incidents.selectors import incident_by_pk
from opsconsole.models import Tenant
from opsconsole.registry import Actor
from opsconsole.web import page_of, render_page, require_perm

FREEZE = "founder.freeze_tenant"
THROTTLE = "founder.throttle_tenant"
REVERSE = "founder.reverse_founderaction"
PAST_SHOWN = 25  # the rest is in the founder actions log, filtered by tenant


# --- Tenants --------------------------------------------------------------------------------------


@require_perm("opsconsole.view_tenant")
def tenant_list(request):
    filters = TenantFilter(request.GET, queryset=selectors.tenant_list())
    page = page_of(request, filters.qs, ordering=("name", "id"))
    selectors.with_states(page.items)
    return render_page(
        request,
        "founder/tenant_list.html",
        {"filters": filters, "page": page, "counts": selectors.enforcement_counts()},
        partial="tenant-rows",
    )


@require_perm("opsconsole.view_tenant")
def tenant_detail(request, ref: str):
    tenant = _tenant_or_404(ref)
    actions = selectors.tenant_action_list(tenant=tenant)
    now = timezone.now()
    in_force = [action for action in actions.active() if action.counts_at(now)]
    past = actions.exclude(pk__in=[action.pk for action in in_force])[:PAST_SHOWN]
    user = request.user
    context = {
        "tenant": tenant,
        "state": tenant.enforcement_state,
        "in_force": _with_reverse_forms(user, in_force),
        "past": past,
        "panels": tenant_panels_for(user, tenant),
        "freeze_form": (
            FreezeForm(tenant=tenant)
            if user.has_perm(FREEZE) and tenant.enforcement_state.state != FROZEN
            else None
        ),
        "throttle_form": ThrottleForm() if user.has_perm(THROTTLE) else None,
    }
    return render_page(request, "founder/tenant_detail.html", context)


def _with_reverse_forms(user, actions: list[FounderAction]) -> list[FounderAction]:
    """Give each action its reverse form (`action.reverse_form`) if the person may reverse."""
    may_reverse = user.has_perm(REVERSE)
    for action in actions:
        action.reverse_form = (
            ReverseForm(auto_id=f"reverse-{action.pk}-%s") if may_reverse else None
        )
    return actions


def _tenant_or_404(ref: str) -> Tenant:
    tenant = selectors.tenant_get(ref=ref)
    if tenant is None:
        raise Http404(f"No tenant {ref}.")
    return tenant


def _tenant_page(tenant: Tenant) -> str:
    return reverse("founder:tenant_detail", kwargs={"ref": tenant.ref})


@require_perm(FREEZE)
@require_http_methods(["GET", "POST"])
def tenant_freeze(request, ref: str):
    tenant = _tenant_or_404(ref)
    return _act(
        request,
        FreezeForm(request.POST or None, tenant=tenant),
        lambda data: operations.tenant_freeze(
            actor=Actor.for_request(request),
            tenant=tenant,
            reason_code=data["reason_code"],
            reason=data["reason"],
            duration_minutes=data["duration_minutes"],
        ),
        done=lambda action: (_tenant_page(tenant), f"{tenant.name} is frozen."),
        page={
            "title": f"Freeze {tenant.name}",
            "intro": "The platform refuses everything the tenant asks for, within a second.",
            "back": _tenant_page(tenant),
            "submit": "Freeze tenant",
            "danger": True,
            "confirm_text": tenant.name,
        },
    )


@require_perm(THROTTLE)
@require_http_methods(["GET", "POST"])
def tenant_throttle(request, ref: str):
    tenant = _tenant_or_404(ref)
    return _act(
        request,
        ThrottleForm(request.POST or None),
        lambda data: operations.tenant_throttle(
            actor=Actor.for_request(request),
            tenant=tenant,
            reason_code=data["reason_code"],
            reason=data["reason"],
            throttle_rpm=data["throttle_rpm"],
            duration_minutes=data["duration_minutes"],
        ),
        done=lambda action: (
            _tenant_page(tenant),
            f"{tenant.name} is throttled: {action.summary}.",
        ),
        page={
            "title": f"Throttle {tenant.name}",
            "intro": "The platform limits the tenant's requests per minute.",
            "back": _tenant_page(tenant),
            "submit": "Throttle tenant",
        },
    )


# --- Founder actions ------------------------------------------------------------------------------


@require_perm("founder.view_founderaction")
def action_list(request):
    filters = FounderActionFilter(request.GET, queryset=selectors.action_list())
    page = page_of(request, filters.qs, ordering=("-id",))
    return render_page(
        request,
        "founder/action_list.html",
        {"filters": filters, "page": page, "now": timezone.now()},
        partial="action-rows",
    )


@require_perm("founder.view_founderaction")
def action_detail(request, pk: int):
    action = _action_or_404(pk)
    reversible = _with_reverse_forms(
        request.user, [action] if action.counts_at(timezone.now()) else []
    )
    return render_page(
        request, "founder/action_detail.html", {"action": action, "reverse_actions": reversible}
    )


def _action_or_404(pk: int) -> FounderAction:
    action = selectors.action_get(pk=pk)
    if action is None:
        raise Http404(f"No founder action #{pk}.")
    return action


@require_perm("founder.reverse_founderaction")
@require_http_methods(["GET", "POST"])
def action_reverse(request, pk: int):
    action = _action_or_404(pk)
    back = _tenant_page(action.tenant) if action.tenant_id else action.get_absolute_url()
    return _act(
        request,
        ReverseForm(request.POST or None, auto_id=f"reverse-{action.pk}-%s"),
        lambda data: operations.founder_action_reverse(
            actor=Actor.for_request(request), action=action, reason=data["reason"]
        ),
        done=lambda reversed_action: (back, f"{action} is reversed."),
        page={
            "title": f"Reverse {action}",
            "intro": f"{action.summary.capitalize()}, since {action.created_at:%Y-%m-%d %H:%M} "
            f"UTC: “{action.reason}”",
            "back": back,
            "submit": "Reverse",
        },
    )


@require_perm("founder.override_incident")
@require_http_methods(["GET", "POST"])
def incident_override(request, pk: int):
    incident = incident_by_pk(pk=pk)
    if incident is None:
        raise Http404(f"No incident #{pk}.")
    form = OverrideForm(request.POST or None)
    return _act(
        request,
        form,
        lambda data: operations.founder_incident_override(
            actor=Actor.for_request(request),
            incident=incident,
            reason_code=data["reason_code"],
            reason=data["reason"],
            override_kind=data["override_kind"],
            severity=data["severity"],
            duration_minutes=data["duration_minutes"],
        ),
        done=lambda action: (
            action.get_absolute_url(),
            f"Incident #{incident.pk}: {action.summary}.",
        ),
        page={
            "title": f"Override incident #{incident.pk}",
            "intro": f"{incident.title} — {incident.get_severity_display().lower()}, "
            f"{incident.get_status_display().lower()}. Its timeline will show who and why.",
            "back": _safe_next(request) or f"{reverse('founder:action_list')}?incident={pk}",
            "submit": "Override",
            "incident": incident,
        },
    )


def _safe_next(request) -> str | None:
    """The page the person came from (`?next=`), if it is one of ours."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None


# --- Submitting an action form --------------------------------------------------------------------


def _act(request, form, run, *, done, page: dict):
    """GET: the form as a page. POST: run the operation once per form token, then go where
    `done(value)` says, with its message — or show the form again with what was wrong: as the
    dialog's content for HTMX, as the page otherwise."""
    if request.method == "POST" and form.is_valid():
        sent = form.submit_once(request, lambda: run(form.cleaned_data), done)
        if sent is not None:
            location, message = sent
            messages.success(request, message)
            if request.htmx:
                return HttpResponseClientRedirect(location)
            return redirect(location)
    status = 400 if request.method == "POST" and not request.htmx else 200
    return render_page(
        request,
        "founder/action_form.html",
        {
            **page,
            "form": form,
            "action_url": request.get_full_path(),
            "in_dialog": bool(request.htmx),
        },
        partial="action-form",
        status=status,
    )
