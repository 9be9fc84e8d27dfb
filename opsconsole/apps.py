from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules

from opsconsole.navigation import NavItem
from opsconsole.roles import ADMIN, AUDITOR, CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER, SRE

EVERY_ROLE = (FOUNDER, CARE_AGENT, CARE_LEAD, SRE, FINANCE, AUDITOR, ADMIN)


class OpsconsoleConfig(AppConfig):
    name = "opsconsole"
    verbose_name = "Console kernel"

    role_permissions = {
        role: ["opsconsole.view_tenant", "opsconsole.view_jobrun"] for role in EVERY_ROLE
    }
    nav = (
        NavItem("Jobs", "job_list", "opsconsole.view_jobrun", section="System", order=10),
        NavItem(
            "Operations log",
            "operation_record_list",
            "opsconsole.view_operationrecord",
            section="System",
            order=20,
        ),
        NavItem(
            "Runtime switch",
            "runtime_switch",
            "opsconsole.set_runtime_mode",
            section="System",
            order=30,
        ),
    )

    def ready(self) -> None:
        from opsconsole.registry import registry
        from opsconsole.roles import sync_role_permissions

        # Every app's operations register on import; after this, the registry is closed.
        autodiscover_modules("operations")
        registry.freeze()
        post_migrate.connect(
            sync_role_permissions, sender=self, dispatch_uid="opsconsole.sync_role_permissions"
        )
