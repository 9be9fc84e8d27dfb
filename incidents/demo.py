"""The incidents app's demo: a month of realistic history, made the way production makes it.

Components with their criticality and dependencies; thousands of error events sent through
incidents.ingest_errors at the moments they "happened" (the clock is moved with time-machine, so
opened/acknowledged/resolved times, MTTA and MTTR are real); incidents worked by the demo SRE and
founders through their operations — acknowledged, assigned, noted, resolved, some regressed, one
suppressed — a cascade from the main database an hour ago, and the patterns the detection job
finds. Idempotent: the events have fixed ids, and a seeded database is left as it is.
"""

import uuid
from datetime import datetime, timedelta

import time_machine

from incidents.models import Component, ErrorEvent, Incident, Status
from incidents.operations import (
    ErrorEventIn,
    affected_users_attach,
    errors_ingest,
    incident_acknowledge,
    incident_assign,
    incident_note_add,
    incident_override,
    incident_resolve,
    patterns_detect,
)
from incidents.operations.patterns import window_end_for
from opsconsole.demo import DemoContext
from opsconsole.models import Tenant
from opsconsole.registry import Actor

NAMESPACE = uuid.UUID("5f3f6a8e-2f0b-4c59-9f57-6f1b0f2f7c11")

# name → (criticality, upstream, description)
COMPONENTS = {
    "postgres-main": ("critical", None, "The primary database"),
    "booking-api": ("high", "postgres-main", "Bookings and availability"),
    "checkout": ("critical", "booking-api", "Cart, payment hand-off, confirmation"),
    "search": ("medium", "postgres-main", "Search and listings"),
    "trip-planner": ("medium", "search", "Itineraries"),
    "notifications": ("low", "booking-api", "E-mail, SMS and push"),
    "payments-psp": ("critical", None, "Payment service provider bridge"),
    "vendor-gateway": ("high", None, "Vendor and supplier connections"),
    "safety-monitor": ("critical", None, "Night-risk and route safety"),
    "auth": ("critical", None, "Sign-in and tokens"),
    "content": ("low", None, "Descriptions, photos, translations"),
}

# (component, error class, source, hint, message with variable parts)
# fmt: off
PROBLEMS = [
    ("checkout", "UpstreamTimeout", "prg", "error",
     "Booking API timed out after {n} ms for cart {uuid}"),
    ("checkout", "PaymentDeclined", "trutta", "warning",
     "PSP declined charge {ref} with code {n}"),
    ("checkout", "CartExpired", "prg", "info",
     "Cart {uuid} expired during payment step {n}"),
    ("payments-psp", "SettlementMismatch", "trutta", "error",
     "Settlement {ref} differs by {n} cents"),
    ("payments-psp", "RefundFailed", "trutta", "critical",
     "Refund {ref} failed: card issuer unavailable"),
    ("payments-psp", "ChargeRetry", "trutta", "",
     "Charge {ref} retried {n} times"),
    ("booking-api", "IntegrityError", "tjm", "error",
     "duplicate key value violates booking_slot_{n}"),
    ("booking-api", "ReadTimeout", "tjm", "warning",
     "Availability lookup timed out after {n} ms"),
    ("booking-api", "DeadlineExceeded", "tjm", "",
     "Inventory sync deadline exceeded after {n} s"),
    ("search", "SlowQuery", "prg", "warning",
     "Search query took {n} ms on the listings index"),
    ("search", "ValueError", "prg", "warning",
     "ValueError: bad price range {n}-{n} in filter"),
    ("trip-planner", "KeyError", "prg", "error",
     "KeyError: 'leg_{n}' while building itinerary {uuid}"),
    ("trip-planner", "RouteNotFound", "tjm", "info",
     "No route between stops {n} and {n}"),
    ("notifications", "SmtpError", "monitoring", "warning",
     "SMTP relay refused message {uuid} (421)"),
    ("notifications", "PushRejected", "monitoring", "info",
     "Push gateway rejected token {uuid}"),
    ("vendor-gateway", "VendorNoShow", "lem", "error",
     "Vendor VEN-{n} did not confirm pickup {ref}"),
    ("vendor-gateway", "PartnerApiError", "tjm", "error",
     "Partner API returned 502 for supplier {n}"),
    ("vendor-gateway", "SupplierFeedParse", "tjm", "warning",
     "Could not parse supplier feed line {n}"),
    ("safety-monitor", "NightRiskBreach", "lem", "critical",
     "Route {ref} flagged unsafe at night, score {n}"),
    ("safety-monitor", "CoverageGap", "lem", "error",
     "Coverage gap of {n} min for zone {ref}"),
    ("auth", "TokenExpired", "prg", "warning",
     "Token expired for session {uuid} after {n} s"),
    ("auth", "CsrfFailure", "prg", "warning",
     "CSRF token missing on form {n}"),
    ("content", "StaleTranslation", "console", "info",
     "Translation for listing {n} is stale (de-AT)"),
    ("content", "ImageResizeFailed", "console", "",
     "Could not resize photo {uuid}: {n} px too wide"),
]
# The cascade's own errors, in the order they broke: the database first, its dependants after.
CASCADE = [
    ("postgres-main", "ConnectionPoolExhausted", "monitoring", "critical",
     "Pool exhausted: {n} waiting clients"),
    ("booking-api", "DatabaseUnavailable", "tjm", "error",
     "No connection within {n} ms"),
    ("checkout", "BookingUnavailable", "prg", "error",
     "Booking service unavailable for cart {uuid}"),
    ("search", "SearchBackendError", "prg", "error",
     "Listing query failed: connection reset ({n})"),
    ("notifications", "QueueBacklog", "monitoring", "warning",
     "Notification backlog of {n} messages"),
]
# fmt: on
# Most bursts are small; a few are floods.
BURST_SIZES = [2, 3, 4, 6, 8, 12, 20, 35, 60, 90, 150, 400]
TENANT_SPREAD = [1, 1, 1, 2, 3, 5, 8, 20]
MARKETS = ["AT-VIE", "DE-BER", "FR-PAR", "ES-BCN", "GB-LON"]
NOTES = [
    "Rolled back the release; error rate back to baseline.",
    "Vendor fixed their endpoint; retries drained the queue.",
    "Raised the pool size and restarted the workers.",
    "Hotfix deployed: missing null check in the itinerary builder.",
    "PSP incident on their side; resolved upstream.",
]


