import time

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django_htmx.http import HttpResponseClientRedirect
from pghistory.middleware import HistoryMiddleware

log = structlog.get_logger(__name__)

LOGIN_AT = "opsconsole.login_at"
SEEN_AT = "opsconsole.seen_at"
# Touch the session at most this often: idle time is measured to the minute without a database
# write on every request.
SEEN_RESOLUTION_SECONDS = 60


class SessionTimeoutMiddleware:
    """Ends a person's session after SESSION_IDLE_TIMEOUT without a request, and always after
    SESSION_ABSOLUTE_TIMEOUT from sign-in, however active they are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            login_at = session.setdefault(LOGIN_AT, now)
            seen_at = session.get(SEEN_AT, now)
            idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
            absolute = settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
            if now - seen_at > idle or now - login_at > absolute:
                reason = "idle" if now - seen_at > idle else "absolute"
                log.info("session.expired", user=user.get_username(), reason=reason)
                logout(request)
                messages.info(request, "Your session ended; sign in again to continue.")
                if request.path.startswith(settings.API_PREFIX):
                    return self.get_response(request)  # now anonymous: the API answers 401
                return redirect_to_login(request.get_full_path())
            if now - seen_at >= SEEN_RESOLUTION_SECONDS or SEEN_AT not in session:
                session[SEEN_AT] = now
        return self.get_response(request)


class ConsoleLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in person unless its view says `login_not_required`.

    The JSON API is left to DRF, which authenticates people and services alike and answers 401
    rather than redirecting; the Swagger UI page is wrapped in login_required where it is routed.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(settings.API_PREFIX):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False):
            # A fragment request must not swap the login page into the fragment.
            return HttpResponseClientRedirect(response.url)
        return response


class HistoryContextMiddleware(HistoryMiddleware):
    """pghistory's request context (user, url) plus the request id, so that every row change —
    admin data fixes and bulk updates included — can be traced to the request that made it."""

    def get_context(self, request):
        context = super().get_context(request)
        context["request_id"] = structlog.contextvars.get_contextvars().get("request_id", "")
        return context
