"""The console's URLs plus the enforcement benchmark's floor: a bare JSON view under /api/ (so the
same middleware runs for both), with an answer shaped like the enforcement endpoint's."""

from django.http import JsonResponse
from django.urls import path

from opsconsole.urls import urlpatterns as console

BARE_ANSWER = {
    "tenant": "TEN-1",
    "state": "active",
    "throttle_rpm": None,
    "until": None,
    "reason_code": None,
    "action_id": None,
    "version": 0,
}


def bare(request, ref: str):
    return JsonResponse(BARE_ANSWER)


urlpatterns = [path("api/v1/bench/bare/<str:ref>", bare), *console]
