"""The operation registry: every write in the console is a named, registered operation.

    @operation("founder.freeze_tenant", permission="founder.freeze_tenant", target="tenant")
    def tenant_freeze(*, actor: Actor, tenant: Tenant, reason: str) -> FounderAction:
        ...

    result = tenant_freeze(actor=Actor.for_request(request), tenant=tenant, reason="...")
    if result.ok:
        action = result.value
    else:
        result.error.code, result.error.message, result.error.fields

Calling an operation checks the actor's permission and the runtime switch, runs the body in one
transaction with history context, and writes exactly one OperationRecord whatever the outcome:
successes inside the transaction, refusals and failures after it has rolled back, so they are
kept. Bodies signal expected failures by raising the errors below; the caller always gets a
Result. Side effects that leave the database (cache, Celery) go in `after_commit`.
"""

import functools
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

import pghistory
import structlog
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Model
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from opsconsole.models import ApiKey, OperationRecord, Outcome, RuntimeMode, RuntimeSwitch, User

log = structlog.get_logger(__name__)

# The operation running in this thread, for the outbox to note which operation emitted an event.
current_operation: ContextVar[str] = ContextVar("current_operation", default="")
# Its history context: pghistory merges a nested operation's context into the outer one's, so the
# outer operation puts its own back when the nested one returns.
_history_context: ContextVar[dict | None] = ContextVar("history_context", default=None)


# --- Who acts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who calls an operation: a person, a platform service's API key, or the system itself."""

    user: User | None = None
    api_key: ApiKey | None = None
    system: str = ""

    @classmethod
    def for_request(cls, request) -> "Actor":
        auth = getattr(request, "auth", None)
        if isinstance(auth, ApiKey):
            return cls(api_key=auth)
        if request.user.is_authenticated:
            return cls(user=request.user)
        raise Denied("Sign in first.")

    @classmethod
    def for_system(cls, job: str) -> "Actor":
        return cls(system=job)

    @cached_property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        if self.api_key is not None:
            return f"api-key:{self.api_key.name}"
        return f"system:{self.system}"

    @cached_property
    def roles(self) -> tuple[str, ...]:
        if self.user is not None:
            return tuple(self.user.role_names())
        return ()

    def may(self, spec: "OperationSpec") -> bool:
        if self.user is not None:
            return spec.permission is not None and self.user.has_perm(spec.permission)
        if self.api_key is not None:
            return spec.scope is not None and spec.scope in self.api_key.scopes
        return bool(self.system)


# --- What can go wrong ---------------------------------------------------------------------------


class OperationError(Exception):
    """An operation that did not happen, with a message for the person who asked."""

    outcome = Outcome.FAILED
    code = "failed"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class Invalid(OperationError):
    outcome = Outcome.INVALID
    code = "invalid"
    http_status = 400


class NotFound(Invalid):
    code = "not_found"
    http_status = 404


class Denied(OperationError):
    outcome = Outcome.DENIED
    code = "forbidden"
    http_status = 403


class Unavailable(Denied):
    code = "maintenance"
    http_status = 503


class Conflict(OperationError):
    outcome = Outcome.CONFLICT
    code = "conflict"
    http_status = 409


class DatabaseUnavailable(OperationError):
    code = "database_unavailable"
    http_status = 503


