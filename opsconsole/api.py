"""The API's common ground: one error shape, operation results as responses, documented errors.

Every error the API returns is `{"error": {"code", "message", "fields"}}`; `fields` names each
offending input with its messages. `result_response` turns an operation's Result into a response,
so API views stay a translation: parse, call one operation, answer.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from opsconsole.registry import Result

IDEMPOTENCY_HEADER = "Idempotency-Key"

ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_422_UNPROCESSABLE_ENTITY: "unprocessable",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(
    http_status: int, code: str, message: str, fields: dict | None = None, headers=None
) -> Response:
    return Response(error_body(code, message, fields), status=http_status, headers=headers)


def result_response(result: Result, render, *, status_code: int = 200) -> Response:
    """The operation's value rendered by `render(value)`, or its error in the API's shape."""
    if result.ok:
        return Response(render(result.value), status=status_code)
    error = result.error
    headers = {"Retry-After": "30"} if error.http_status == 503 else None
    return error_response(error.http_status, error.code, error.message, error.fields, headers)


def _flatten(detail) -> dict:
    """DRF's nested validation detail as {"field": ["message", ...]}, nested fields dotted."""
    if isinstance(detail, list):
        if detail and all(isinstance(item, dict) for item in detail):
            flat = {}
            for index, item in enumerate(detail):
                for name, messages in _flatten(item).items():
                    flat[f"{index}.{name}"] = messages
            return flat
        return {"non_field_errors": [str(item) for item in detail]}
    flat = {}
    for name, value in detail.items():
        if isinstance(value, dict) or (
            value and isinstance(value, list) and isinstance(value[0], dict | list)
        ):
            for sub, messages in _flatten(value).items():
                flat[f"{name}.{sub}"] = messages
        else:
            flat[name] = [str(item) for item in (value if isinstance(value, list) else [value])]
    return flat


def _first_message(fields: dict) -> str:
    for name, messages in fields.items():
        if messages:
            prefix = "" if name == "non_field_errors" else f"{name}: "
            return f"{prefix}{messages[0]}"
    return "The request is invalid."


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "too_large", "The request body is too large.")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling and logging take over
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body("invalid", _first_message(fields), fields)
    elif isinstance(exc, exceptions.ParseError):
        response.data = error_body("malformed_request", f"The body is not valid JSON: {exc.detail}")
    else:
        code = ERROR_CODES.get(response.status_code, getattr(exc, "default_code", "error"))
        response.data = error_body(code, str(getattr(exc, "detail", exc)))
    return response


# --- Batches -----------------------------------------------------------------------------------


def validate_batch(
    request_data,
    *,
    key: str,
    item_serializer=None,
    max_items: int,
    context=None,
    check_item: Callable[[Any], tuple[Any, dict]] | None = None,
):
    """Split a bulk body `{key: [...]}` into valid items and per-item rejections.

    Returns (valid, rejected): `valid` holds (index, validated_data) pairs and `rejected` holds
    `{"index": i, "errors": {field: [messages]}}`, so good items are kept and bad ones are named.
    A body that is not a list, or holds more than `max_items`, is refused as a whole (400 / 413).

    Items are checked by `item_serializer`, or — on a hot path where a DRF serializer per item
    costs more than the write — by `check_item(item) -> (clean, errors)`, which returns its clean
    values with `{}`, or anything with `{field: [messages]}` naming every problem.
    """
    if not isinstance(request_data, dict) or not isinstance(request_data.get(key), list):
        raise exceptions.ValidationError({key: [f'Send {{"{key}": [...]}} with a list.']})
    items = request_data[key]
    if not items:
        raise exceptions.ValidationError({key: ["The list is empty."]})
    if len(items) > max_items:
        raise TooManyItems(f"At most {max_items} {key} per request; this one has {len(items)}.")
    valid, rejected = [], []
    if check_item is not None:
        for index, item in enumerate(items):
            clean, errors = check_item(item)
            if errors:
                rejected.append({"index": index, "errors": errors})
            else:
                valid.append((index, clean))
        return valid, rejected
    for index, item in enumerate(items):
        serializer = item_serializer(data=item, context=context or {})
        if serializer.is_valid():
            valid.append((index, serializer.validated_data))
        else:
            rejected.append({"index": index, "errors": _flatten(serializer.errors)})
    return valid, rejected


class TooManyItems(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


# --- Schema ------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `invalid`, `conflict`.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each offending input with its messages.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` names each problem.",
    "401": "No or unknown credentials.",
    "403": "Your role or your key's scopes do not allow this.",
    "404": "No such object, or not one you may see.",
    "409": "Conflicts with the current state.",
    "413": "The request is too large.",
    "415": "Send `Content-Type: application/json`.",
    "422": "The Idempotency-Key was used with a different request.",
    "503": "Maintenance or the database is unavailable; retry later.",
}


class OpsAutoSchema(AutoSchema):
    """Documents the error responses every endpoint can give, so clients (and schemathesis) know
    each status is meant."""

    def _error_statuses(self) -> list[str]:
        statuses = ["400", "401", "403"]
        if "{" in self.path:
            statuses.append("404")
        if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            statuses += ["409", "413", "415", "422", "503"]
        return statuses

    def get_tags(self) -> list[str]:
        segments = [part for part in self.path.split("/") if part and not part.startswith("{")]
        return [segments[2] if len(segments) > 2 else "api"]  # /api/v1/<tag>/...

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method in {"POST", "PUT", "PATCH"}:
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Send the same key when retrying; the first response is "
                    "replayed and the write happens once.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses
