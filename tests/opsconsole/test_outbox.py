"""The outbox: events leave only after commit, signed, retried, never lost while Redis is down."""

import contextlib
import json
import time
from datetime import timedelta

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.test import override_settings
from django.utils import timezone

from opsconsole.celery import app as celery_app
from opsconsole.models import Delivery, DeliveryStatus, OutboxEvent, Subscriber
from opsconsole.outbox import emit, kick_relay, relay, verify_signature
from opsconsole.registry import Actor, OperationRegistry, operation
from tests.concurrency import run_concurrently
from tests.servers import RedisServer

local = OperationRegistry()


@operation("tests.announce", permission="opsconsole.add_tenant", into=local)
def announce(*, actor: Actor, count: int = 1, event_type: str = "tenant.frozen") -> list:
    return [
        emit(event_type, aggregate=f"tenant:TEN-{n}", payload={"n": n, "reason": "tests"})
        for n in range(count)
    ]


@pytest.fixture
def subscriber(db, webhook):
    return Subscriber.objects.create(
        name="platform", url=webhook.url, secret="s3cret", event_types=["tenant.frozen"]
    )


@contextlib.contextmanager
def celery_broker(url: str):
    """Point the Celery app at another broker for the length of a test."""
    previous = celery_app.conf.broker_url

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = url
    reset_pools()
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous
        reset_pools()


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.django_db
def test_emit_writes_the_event_and_a_delivery_per_interested_subscriber(subscriber, system):
    Subscriber.objects.create(
        name="billing", url="http://127.0.0.1:9/x", secret="x", event_types=["refund.requested"]
    )
    Subscriber.objects.create(
        name="everything", url="http://127.0.0.1:9/y", secret="y", event_types=["*"]
    )
    [event] = announce(actor=system).unwrap()
    assert event.operation == "tests.announce"
    assert set(event.deliveries.values_list("subscriber__name", flat=True)) == {
        "platform",
        "everything",
    }


@pytest.mark.django_db
def test_emit_outside_an_operation_is_a_programming_error():
    with pytest.raises(RuntimeError, match="inside an operation"):
        emit("tenant.frozen", aggregate="tenant:TEN-1", payload={})


@pytest.mark.django_db
def test_an_event_rolled_back_with_its_operation_is_never_sent(subscriber, system):
    @operation("tests.announce_then_fail", permission="x", into=OperationRegistry())
    def announce_then_fail(*, actor):
        emit("tenant.frozen", aggregate="tenant:TEN-1", payload={})
        raise RuntimeError("the change failed")

    assert not announce_then_fail(actor=system).ok
    assert not OutboxEvent.objects.exists() and not Delivery.objects.exists()


@pytest.mark.django_db
def test_relay_delivers_a_signed_event_the_subscriber_can_verify(subscriber, webhook, system):
    [event] = announce(actor=system).unwrap()
    assert relay() == {"delivered": 1}
    [request] = webhook.requests
    headers = request["headers"]
    assert headers["X-Opsconsole-Event-Id"] == str(event.id)
    assert verify_signature(
        "s3cret",
        headers["X-Opsconsole-Timestamp"],
        request["body"],
        headers["X-Opsconsole-Signature"],
    )
    assert not verify_signature(
        "wrong",
        headers["X-Opsconsole-Timestamp"],
        request["body"],
        headers["X-Opsconsole-Signature"],
    )
    body = json.loads(request["body"])
    assert body["type"] == "tenant.frozen" and body["data"] == {"n": 0, "reason": "tests"}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1


@pytest.mark.django_db
def test_a_failing_subscriber_is_retried_with_backoff_until_it_answers(subscriber, webhook, system):
    webhook.statuses = [500, 503]
    announce(actor=system).unwrap()
    assert relay() == {"retrying": 1}
    assert relay() == {}, "not due again before its backoff"
    delivery = Delivery.objects.get()
    assert delivery.last_status_code == 500 and delivery.next_attempt_at > timezone.now()
    with time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False):
        assert relay() == {"retrying": 1}
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        assert relay() == {"delivered": 1}
    assert len(webhook.requests) == 3 and len(set(webhook.event_ids())) == 1


@pytest.mark.django_db
@override_settings(OUTBOX_MAX_ATTEMPTS=2)
def test_after_its_last_attempt_a_delivery_is_marked_dead(subscriber, webhook, system):
    webhook.statuses = [500, 500]
    announce(actor=system).unwrap()
    relay()
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert relay() == {"dead": 1}
    assert Delivery.objects.get().status == DeliveryStatus.DEAD


@pytest.mark.django_db
def test_an_unreachable_subscriber_is_retried_not_lost(system):
    Subscriber.objects.create(
        name="down", url="http://127.0.0.1:9/hook", secret="x", event_types=["*"]
    )
    announce(actor=system).unwrap()
    assert relay() == {"retrying": 1}
    assert "ConnectionError" in Delivery.objects.get().last_error


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_deliver_each_event_exactly_once(subscriber, webhook, system):
    announce(actor=system, count=60).unwrap()

    run_concurrently(lambda: relay(batch_size=5), 2)
    ids = webhook.event_ids()
    assert len(ids) == 60 and len(set(ids)) == 60
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 60


@pytest.mark.django_db(transaction=True)
def test_events_wait_while_redis_is_down_and_are_delivered_when_it_returns(
    tmp_path, subscriber, webhook, system
):
    redis_server = RedisServer(tmp_path).start()
    with celery_broker(redis_server.url):
        redis_server.stop()
        result = announce(actor=system, count=3)  # commits; its kick to the relay cannot be sent
        assert result.ok, "a write must not fail because Redis is down"
        assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3
        assert webhook.requests == []

        redis_server.start()
        try:
            with start_worker(celery_app, pool="solo", perform_ping_check=False):
                kick_relay()  # what beat's sweep sends every 10 seconds
                wait_for(lambda: len(webhook.requests) == 3)
        finally:
            redis_server.stop()
    assert sorted(webhook.event_ids()) == sorted(str(event.id) for event in result.value)
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 3
