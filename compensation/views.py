"""Compensation pages: the Customer Care queue (inline decisions with HTMX, keyboard, bulk
approval with progress), a proposal's detail, the cost of incidents, and what finance and care
leads configure. Every control is a plain form post; HTMX swaps the row that changed."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from compensation import forms, selectors
from compensation.filters import ProposalFilter
from compensation.models import Status
from compensation.operations import (
    approval_limit_set,
    budget_set,
    exchange_rate_set,
    fraud_flag_clear,
    fraud_flag_raise,
    policy_save,
    proposals_bulk_approve,
)
from compensation.operations import proposal_approve as approve_operation
from compensation.operations import proposal_cancel as cancel_operation
from compensation.operations import proposal_issue_retry as retry_operation
from compensation.operations import proposal_reject as reject_operation
from opsconsole.models import JobRun
from opsconsole.registry import Actor
from opsconsole.web import form_errors_from, message_result, page_of, render_page, require_perm

VIEW = "compensation.view_compensationproposal"
DECIDE = "compensation.approve_compensationproposal"
QUEUE = "compensation/proposal_queue.html"


# --- The queue -----------------------------------------------------------------------------------


@require_perm(VIEW)
def proposal_queue(request):
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = Status.PENDING_APPROVAL  # what Customer Care works through
    filters = ProposalFilter(params, queryset=selectors.proposal_list(viewer=request.user))
    oldest_first = params.get("status") == Status.PENDING_APPROVAL
    page = page_of(
        request, filters.qs, ordering=("created_at", "id") if oldest_first else ("-id",), size=50
    )
    job_id = request.GET.get("job", "")
    job = JobRun.objects.filter(pk=job_id).first() if job_id.isdigit() else None
    return render_page(
        request,
        QUEUE,
        {
            "filters": filters,
            "page": page,
            "approver": selectors.approver_view(viewer=request.user),
            "summary": selectors.pending_summary(),
            "job": job,
        },
        partial="queue-rows",
    )


def _back(request, proposal) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/compensation/") else proposal.get_absolute_url()


def _decided(request, proposal, result, success: str):
    """The row again for HTMX (with the outcome in it), else a flash and back where they were."""
    if getattr(request, "htmx", False):
        fresh = selectors.proposal_get(pk=proposal.pk, viewer=request.user)
        return render_page(
            request,
            QUEUE,
            {
                "proposal": fresh,
                "approver": selectors.approver_view(viewer=request.user),
                "outcome": success if result.ok else result.error.message,
                "outcome_ok": result.ok,
            },
            partial="queue-row",
        )
    message_result(request, result, success)
    return redirect(_back(request, proposal))


@require_perm(DECIDE)
@require_POST
def proposal_approve(request, pk: int):
    proposal = get_object_or_404(selectors.proposal_list(viewer=request.user), pk=pk)
    form = forms.NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    result = approve_operation(actor=Actor.for_request(request), proposal=proposal, note=note)
    return _decided(request, proposal, result, f"{proposal.ref} approved; issuing it now.")


@require_perm(DECIDE)
@require_POST
def proposal_reject(request, pk: int):
    proposal = get_object_or_404(selectors.proposal_list(viewer=request.user), pk=pk)
    reason = request.POST.get("reason", "")
    result = reject_operation(actor=Actor.for_request(request), proposal=proposal, reason=reason)
    return _decided(request, proposal, result, f"{proposal.ref} rejected.")


@require_perm("compensation.cancel_compensationproposal")
@require_POST
def proposal_cancel(request, pk: int):
    proposal = get_object_or_404(selectors.proposal_list(viewer=request.user), pk=pk)
    reason = request.POST.get("reason", "")
    result = cancel_operation(actor=Actor.for_request(request), proposal=proposal, reason=reason)
    message_result(request, result, f"{proposal.ref} cancelled; its budget is released.")
    return redirect(proposal.get_absolute_url())


@require_perm("compensation.cancel_compensationproposal")
@require_POST
def proposal_retry(request, pk: int):
    proposal = get_object_or_404(selectors.proposal_list(viewer=request.user), pk=pk)
    result = retry_operation(actor=Actor.for_request(request), proposal=proposal)
    message_result(request, result, f"{proposal.ref} sent again.")
    return redirect(proposal.get_absolute_url())


@require_perm(DECIDE)
@require_POST
def proposal_bulk_approve(request):
    form = forms.BulkApproveForm(request.POST)
    ids = form.cleaned_data["proposals"] if form.is_valid() else []
    result = proposals_bulk_approve(actor=Actor.for_request(request), proposal_ids=ids)
    if not result.ok:
        messages.error(request, result.error.message)
        return redirect("compensation:proposal_queue")
    messages.success(request, f"Approving {len(ids)} proposals; each is checked as if alone.")
    return redirect(f"{reverse('compensation:proposal_queue')}?job={result.value.pk}")


@require_perm(VIEW)
def proposal_detail(request, pk: int):
    proposal = get_object_or_404(selectors.proposal_list(viewer=request.user), pk=pk)
    return render_page(
        request,
        "compensation/proposal_detail.html",
        {
            "proposal": proposal,
            "approver": selectors.approver_view(viewer=request.user),
            "history": selectors.user_history(proposal=proposal),
            "records": selectors.proposal_records(proposal=proposal),
        },
    )


# --- Cost of incidents ---------------------------------------------------------------------------


@require_perm("compensation.view_cost_of_incidents")
def cost(request):
    form = forms.CostForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    dimension = chosen.get("dimension") or "product"
    months = chosen.get("months") or 6
    end = (timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    start = end
    for _ in range(months):
        start = (start - timedelta(days=1)).replace(day=1)
    rows = selectors.cost_by(dimension=dimension, start=start, end=end)
    return render_page(
        request,
        "compensation/cost.html",
        {
            "form": form,
            "dimension_label": selectors.DIMENSIONS[dimension],
            "rows": rows,
            "totals": {
                "tokens": sum(row.tokens_eur for row in rows),
                "refunds": sum(row.refunds_eur for row in rows),
                "compensations": sum(row.compensations for row in rows),
            },
            "chart": selectors.monthly_cost_series(start=start, end=end),
            "month": selectors.cost_this_month_vs_last(),
            "pending": selectors.pending_summary(),
            "start": start,
            "end": end - timedelta(days=1),
        },
    )


# --- Policies ------------------------------------------------------------------------------------


@require_perm("compensation.view_compensationpolicy")
def policy_list(request):
    retired = request.GET.get("retired") == "1"
    return render_page(
        request,
        "compensation/policy_list.html",
        {"policies": selectors.policy_list(include_retired=retired), "retired": retired},
    )


@require_perm("compensation.change_compensationpolicy")
@require_http_methods(["GET", "POST"])
def policy_create(request):
    form = forms.PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = policy_save(actor=Actor.for_request(request), fields=form.cleaned_data)
        if result.ok:
            messages.success(request, f"{result.value} saved.")
            return redirect(result.value.get_absolute_url())
        form_errors_from(result, form)
    return render_page(request, "compensation/policy_form.html", {"form": form, "policy": None})


@require_perm("compensation.view_compensationpolicy")
@require_http_methods(["GET", "POST"])
def policy_detail(request, pk: int):
    policy = get_object_or_404(selectors.policy_list(include_retired=True), pk=pk)
    editable = policy.is_current and request.user.has_perm("compensation.change_compensationpolicy")
    form = forms.PolicyForm(request.POST or None, instance=policy) if editable else None
    if request.method == "POST":
        if form is None:
            messages.error(request, "Only the current version can be edited, by finance or a lead.")
            return redirect(policy.get_absolute_url())
        if form.is_valid():
            result = policy_save(
                actor=Actor.for_request(request), fields=form.cleaned_data, previous=policy
            )
            if result.ok:
                messages.success(
                    request, f"Saved as version {result.value.version}; proposals keep theirs."
                )
                return redirect(result.value.get_absolute_url())
            form_errors_from(result, form)
    return render_page(
        request,
        "compensation/policy_form.html",
        {
            "form": form,
            "policy": policy,
            "versions": selectors.policy_versions(policy=policy),
            "usage": selectors.policy_usage(policy=policy),
        },
    )


# --- Limits, budgets, rates, fraud flags ---------------------------------------------------------


@require_perm("compensation.view_approvallimit")
@require_http_methods(["GET", "POST"])
def limit_list(request):
    form = forms.LimitForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("compensation.change_approvallimit"):
            messages.error(request, "Only finance changes approval limits.")
        elif form.is_valid():
            result = approval_limit_set(actor=Actor.for_request(request), **form.cleaned_data)
            if message_result(request, result, f"{result.value} from now on." if result.ok else ""):
                return redirect("compensation:limit_list")
        else:
            messages.error(request, "; ".join(form.errors.get("max_eur", ["Check the limit."])))
    return render_page(
        request,
        "compensation/limit_list.html",
        {
            "limits": selectors.limit_list(),
            "can_change": request.user.has_perm("compensation.change_approvallimit"),
        },
    )


@require_perm("compensation.view_budget")
@require_http_methods(["GET", "POST"])
def budget_list(request):
    month = forms.MonthForm(request.GET).chosen()
    form = forms.BudgetForm(request.POST or None, initial={"month": month})
    if request.method == "POST" and form.is_valid():
        if not request.user.has_perm("compensation.change_budget"):
            messages.error(request, "Only finance sets budgets.")
        else:
            result = budget_set(actor=Actor.for_request(request), **form.cleaned_data)
            if result.ok:
                messages.success(request, f"Budget set: {result.value}.")
                month = result.value.month
                return redirect(f"{reverse('compensation:budget_list')}?month={month:%Y-%m}")
            form_errors_from(result, form)
    return render_page(
        request,
        "compensation/budget_list.html",
        {
            "form": form,
            "month": month,
            "budgets": selectors.budget_list(month=month),
            "months": selectors.budget_months(),
            "limits": selectors.limit_list(),
            "can_change": request.user.has_perm("compensation.change_budget"),
        },
    )


@require_perm("compensation.view_exchangerate")
@require_http_methods(["GET", "POST"])
def rate_list(request):
    form = forms.RateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not request.user.has_perm("compensation.change_exchangerate"):
            messages.error(request, "Only finance keeps exchange rates.")
        else:
            result = exchange_rate_set(actor=Actor.for_request(request), **form.cleaned_data)
            if result.ok:
                messages.success(request, f"{result.value}; waiting proposals move on.")
                return redirect("compensation:rate_list")
            form_errors_from(result, form)
    return render_page(
        request,
        "compensation/rate_list.html",
        {
            "form": form,
            "rates": selectors.rate_list(),
            "can_change": request.user.has_perm("compensation.change_exchangerate"),
        },
    )


@require_perm("compensation.view_fraudflag")
@require_http_methods(["GET", "POST"])
def fraud_flag_list(request):
    form = forms.FraudFlagForm(request.POST or None) if "clear" not in request.POST else None
    can_change = request.user.has_perm("compensation.change_fraudflag")
    if request.method == "POST" and not can_change:
        messages.error(request, "Only care leads and finance change fraud flags.")
    elif request.method == "POST" and form is None:
        result = fraud_flag_clear(
            actor=Actor.for_request(request),
            user_ref=request.POST.get("clear", ""),
            reason=request.POST.get("reason", ""),
        )
        if message_result(request, result, "Flag cleared."):
            return redirect("compensation:fraud_flag_list")
    elif request.method == "POST" and form.is_valid():
        result = fraud_flag_raise(actor=Actor.for_request(request), **form.cleaned_data)
        if result.ok:
            messages.success(request, f"{result.value.user_ref} flagged.")
            return redirect("compensation:fraud_flag_list")
        form_errors_from(result, form)
    return render_page(
        request,
        "compensation/fraud_flag_list.html",
        {
            "form": form or forms.FraudFlagForm(),
            "flags": selectors.fraud_flag_list(include_cleared=request.GET.get("all") == "1")[:200],
            "can_change": can_change,
        },
    )
