"""Error pages: HTML for people, the API's error shape under /api/."""

from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

from opsconsole.api import error_body


def _respond(request, status: int, code: str, title: str, message: str):
    if request.path.startswith(settings.API_PREFIX):
        return JsonResponse(error_body(code, message), status=status)
    context = {"status": status, "title": title, "message": message}
    return render(request, "error.html", context, status=status)


def bad_request(request, exception=None):
    return _respond(request, 400, "invalid", "Bad request", "The request could not be understood.")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else "Your role does not allow this."
    return _respond(request, 403, "forbidden", "Not allowed", message)


def page_not_found(request, exception=None):
    return _respond(request, 404, "not_found", "Not found", "There is nothing at this address.")


def server_error(request):
    message = "Something went wrong on our side; nothing you did was lost. Try again shortly."
    if request.path.startswith(settings.API_PREFIX):
        return JsonResponse(error_body("internal_error", message), status=500)
    # Rendered without the request's context: whatever failed (the database, say) must not fail
    # the error page too.
    return HttpResponseServerError(loader.get_template("500.html").render({"message": message}))
