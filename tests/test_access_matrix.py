"""Every role against every URL: exactly the roles in tests/<app>/access.py get in."""

import json

import pytest
from django.urls import get_resolver, reverse

from opsconsole.roles import ROLES
from tests.access import table

TABLE = table()


def named_urls(resolver=None, namespace="") -> set[str]:
    """Every named URL of the console except Django admin's (its own staff check guards it)."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if hasattr(pattern, "url_patterns"):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace != "admin":
                names |= named_urls(pattern, inner)
        elif pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_has_an_access_entry():
    """A new URL without a row in the role table fails here, by name."""
    missing = named_urls() - TABLE.keys()
    stale = TABLE.keys() - named_urls()
    assert not missing, f"URLs with no entry in tests/<app>/access.py: {sorted(missing)}"
    assert not stale, f"entries for URLs that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url_name", sorted(TABLE))
def test_role_gets_in_exactly_where_the_table_says(url_name, role, api_as):
    access = TABLE[url_name]
    client = api_as(role)
    url = reverse(url_name, kwargs=access.kwargs())
    if access.method == "GET":
        response = client.get(url)
    else:
        body = json.dumps(access.data())
        response = client.generic(access.method, url, data=body, content_type="application/json")
    if role in access.roles:
        assert response.status_code not in (401, 403), f"{role} was refused {url_name}"
        assert response.status_code < 500
    else:
        assert response.status_code == 403, f"{role} got {response.status_code} on {url_name}"
