from django.apps import AppConfig

from opsconsole.navigation import NavItem
from opsconsole.roles import CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER, SRE

READ = [
    "incidents.view_incident",
    "incidents.view_errorevent",
    "incidents.view_timelineentry",
    "incidents.view_affecteduser",
    "incidents.view_component",
    "incidents.view_pattern",
]
WORK = [
    "incidents.acknowledge_incident",
    "incidents.resolve_incident",
    "incidents.add_affecteduser",
]


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    role_permissions = {
        SRE: [*READ, *WORK, "incidents.add_component", "incidents.change_component"],
        FOUNDER: [*READ, *WORK, "incidents.override_incident"],
        CARE_AGENT: ["incidents.view_incident", "incidents.view_affecteduser"],
        CARE_LEAD: [
            "incidents.view_incident",
            "incidents.view_affecteduser",
            "incidents.add_affecteduser",
        ],
        FINANCE: ["incidents.view_incident"],
    }

    nav = (
        NavItem(
            "Incident overview",
            "incidents:overview",
            "incidents.view_errorevent",
            section="Reliability",
            order=10,
        ),
        NavItem(
            "Incidents", "incidents:incident_list", "incidents.view_incident", "Reliability", 20
        ),
        NavItem("Patterns", "incidents:pattern_list", "incidents.view_pattern", "Reliability", 30),
    )
    home = {SRE: "incidents:overview"}
