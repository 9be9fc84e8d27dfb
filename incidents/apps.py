from django.apps import AppConfig

from opsconsole.roles import CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER, SRE

READ = [
    "incidents.view_incident",
    "incidents.view_errorevent",
    "incidents.view_timelineentry",
    "incidents.view_affecteduser",
    "incidents.view_component",
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
