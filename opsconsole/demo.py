"""The kernel's demo data: one person per role and a few hundred tenants.

`manage.py seed_demo` runs this first, then every installed app's `demo.seed(context)`, in
INSTALLED_APPS order. Each seed is idempotent — natural keys, get-or-create — so the command can
run any number of times. Demo writes go through operations, as a system actor, wherever an
operation exists for them.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from opsconsole.models import Plan, Segment, Tenant, User
from opsconsole.operations import tenants_upsert
from opsconsole.registry import Actor
from opsconsole.roles import ADMIN, AUDITOR, CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER, SRE

DEFAULT_PASSWORD = "opsconsole-demo"  # noqa: S105 - documented demo password, refused in production

# username → (role, display name)
DEMO_USERS = {
    "founder": (FOUNDER, "Fiona Founder"),
    "founder2": (FOUNDER, "Felix Cofounder"),
    "care": (CARE_AGENT, "Carla Care"),
    "carelead": (CARE_LEAD, "Leo Lead"),
    "sre": (SRE, "Sam Reliability"),
    "finance": (FINANCE, "Finn Ledger"),
    "auditor": (AUDITOR, "Ada Auditor"),
    "admin": (ADMIN, "Alex Admin"),
}

MARKETS = [
    "AT-VIE",
    "DE-BER",
    "DE-MUC",
    "FR-PAR",
    "IT-ROM",
    "ES-BCN",
    "NL-AMS",
    "CZ-PRG",
    "PL-WAW",
    "GB-LON",
]
SEGMENT_MRR = {
    Segment.ENTERPRISE: (8_000, 60_000),
    Segment.MID_MARKET: (1_500, 8_000),
    Segment.SMB: (200, 1_500),
    Segment.SELF_SERVE: (20, 200),
}
SEGMENT_PLAN = {
    Segment.ENTERPRISE: Plan.ENTERPRISE,
    Segment.MID_MARKET: Plan.SCALE,
    Segment.SMB: Plan.GROWTH,
    Segment.SELF_SERVE: Plan.STARTER,
}
FIRST = [
    "Alpine",
    "Blue",
    "Cedar",
    "Danube",
    "Echo",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nordic",
    "Orbit",
    "Pine",
    "Quartz",
    "River",
    "Summit",
    "Tram",
]
SECOND = ["Coffee", "Tours", "Travel", "Mobility", "Hotels", "Events", "Dining", "Rides"]
SUFFIX = ["GmbH", "Ltd", "SA", "Co"]
TENANT_COUNT = 240


@dataclass
class DemoContext:
    actor: Actor
    users: dict[str, User]
    rng: random.Random
    now: datetime
    stdout: object = None
    notes: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        if self.stdout is not None:
            self.stdout.write(line)


def seed_users(password: str) -> dict[str, User]:
    users = {}
    for username, (role, full_name) in DEMO_USERS.items():
        first, last = full_name.split(" ", 1)
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@opsconsole.example"
        user.is_staff = user.is_superuser = role == ADMIN
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        users[username] = user
    return users


def demo_tenants(rng: random.Random, now: datetime) -> list[dict]:
    segments = list(SEGMENT_MRR)
    weights = [1, 3, 6, 4]
    tenants = []
    for number in range(1, TENANT_COUNT + 1):
        segment = rng.choices(segments, weights)[0]
        low, high = SEGMENT_MRR[segment]
        name = f"{FIRST[number % len(FIRST)]} {SECOND[(number // len(FIRST)) % len(SECOND)]}"
        tenants.append(
            {
                "ref": f"TEN-{100 + number}",
                "name": f"{name} {SUFFIX[number % len(SUFFIX)]}",
                "segment": segment,
                "plan": SEGMENT_PLAN[segment],
                "market": rng.choice(MARKETS),
                "mrr": Decimal(rng.randint(low, high)),
                "created_at": now - timedelta(days=rng.randint(30, 1100)),
            }
        )
    return tenants


def seed(context: DemoContext) -> None:
    count = tenants_upsert(
        actor=context.actor, tenants=demo_tenants(context.rng, context.now)
    ).unwrap()
    context.say(f"  tenants: {count} (now {Tenant.objects.count()} in all)")


def new_context(*, stdout=None) -> DemoContext:
    return DemoContext(
        actor=Actor.for_system("seed_demo"),
        users={},
        rng=random.Random(20261122),
        now=timezone.now(),
        stdout=stdout,
    )
