"""factory_boy factories for the kernel's models; apps keep theirs in tests/<app>/factories.py."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from opsconsole.models import Plan, Segment, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("ref",)

    ref = factory.Sequence(lambda n: f"TEN-{9000 + n}")
    name = factory.Sequence(lambda n: f"Tenant {n} GmbH")
    segment = Segment.SMB
    plan = Plan.GROWTH
    market = "AT-VIE"
    mrr = Decimal("500.00")
    created_at = factory.LazyFunction(lambda: datetime(2025, 1, 1, tzinfo=UTC))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Sequence(lambda n: f"Person{n}")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(self, create, role, **kwargs):
        if create and role:
            self.groups.add(Group.objects.get(name=role))
            if role == "admin":
                self.is_staff = True
                self.save(update_fields=["is_staff"])
