"""Founder background work: recording expired actions."""

from celery import shared_task

from founder.operations import founder_actions_expire
from founder.selectors import lapsed_actions_exist
from opsconsole.registry import Actor


@shared_task(name="founder.expire_actions")
def founder_expire_actions_task() -> int:
    """Record actions whose time ran out as `expired` and publish their tenants' change.

    Only calls the operation when something is due, so a quiet schedule leaves no records. Safe
    twice or alongside itself: the operation locks the actions it settles and skips locked ones.
    """
    if not lapsed_actions_exist():
        return 0
    return founder_actions_expire(actor=Actor.for_system("founder.expire_actions")).unwrap()
