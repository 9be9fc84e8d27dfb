"""Roles are Django groups; what a role may do is the set of permissions its group holds.

Each app's AppConfig declares `role_permissions`, a mapping of role → "app_label.codename".
After every migrate, `sync_role_permissions` gives each group exactly the union of what the apps
declare, plus every `view_*` permission for `auditor` and every permission for `admin`, so the
table of who may do what lives next to the code it guards and never drifts in the database.
"""

from collections import defaultdict

from django.apps import apps

FOUNDER = "founder"
CARE_AGENT = "care_agent"
CARE_LEAD = "care_lead"
SRE = "sre"
FINANCE = "finance"
AUDITOR = "auditor"
ADMIN = "admin"

ROLES = (FOUNDER, CARE_AGENT, CARE_LEAD, SRE, FINANCE, AUDITOR, ADMIN)
ROLE_LABELS = {
    FOUNDER: "Founder",
    CARE_AGENT: "Care agent",
    CARE_LEAD: "Care lead",
    SRE: "SRE",
    FINANCE: "Finance",
    AUDITOR: "Auditor",
    ADMIN: "Admin",
}


def declared_permissions() -> dict[str, set[str]]:
    """role → {"app_label.codename"} as declared by the installed apps."""
    grants: dict[str, set[str]] = defaultdict(set)
    for config in apps.get_app_configs():
        for role, perms in getattr(config, "role_permissions", {}).items():
            if role not in ROLES:
                raise ValueError(f"{config.label} grants permissions to unknown role {role!r}")
            grants[role].update(perms)
    return grants


def sync_role_permissions(*, using: str = "default", **_kwargs) -> None:
    """post_migrate: make each role group hold exactly its declared permissions."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches apps one at a time; make sure every app's permissions exist first.
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using)

    every = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    grants = declared_permissions()
    grants[AUDITOR] |= {name for name in every if name.split(".", 1)[1].startswith("view_")}
    grants[ADMIN] = set(every)
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        unknown = grants[role] - set(every)
        if unknown:
            raise ValueError(f"role {role} is granted permissions that do not exist: {unknown}")
        group.permissions.set([every[name] for name in grants[role]])
