from django.db import DatabaseError

from opsconsole.models import RuntimeMode
from opsconsole.navigation import nav_for
from opsconsole.roles import ROLE_LABELS
from opsconsole.selectors import runtime_switch_get


def current_item(request, sections) -> str:
    """The sidebar item for this page: its own view, else the item of the same entity
    (founder:action_detail → founder:action_list), else the first item of its app."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    items = [item for _, section_items in sections for item in section_items]
    for item in items:
        if item.url_name == match.view_name:
            return item.url_name
    entity = match.view_name.rsplit("_", 1)[0] + "_"
    for item in items:
        if item.url_name.startswith(entity):
            return item.url_name
    for item in items:
        if item.namespace and item.namespace == match.namespace:
            return item.url_name
    return ""


def console(request) -> dict:
    """The layout's context: the person's navigation and roles, and the runtime banner."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        switch = runtime_switch_get()
    except DatabaseError:
        switch = None
    sections = nav_for(user)
    return {
        "nav_sections": sections,
        "nav_current": current_item(request, sections),
        "user_roles": [ROLE_LABELS.get(name, name) for name in user.role_names()],
        "runtime": switch,
        "runtime_banner": switch is not None and switch.mode != RuntimeMode.NORMAL,
    }
