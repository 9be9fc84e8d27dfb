"""Keyset pages: every row once, in order, both ways, with no COUNT over the table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsconsole.models import Tenant
from opsconsole.pagination import InvalidCursor, paginate
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

ORDERING = ("name", "id")


@pytest.fixture
def tenants():
    # Repeated names make the id tie-breaker matter.
    return [TenantFactory(name=f"Tenant {n // 3:02d}") for n in range(23)]


def walk_forward(size):
    seen, cursor = [], None
    while True:
        page = paginate(Tenant.objects.all(), ordering=ORDERING, cursor=cursor, size=size)
        seen.extend(page.items)
        if not page.next_cursor:
            return seen, page
        cursor = page.next_cursor


def test_walking_forward_yields_every_row_once_in_order(tenants):
    seen, _ = walk_forward(5)
    expected = sorted(tenants, key=lambda tenant: (tenant.name, tenant.id))
    assert [tenant.pk for tenant in seen] == [tenant.pk for tenant in expected]


def test_walking_back_returns_the_same_pages(tenants):
    first = paginate(Tenant.objects.all(), ordering=ORDERING, cursor=None, size=5)
    second = paginate(Tenant.objects.all(), ordering=ORDERING, cursor=first.next_cursor, size=5)
    back = paginate(Tenant.objects.all(), ordering=ORDERING, cursor=second.previous_cursor, size=5)
    assert [tenant.pk for tenant in back.items] == [tenant.pk for tenant in first.items]
    assert back.is_first and first.is_first and not second.is_first


def test_a_page_costs_one_query_and_never_counts(tenants):
    page = paginate(Tenant.objects.all(), ordering=ORDERING, cursor=None, size=5)
    with CaptureQueriesContext(connection) as queries:
        paginate(Tenant.objects.all(), ordering=ORDERING, cursor=page.next_cursor, size=5)
    assert len(queries) == 1 and "COUNT(" not in queries[0]["sql"].upper()


@pytest.mark.parametrize("cursor", ["garbage", "WyJuIiwgWzFdXQ", "WyJ4IiwgWzEsIDJdXQ"])
def test_a_cursor_the_console_did_not_make_is_refused(cursor):
    with pytest.raises(InvalidCursor):
        paginate(Tenant.objects.all(), ordering=ORDERING, cursor=cursor, size=5)
