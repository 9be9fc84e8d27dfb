import pytest
from rest_framework.test import APIClient

from opsconsole.operations import api_key_create
from opsconsole.registry import Actor
from tests.factories import TenantFactory, UserFactory
from tests.servers import WebhookReceiver


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: cached state must never leak between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_user(db):
    def make(role: str | None = None, **fields):
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def login(make_user):
    """login(role) → a Django test client signed in as a new person with that role."""
    from django.test import Client

    def sign_in(role: str, **fields) -> Client:
        client = Client()
        client.force_login(make_user(role, **fields))
        return client

    return sign_in


@pytest.fixture
def api_as(make_user):
    """api_as(role) → a DRF client signed in (session) as a new person with that role."""

    def sign_in(role: str, **fields) -> APIClient:
        client = APIClient()
        client.force_login(make_user(role, **fields))
        return client

    return sign_in


@pytest.fixture
def service(db):
    """service(*scopes) → a DRF client sending a fresh API key with those scopes."""
    count = iter(range(1_000_000))

    def with_scopes(*scopes: str) -> APIClient:
        api_key = api_key_create(
            actor=Actor.for_system("tests"), name=f"svc-{next(count)}", scopes=list(scopes)
        ).unwrap()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key.raw_key}")
        client.api_key = api_key
        return client

    return with_scopes


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def system():
    return Actor.for_system("tests")


@pytest.fixture
def webhook():
    with WebhookReceiver() as receiver:
        yield receiver


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright keeps an event loop running in the test thread for the
    rest of the session, and Django refuses synchronous ORM calls from there."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
