"""Every URL and method as an anonymous visitor: pages send them to sign in, the API answers 401,
and only an exact allowlist answers anything else."""

import re
import uuid

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

METHODS = ("get", "post", "put", "patch", "delete")

# (url name, method) → the status an anonymous visitor gets; everything else is covered by the
# general rule. These are the only URLs that answer anonymous visitors with something other than
# "sign in first".
ALLOWLIST = {
    ("login", "get"): 200,
    ("login", "post"): 200,  # the form again, with its errors
    ("healthz", "get"): 200,
    ("readyz", "get"): 200,
}
# Open URLs that refuse other methods (405) or pass the visitor on to sign in (302).
OPEN_URLS = {"login", "healthz", "readyz", "admin_login", "logout"}

SAMPLE_VALUES = {"app_label": "opsconsole", "ref": "TEN-101"}


def _sample(name: str, converter) -> object:
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    kind = type(converter).__name__ if converter else ""
    if kind == "IntConverter":
        return 1
    if kind == "UUIDConverter":
        return uuid.UUID(int=1)
    return "1"


def _walk(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def every_url() -> list[tuple[str, str]]:
    urls = []
    for name, pattern in _walk(get_resolver().url_patterns):
        converters = getattr(pattern.pattern, "converters", {})
        groups = re.findall(r"\(\?P<(\w+)>", str(pattern.pattern))
        params = set(converters) | set(groups)
        kwargs = {param: _sample(param, converters.get(param)) for param in params}
        try:
            urls.append((name, reverse(name, kwargs=kwargs)))
        except Exception as exc:  # pragma: no cover - a URL we cannot build is a test bug
            raise AssertionError(f"cannot build a sample URL for {name}: {exc}") from exc
    return urls


URLS = every_url()


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("name", "path"), URLS, ids=[name for name, _ in URLS])
def test_anonymous_visitor(client, name, path, method):
    response = getattr(client, method)(path)
    status = response.status_code
    assert status < 500, f"{method.upper()} {path} crashed for an anonymous visitor"
    if (name, method) in ALLOWLIST:
        assert status == ALLOWLIST[(name, method)]
    elif name in OPEN_URLS:
        assert status in (302, 405), f"{method.upper()} {path}: {status}"
    elif path.startswith(settings.API_PREFIX) and not path.startswith(settings.API_DOCS_PATH):
        assert status == 401, f"{method.upper()} {path}: {status}"
        assert response.json()["error"]["code"] == "not_authenticated"
    else:
        assert status == 302, f"{method.upper()} {path} answered {status}"
        assert response.url.split("?")[0] in ("/login/", "/admin/login/")


@pytest.mark.django_db
def test_static_files_are_served_to_anyone(client):
    response = client.get("/static/css/console.css")
    assert response.status_code == 200


def test_sweep_covers_the_api_and_admin():
    """The sweep would be meaningless if URL discovery silently missed whole areas."""
    names = {name for name, _ in URLS}
    assert "tenant_upsert" in names and "admin:index" in names and "api_schema" in names
