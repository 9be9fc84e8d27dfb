from django.apps import AppConfig

from founder.panels import TenantPanel
from opsconsole.navigation import NavItem
from opsconsole.roles import CARE_AGENT, CARE_LEAD, FOUNDER, SRE


class FounderConfig(AppConfig):
    name = "founder"
    verbose_name = "Founder"

    role_permissions = {
        FOUNDER: [
            "founder.view_founderaction",
            "founder.freeze_tenant",
            "founder.throttle_tenant",
            "founder.override_incident",
            "founder.reverse_founderaction",
        ],
        # They answer the tenant who asks why it is frozen, or work the incident behind it.
        CARE_AGENT: ["founder.view_founderaction"],
        CARE_LEAD: ["founder.view_founderaction"],
        SRE: ["founder.view_founderaction"],
    }
    nav = (
        NavItem("Tenants", "founder:tenant_list", "opsconsole.view_tenant", order=10),
        NavItem("Founder actions", "founder:action_list", "founder.view_founderaction", order=20),
    )
    # The founder's pulse takes this over once it exists.
    home = {FOUNDER: "founder:tenant_list"}
    # The incidents app may take this over with its own template when its pages exist.
    tenant_panels = (
        TenantPanel(
            "Incidents",
            template="founder/_tenant_incidents.html",
            rows="incidents.selectors.tenant_incident_list",
            permission="incidents.view_incident",
            order=10,
            empty="No incident has touched this tenant.",
        ),
    )
