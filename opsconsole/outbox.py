"""The transactional outbox: domain events leave the console only after their change commits.

`emit()` writes the event, and one Delivery per interested subscriber, in the caller's
transaction — so it belongs inside an operation. After the commit it kicks the relay; if Redis is
down the kick is lost but the rows are not, and beat's sweep delivers them once a worker runs.

The relay claims due deliveries by pushing their `next_attempt_at` a lease ahead under
`SKIP LOCKED`, so any number of workers share the work and a worker that dies mid-delivery only
delays its claims until the lease runs out. Delivery is at least once: consumers drop repeats by
the event id. Each request is signed: `X-Opsconsole-Signature: sha256=<hex>` is the HMAC-SHA256,
under the subscriber's secret, of `<X-Opsconsole-Timestamp>.<body>`.

Delivery bookkeeping is plumbing, not business state, so the relay writes it directly rather than
through operations; requeueing a dead delivery is an operation (`console.requeue_delivery`).
"""

import hashlib
import hmac
import json
import random
import time
from collections import Counter
from datetime import timedelta

import requests
import structlog
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from opsconsole.jobs import enqueue
from opsconsole.models import Delivery, DeliveryStatus, OutboxEvent, Subscriber
from opsconsole.registry import after_commit, current_operation

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)


def emit(event_type: str, *, aggregate: str, payload: dict) -> OutboxEvent:
    """Record a domain event in the current transaction; it is delivered after the commit."""
    operation = current_operation.get()
    if not operation:
        raise RuntimeError("emit() belongs inside an operation, in its transaction")
    event = OutboxEvent.objects.create(
        event_type=event_type, aggregate=aggregate, payload=payload, operation=operation
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(event=event, subscriber=subscriber, next_attempt_at=now)
        for subscriber in Subscriber.objects.filter(is_active=True)
        if subscriber.wants(event_type)
    )
    # One kick per transaction is enough, however many events it emits.
    if not any(hook is kick_relay for _, hook, _ in connection.run_on_commit):
        after_commit(kick_relay)
    return event


def kick_relay() -> None:
    from opsconsole.tasks import outbox_relay_task

    enqueue(outbox_relay_task)


def relay(*, batch_size: int = 100) -> Counter:
    """Deliver every due delivery; returns how many were delivered, retried and given up."""
    outcomes: Counter = Counter()
    with requests.Session() as session:
        while claimed := _claim(batch_size):
            for delivery in claimed:
                outcomes[_deliver(session, delivery)] += 1
    if outcomes:
        log.info("outbox.relayed", **outcomes)
    return outcomes


def _claim(batch_size: int) -> list[Delivery]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        Delivery.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE)
    return list(
        Delivery.objects.filter(id__in=ids).select_related("event", "subscriber").order_by("id")
    )


def event_body(event: OutboxEvent) -> bytes:
    document = {
        "id": str(event.id),
        "type": event.event_type,
        "aggregate": event.aggregate,
        "occurred_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, received: str) -> bool:
    """For consumers (and tests): is this the signature the relay would have sent?"""
    return hmac.compare_digest(signature(secret, timestamp, body), received)


def _deliver(session: requests.Session, delivery: Delivery) -> str:
    event, subscriber = delivery.event, delivery.subscriber
    body = event_body(event)
    timestamp = str(int(time.time()))
    attempt = delivery.attempts + 1
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "opsconsole-outbox/1",
        "X-Opsconsole-Event-Id": str(event.id),
        "X-Opsconsole-Event-Type": event.event_type,
        "X-Opsconsole-Timestamp": timestamp,
        "X-Opsconsole-Signature": signature(subscriber.secret, timestamp, body),
        "X-Opsconsole-Attempt": str(attempt),
    }
    status_code, error = None, ""
    try:
        response = session.post(
            subscriber.url,
            data=body,
            headers=headers,
            timeout=settings.OUTBOX_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]

    now = timezone.now()
    changes = {"attempts": attempt, "last_status_code": status_code, "last_error": error}
    if not error:
        changes |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now}
        outcome = "delivered"
    elif attempt >= settings.OUTBOX_MAX_ATTEMPTS:
        changes["status"] = DeliveryStatus.DEAD
        outcome = "dead"
        log.warning("outbox.delivery_dead", delivery=delivery.pk, subscriber=subscriber.name)
    else:
        changes["next_attempt_at"] = now + backoff(attempt)
        outcome = "retrying"
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    return outcome


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with ±20% jitter, capped, so a recovering subscriber is not stampeded."""
    seconds = min(
        settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1),
        settings.OUTBOX_BACKOFF_MAX_SECONDS,
    )
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))