def seed(context: DemoContext) -> None:
    if ErrorEvent.objects.filter(event_id=_event_id(0)).exists():
        context.say("  incidents: already seeded")
        return
    _seed_components()
    demo = _Demo(context)
    demo.history()
    demo.today()
    demo.cascade()
    context.say(
        f"  incidents: {Incident.objects.count()} incidents from "
        f"{ErrorEvent.objects.count()} events; {demo.patterns} patterns"
    )


def _seed_components() -> None:
    for name, (criticality, _, description) in COMPONENTS.items():
        Component.objects.update_or_create(
            name=name, defaults={"criticality": criticality, "description": description}
        )
    for name, (_, upstream, _) in COMPONENTS.items():
        if upstream:
            Component.objects.filter(name=name).update(
                upstream=Component.objects.get(name=upstream)
            )


def _event_id(number: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, str(number))


class _Demo:
    def __init__(self, context: DemoContext):
        self.context = context
        self.rng = context.rng
        self.now = context.now
        self.tenants = list(Tenant.objects.order_by("id").values_list("id", flat=True))
        self.sre = Actor(user=context.users["sre"])
        self.founder = Actor(user=context.users["founder"])
        self.founder2 = Actor(user=context.users["founder2"])
        self.numbered = 0
        self.patterns = 0

    # --- sending errors ------------------------------------------------------------------------

    def _message(self, template: str) -> str:
        return template.format(
            n=self.rng.randint(2, 9999),
            uuid=uuid.UUID(int=self.rng.getrandbits(128)),
            ref=f"PRS-{self.rng.randint(100, 99999)}",
            market=self.rng.choice(MARKETS),
        )

    def burst(
        self, problem: tuple, at: datetime, events: int, tenants: int, session: str = ""
    ) -> Incident:
        """`events` errors of one problem from `tenants` tenants over the minutes before `at`."""
        component, error_class, source, hint, template = problem
        hit = self.rng.sample(self.tenants, min(tenants, len(self.tenants)))
        batch = []
        for _ in range(events):
            context = {"market": self.rng.choice(MARKETS), "product_version": "4.2.1"}
            if session:
                context["session"] = session
            batch.append(
                ErrorEventIn(
                    event_id=_event_id(self.numbered),
                    tenant_id=self.rng.choice(hit),
                    component=component,
                    error_class=error_class,
                    message=self._message(template),
                    occurred_at=at - timedelta(seconds=self.rng.randint(0, 600)),
                    source=source,
                    severity_hint=hint,
                    context=context,
                )
            )
            self.numbered += 1
        incident_ids = []
        with time_machine.travel(at, tick=False):
            for start in range(0, len(batch), 500):
                summary = errors_ingest(
                    actor=Actor.for_system("demo.platform"), events=batch[start : start + 500]
                ).unwrap()
                incident_ids += summary.incident_ids
        return Incident.objects.get(pk=incident_ids[0])

    def work(self, incident: Incident, at: datetime, *, ack_after, resolve_after=None) -> None:
        """Acknowledge (and resolve) as the people on call would have, at those moments."""
        who = self.rng.choice([self.sre, self.sre, self.founder])
        with time_machine.travel(at + ack_after, tick=False):
            incident_acknowledge(actor=who, incident=incident)
            if self.rng.random() < 0.4:
                incident_assign(actor=who, incident=incident, assignee=self.sre.user)
        if resolve_after is not None:
            with time_machine.travel(at + resolve_after, tick=False):
                incident_resolve(actor=who, incident=incident, note=self.rng.choice(NOTES))

    def detect(self, at: datetime) -> None:
        summary = patterns_detect(
            actor=Actor.for_system("incidents.detect_patterns"), window_end=window_end_for(at)
        ).unwrap()
        self.patterns += summary.created

    # --- the story -----------------------------------------------------------------------------

    def history(self) -> None:
        """Thirty days of incidents that came, were worked and went; some came back."""
        for days_ago in range(30, 0, -1):
            day = self.now - timedelta(days=days_ago)
            for problem in self.rng.sample(PROBLEMS, self.rng.randint(1, 4)):
                at = day.replace(hour=self.rng.randint(6, 22), minute=self.rng.randint(0, 59))
                size, spread = self.rng.choice(BURST_SIZES), self.rng.choice(TENANT_SPREAD)
                incident = self.burst(problem, at, size, spread)
                if incident.status != Status.OPEN and incident.status != Status.REGRESSED:
                    continue
                self.work(
                    incident,
                    at,
                    ack_after=timedelta(minutes=self.rng.randint(2, 45)),
                    resolve_after=timedelta(minutes=self.rng.randint(50, 600)),
                )
            if days_ago % 4 == 0:
                self.detect(day.replace(hour=23, minute=0))

    def today(self) -> None:
        """Active incidents in every state, for the SRE to work."""
        hours = [timedelta(hours=h) for h in (7, 5, 4, 3, 2.5, 2, 1.5, 0.5)]
        incidents = [
            self.burst(
                problem,
                self.now - ago,
                self.rng.choice(BURST_SIZES),
                self.rng.choice(TENANT_SPREAD),
            )
            for problem, ago in zip(self.rng.sample(PROBLEMS, len(hours)), hours, strict=True)
        ]
        first, second, third, fourth = incidents[:4]
        self.work(first, self.now - hours[0], ack_after=timedelta(minutes=12))
        self.work(second, self.now - hours[1], ack_after=timedelta(minutes=4))
        for incident, ago in zip(incidents[4:6], hours[4:6], strict=True):
            self.work(incident, self.now - ago, ack_after=timedelta(minutes=9))
        with time_machine.travel(self.now - timedelta(hours=3), tick=False):
            incident_note_add(
                actor=self.sre,
                incident=second,
                text="Suspect the 4.2.1 rollout; comparing error rates per version.",
            )
        with time_machine.travel(self.now - timedelta(hours=2), tick=False):
            incident_override(
                actor=self.founder2,
                incident=third,
                reason="Known vendor maintenance window, customers informed.",
                suppress_until=self.now + timedelta(hours=6),
            )
            affected_users_attach(
                actor=self.sre,
                incident=fourth,
                source="context",
                users=[
                    {
                        "user_ref": f"USR-{4000 + number}",
                        "order_amount": 20 + number * 7,
                        "currency": "EUR",
                        "product": "city-tour",
                        "market": self.rng.choice(MARKETS),
                        "occurred_at": self.now - timedelta(hours=2),
                    }
                    for number in range(12)
                ],
            )
        self.detect(self.now - timedelta(minutes=20))

    def cascade(self) -> None:
        """The main database ran out of connections an hour ago; everything above it followed,
        the same checkout sessions failing in each."""
        start = self.now - timedelta(hours=1)
        for step, problem in enumerate(CASCADE):
            at = start + timedelta(minutes=2 * step)
            self.burst(problem, at, self.rng.randint(40, 120), 25, session="sess-7f3a9c")
        self.detect(start + timedelta(minutes=15))
