"""Helpers for server-rendered pages: permission gates, operation results in forms, partials.

A page view is: parse (a Form), call one selector or one operation, render the page — or, for an
HTMX request, just the partial that changed. Every control still works as a plain link or form
post; HTMX only spares the full reload.
"""

import functools

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from opsconsole.pagination import InvalidCursor, Page, paginate
from opsconsole.registry import Result


def require_perm(*permissions: str):
    """The signed-in person must hold every permission; otherwise 403 (sign-in is already
    enforced for every page by ConsoleLoginRequiredMiddleware)."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        guarded.required_permissions = permissions
        return guarded

    return decorate


def form_errors_from(result: Result, form: forms.Form) -> None:
    """Show an operation's refusal on the form: per field where it names one, else on top."""
    error = result.error
    placed = False
    for name, field_messages in error.fields.items():
        if name in form.fields:
            for message in field_messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def message_result(request, result: Result, success: str) -> bool:
    """Flash the outcome of an operation called from a button; True if it succeeded."""
    if result.ok:
        messages.success(request, success)
    else:
        messages.error(request, result.error.message)
    return result.ok


def render_page(request, template: str, context: dict, *, partial: str | None = None, status=200):
    """The whole page, or — for an HTMX request that targets it — only `partial`."""
    if partial and getattr(request, "htmx", False):
        return render(request, f"{template}#{partial}", context, status=status)
    return render(request, template, context, status=status)


def page_of(request, queryset, *, ordering: tuple[str, ...], size: int = 50) -> Page:
    """The requested keyset page of a list; a stale or foreign cursor falls back to page one."""
    try:
        return paginate(queryset, ordering=ordering, cursor=request.GET.get("cursor"), size=size)
    except InvalidCursor:
        messages.info(request, "That page link had expired; showing the first page.")
        return paginate(queryset, ordering=ordering, cursor=None, size=size)
