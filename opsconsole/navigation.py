"""What each person sees in the sidebar and where they land after signing in.

Apps declare `nav` (NavItems) and `home` (role → URL name) on their AppConfig; the sidebar shows
the items whose permission the person holds, so navigation always follows the role table.
"""

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    section: str = "Operate"
    order: int = 50

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    @property
    def namespace(self) -> str:
        return self.url_name.split(":", 1)[0] if ":" in self.url_name else ""


SECTIONS = ("Overview", "Operate", "Reliability", "Money", "Review", "System")


def nav_items() -> list[NavItem]:
    items = [item for config in apps.get_app_configs() for item in getattr(config, "nav", ())]
    return sorted(items, key=lambda item: (SECTIONS.index(item.section), item.order, item.label))


def nav_for(user) -> list[tuple[str, list[NavItem]]]:
    visible = [item for item in nav_items() if user.has_perm(item.permission)]
    return [
        (section, [item for item in visible if item.section == section])
        for section in SECTIONS
        if any(item.section == section for item in visible)
    ]


def home_for(user) -> str:
    """The URL name of the first home page an app offers one of the person's roles."""
    roles = set(user.role_names())
    for config in apps.get_app_configs():
        for role, url_name in getattr(config, "home", {}).items():
            if role in roles:
                return url_name
    return "dashboard"
