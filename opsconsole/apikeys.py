"""API keys for platform services: `Authorization: Api-Key <key>`; hashed, scoped, revocable.

A key is `oc_<prefix>_<secret>`. Only its SHA-256 is stored — keys are long random strings, so a
plain digest is as safe as a password hash and costs microseconds on the enforcement hot path.
Keys never reach a log: the authentication class logs only the prefix.
"""

import hashlib
import secrets

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from opsconsole.models import ApiKey

KEYWORD = "Api-Key"

SCOPES = {
    "tenants:write": "send tenants' reference data",
    "events:write": "send error, runtime and safety events",
    "incidents:read": "read incidents and their summaries",
    "enforcement:read": "read tenants' freeze and throttle state",
    "preflight:read": "ask for preflight and quality-gate decisions",
    "runtime:write": "send runtime events for supervision",
    "contracts:write": "submit contracts for founder review",
    "compensation:read": "read compensation proposals and their state",
    "compensation:write": "propose compensations and report issuing results",
}

# last_used_at is a hint for people, not an audit trail: write it at most this often.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """A new key and its prefix; the caller stores hash_key(key) and shows the key once."""
    prefix = secrets.token_hex(4)
    return f"oc_{prefix}_{secrets.token_urlsafe(32)}", prefix


def note_use(api_key: ApiKey) -> None:
    """Keep `last_used_at` to the minute, without a write on every request."""
    now = timezone.now()
    last_used = api_key.last_used_at
    if last_used is None or (now - last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


class ServicePrincipal:
    """`request.user` for a request authenticated by an API key: signed in, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.username = f"api-key:{api_key.name}"

    def __str__(self) -> str:
        return self.username

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj=None) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace") != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f"Send `Authorization: {KEYWORD} <key>`.")
        raw = header[1].decode(errors="replace")
        api_key = self.find_key(hash_key(raw))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        note_use(api_key)
        return ServicePrincipal(api_key), api_key

    def find_key(self, key_hash: str) -> ApiKey | None:
        """The active key with this hash. A hot endpoint may extend the query to fetch what it
        needs in the same round trip (founder's enforcement endpoint does)."""
        return ApiKey.objects.active().filter(key_hash=key_hash).first()

    def authenticate_header(self, request) -> str:
        return f'{KEYWORD} realm="opsconsole"'


class ConsoleAccess(BasePermission):
    """Who may call a view at all: people with the view's `required_permission`, services whose
    key holds its `required_scope`. A view that names neither admits no one — deny by default.
    Operations then check again what each write needs."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey):
            scope = getattr(view, "required_scope", None)
            if scope is None:
                self.message = "API keys may not call this endpoint."
                return False
            if scope not in request.auth.scopes:
                self.message = f"This API key lacks the scope {scope}."
                return False
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        permission = getattr(view, "required_permission", None)
        if permission is None:
            self.message = "This endpoint is for platform services, not people."
            return False
        if permission == "authenticated":
            return True
        self.message = "Your role does not allow this."
        return user.has_perm(permission)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents API-key authentication in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, created with `manage.py create_api_key`.",
        }
