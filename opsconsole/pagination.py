"""Keyset pagination for HTML lists and the API alike: page 10,000 costs what page 1 costs.

A list is ordered by a few non-null fields ending in a unique one — ("-last_seen_at", "-id") —
and a cursor holds the boundary row's values of those fields. The next page filters past the
boundary with a condition the matching index answers, fetching one row more than it shows to know
whether another page follows. Nothing counts the whole table.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class InvalidCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    previous_cursor: str | None
    is_first: bool


def _encode(direction: str, values: list[Any]) -> str:
    raw = json.dumps([direction, values], default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, count: int) -> tuple[str, list[Any]]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        direction, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursor("This cursor is not one the console made.") from exc
    if direction not in {"n", "p"} or not isinstance(values, list) or len(values) != count:
        raise InvalidCursor("This cursor is not one the console made.")
    return direction, values


def _past(ordering: tuple[str, ...], values: list[Any], model, forward: bool) -> Q:
    """Rows strictly after (forward) or before the boundary in the given ordering."""
    condition = Q()
    equal_so_far = Q()
    for term, value in zip(ordering, values, strict=True):
        name = term.lstrip("-")
        try:
            value = model._meta.get_field(name).to_python(value)
        except Exception as exc:
            raise InvalidCursor("This cursor does not fit this list.") from exc
        descending = term.startswith("-")
        lookup = "lt" if descending == forward else "gt"
        condition |= equal_so_far & Q(**{f"{name}__{lookup}": value})
        equal_so_far &= Q(**{name: value})
    return condition


def _values(row, ordering: tuple[str, ...]) -> list[Any]:
    return [getattr(row, term.lstrip("-")) for term in ordering]


def paginate(
    queryset: QuerySet, *, ordering: tuple[str, ...], cursor: str | None, size: int
) -> Page:
    model = queryset.model
    if not cursor:
        rows = list(queryset.order_by(*ordering)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = _encode("n", _values(rows[-1], ordering)) if more else None
        return Page(rows, next_cursor, None, is_first=True)

    direction, boundary = _decode(cursor, len(ordering))
    forward = direction == "n"
    if forward:
        rows = list(
            queryset.filter(_past(ordering, boundary, model, True)).order_by(*ordering)[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = _encode("n", _values(rows[-1], ordering)) if more else None
        previous_cursor = _encode("p", _values(rows[0], ordering)) if rows else None
        return Page(rows, next_cursor, previous_cursor, is_first=False)

    reverse = tuple(term[1:] if term.startswith("-") else f"-{term}" for term in ordering)
    rows = list(
        queryset.filter(_past(ordering, boundary, model, False)).order_by(*reverse)[: size + 1]
    )
    more = len(rows) > size
    rows = list(reversed(rows[:size]))
    previous_cursor = _encode("p", _values(rows[0], ordering)) if more else None
    next_cursor = _encode("n", _values(rows[-1], ordering)) if rows else None
    return Page(rows, next_cursor, previous_cursor, is_first=not more)


def page_size_from(params, default: int = DEFAULT_PAGE_SIZE) -> int:
    raw = params.get("page_size")
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise exceptions.ValidationError(
            {"page_size": [f"A whole number from 1 to {MAX_PAGE_SIZE}."]}
        )
    return size


class KeysetApiPagination(BasePagination):
    """DRF face of `paginate`: the view names its `ordering`; clients follow `next`/`previous`."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        ordering = tuple(getattr(view, "ordering", ("-id",)))
        try:
            self.page = paginate(
                queryset,
                ordering=ordering,
                cursor=request.query_params.get(self.cursor_query_param),
                size=page_size_from(request.query_params),
            )
        except InvalidCursor as exc:
            raise exceptions.ValidationError({"cursor": [str(exc)]}) from exc
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(
            self.request.build_absolute_uri(), self.cursor_query_param, cursor
        )

    def get_paginated_response(self, data):
        previous = self._link(self.page.previous_cursor)
        if previous is None and not self.page.is_first:
            previous = remove_query_param(
                self.request.build_absolute_uri(), self.cursor_query_param
            )
        return Response(
            {"next": self._link(self.page.next_cursor), "previous": previous, "results": data}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` or `previous` cursor of the page before.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {MAX_PAGE_SIZE}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
