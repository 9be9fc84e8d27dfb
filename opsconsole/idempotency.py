"""Idempotency keys: a retried write gets the first response instead of doing the work twice.

API views decorate their write handlers with `@idempotent`; a request that carries an
`Idempotency-Key` header then runs at most once per caller and key. A concurrent repeat waits on
the key's row lock and replays the first response; the same key with a different body is a 422.
Server errors are not kept, so the caller may retry them. HTML forms use `claim()` with a one-shot
token rendered into the form.
"""

import contextlib
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.response import Response

from opsconsole.api import IDEMPOTENCY_HEADER as HEADER
from opsconsole.api import error_response
from opsconsole.models import ApiKey, IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass
class Slot:
    row: IdempotencyKey
    request_hash: str

    @property
    def mismatched(self) -> bool:
        return self.row.request_hash != self.request_hash

    @property
    def completed(self) -> bool:
        return self.row.status_code is not None

    def store(self, status_code: int, body) -> None:
        self.row.status_code = status_code
        self.row.response_body = body
        self.row.save(update_fields=["status_code", "response_body"])

    def release(self) -> None:
        """Forget the key (after a server error) so the caller may retry it."""
        self.row.delete()


@contextlib.contextmanager
def claim(*, owner: str, key: str, request_hash: str) -> Iterator[Slot]:
    """Hold the key for the length of a transaction; callers check the slot, then work or replay."""
    with transaction.atomic():
        IdempotencyKey.objects.bulk_create(
            [IdempotencyKey(owner=owner, key=key, request_hash=request_hash)],
            ignore_conflicts=True,
        )
        row = IdempotencyKey.objects.select_for_update().get(owner=owner, key=key)
        if row.created_at < timezone.now() - settings.IDEMPOTENCY_KEY_TTL:
            row.request_hash, row.status_code, row.response_body = request_hash, None, None
            row.created_at = timezone.now()
            row.save()
        yield Slot(row=row, request_hash=request_hash)


def owner_of(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"api-key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def request_digest(request) -> str:
    try:
        canonical = json.dumps(json.loads(request.body or b"null"), sort_keys=True).encode()
    except ValueError:
        canonical = request.body
    material = f"{request.method} {request.path}\n".encode() + canonical
    return hashlib.sha256(material).hexdigest()


def idempotent(handler):
    """Decorate a DRF view's write handler (`post`, `patch`...) to honour Idempotency-Key."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return error_response(
                400,
                "invalid_idempotency_key",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.",
                fields={HEADER: ["1 to 255 characters."]},
            )
        with claim(owner=owner_of(request), key=key, request_hash=request_digest(request)) as slot:
            if slot.mismatched:
                return error_response(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was already used with a different request.",
                )
            if slot.completed:
                return Response(
                    slot.row.response_body,
                    status=slot.row.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = handler(view, request, *args, **kwargs)
            if response.status_code >= 500:
                slot.release()
            else:
                slot.store(response.status_code, response.data)
            return response

    return wrapper