@dataclass(frozen=True)
class Result[T]:
    """What every operation returns: its value, or the error that stopped it."""

    value: T | None = None
    error: OperationError | None = None
    record_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> T:
        """The value, or the error raised — for an operation called from inside another."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


# --- The registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationSpec:
    name: str
    func: Callable[..., Any]
    permission: str | None
    scope: str | None
    target: str | None
    maintenance_ok: bool
    summary: str = field(default="")


class OperationRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, OperationSpec] = {}
        self._frozen = False

    def register(self, spec: OperationSpec) -> None:
        if self._frozen:
            raise RuntimeError(f"operation {spec.name} registered after the registry was closed")
        if spec.name in self._specs:
            raise RuntimeError(f"operation {spec.name} is registered twice")
        self._specs[spec.name] = spec

    def freeze(self) -> None:
        self._frozen = True

    @property
    def is_frozen(self) -> bool:
        return self._frozen

    def get(self, name: str) -> OperationSpec:
        return self._specs[name]

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __iter__(self) -> Iterator[OperationSpec]:
        return iter(sorted(self._specs.values(), key=lambda spec: spec.name))

    def status(self) -> dict[str, Any]:
        return {
            "frozen": self._frozen,
            "count": len(self._specs),
            "operations": self.names(),
            "runtime_mode": current_runtime_mode(),
        }


registry = OperationRegistry()


def operation(
    name: str,
    *,
    permission: str | None = None,
    scope: str | None = None,
    target: str | None = None,
    maintenance_ok: bool = False,
    into: OperationRegistry | None = None,
):
    """Register a service function as the operation `name`.

    permission: the Django permission a person needs ("app_label.codename").
    scope: the API-key scope a platform service needs; None means services may not call it.
    target: the keyword argument naming what the operation acts on; by default the model
        instance it returns.
    maintenance_ok: runs even in maintenance (only the switch back needs this).
    """

    def register(func: Callable[..., Any]) -> Callable[..., Result]:
        spec = OperationSpec(
            name=name,
            func=func,
            permission=permission,
            scope=scope,
            target=target,
            maintenance_ok=maintenance_ok,
            summary=(func.__doc__ or "").strip().split("\n")[0],
        )
        (into or registry).register(spec)

        @functools.wraps(func)
        def call(*, actor: Actor, **kwargs: Any) -> Result:
            return execute(spec, actor, kwargs)

        call.spec = spec  # type: ignore[attr-defined]
        return call

    return register


def current_runtime_mode() -> str:
    mode = RuntimeSwitch.objects.filter(pk=1).values_list("mode", flat=True).first()
    return mode or RuntimeMode.NORMAL


def after_commit(func: Callable[[], Any]) -> None:
    """Run a side effect once the current transaction has committed; a failing hook is logged
    and does not stop the others."""
    transaction.on_commit(func, robust=True)


# --- Execution -----------------------------------------------------------------------------------


def execute(spec: OperationSpec, actor: Actor, kwargs: dict[str, Any]) -> Result:
    if not isinstance(actor, Actor):
        raise TypeError(f"{spec.name} needs actor=Actor(...), got {actor!r}")
    started = time.perf_counter()
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    value = None
    try:
        mode = current_runtime_mode()
        if not actor.may(spec):
            raise Denied(f"{actor.label} may not {spec.name}.")
        if mode == RuntimeMode.MAINTENANCE and not spec.maintenance_ok:
            raise Unavailable("The console is in maintenance: changes are refused for now.")
        context = {"operation": spec.name, "actor": actor.label, "request_id": request_id}
        if isinstance(kwargs.get("reason"), str):
            context["reason"] = kwargs["reason"][:500]
        token = current_operation.set(spec.name)
        outer = _history_context.get()
        context_token = _history_context.set(context)
        try:
            with pghistory.context(**context), transaction.atomic():
                value = spec.func(actor=actor, **kwargs)
                record = _record(spec, actor, kwargs, value, mode, started, request_id)
        finally:
            current_operation.reset(token)
            _history_context.reset(context_token)
            if outer is not None:
                # Rows the outer operation writes next belong to it (and, pghistory keeping one
                # context per transaction, so does the whole transaction's history).
                pghistory.context(**outer)
    except Exception as exc:
        error = _as_operation_error(exc, spec)
        record = _record_failure(spec, actor, kwargs, error, request_id, started)
        return Result(error=error, record_id=record.pk if record else None)
    log.info(
        "operation.succeeded",
        operation=spec.name,
        actor=actor.label,
        duration_ms=round(record.duration_ms, 2),
    )
    return Result(value=value, record_id=record.pk)


def _as_operation_error(exc: Exception, spec: OperationSpec) -> OperationError:
    if isinstance(exc, OperationError):
        return exc
    if isinstance(exc, ValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return Invalid("; ".join(exc.messages), fields=fields)
    if isinstance(exc, TransitionNotAllowed | ConcurrentTransition):
        return Conflict(f"That change is not possible from the current state ({exc}).")
    if isinstance(exc, IntegrityError):
        sqlstate = getattr(exc.__cause__, "sqlstate", "")
        if sqlstate in {"23505", "23P01"}:  # unique or exclusion violation: someone got there first
            return Conflict("This conflicts with a change made at the same time; reload and retry.")
        return Invalid(f"The data breaks a rule of the database: {exc}".strip())
    if getattr(exc.__cause__, "sqlstate", "") in {"40P01", "40001"}:
        # A deadlock or serialization failure: a concurrent change won; nothing was written.
        return Conflict("Another change got in the way; nothing was changed. Retry.", code="retry")
    if isinstance(exc, OperationalError | InterfaceError):
        log.error("operation.database_unavailable", operation=spec.name, error=str(exc))
        return DatabaseUnavailable("The database is unavailable; nothing was changed. Retry.")
    log.exception("operation.crashed", operation=spec.name)
    return OperationError("Something went wrong; nothing was changed.", code="internal_error")


def _record(
    spec: OperationSpec,
    actor: Actor,
    kwargs: dict[str, Any],
    value: Any,
    mode: str,
    started: float,
    request_id: str,
    error: OperationError | None = None,
) -> OperationRecord:
    target = kwargs.get(spec.target) if spec.target else value
    target_fields = {}
    if isinstance(target, Model):
        target_fields = {
            "target_type": target._meta.label_lower,
            "target_id": str(target.pk),
            "target_repr": str(target)[:200],
        }
    return OperationRecord.objects.create(
        operation=spec.name,
        actor=actor.user,
        actor_label=actor.label,
        role=",".join(actor.roles)
        or ("service" if actor.api_key else "system" if actor.system else ""),
        parameters=summarize(kwargs),
        outcome=error.outcome if error else Outcome.OK,
        error_code=error.code if error else "",
        message=error.message if error else "",
        duration_ms=(time.perf_counter() - started) * 1000,
        request_id=request_id,
        runtime_mode=mode,
        **target_fields,
    )


def _record_failure(
    spec: OperationSpec,
    actor: Actor,
    kwargs: dict[str, Any],
    error: OperationError,
    request_id: str,
    started: float,
) -> OperationRecord | None:
    log.info(
        "operation.refused" if error.http_status < 500 else "operation.failed",
        operation=spec.name,
        actor=actor.label,
        code=error.code,
        message=error.message,
    )
    try:
        return _record(
            spec, actor, kwargs, None, current_runtime_mode(), started, request_id, error
        )
    except DatabaseError:
        log.exception("operation.record_lost", operation=spec.name, code=error.code)
        return None


SECRET_WORDS = ("password", "secret", "token", "key_hash")


def summarize(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A short, JSON-safe picture of an operation's arguments for its record; no secrets."""
    return {
        name: "***" if any(word in name for word in SECRET_WORDS) else _summarize_value(value)
        for name, value in kwargs.items()
    }


def _summarize_value(value: Any) -> Any:
    if isinstance(value, Model):
        return f"{value._meta.label_lower}:{value.pk}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        summary = [_summarize_value(item) for item in items[:10]]
        return summary if len(items) <= 10 else [*summary, f"… {len(items)} in all"]
    if isinstance(value, dict):
        return {str(key): _summarize_value(item) for key, item in list(value.items())[:20]}
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:200]
