"""The incidents app's rows of the role-by-URL table."""

from opsconsole.roles import ADMIN, AUDITOR, FOUNDER, SRE
from tests.access import EVERY_ROLE, Access

READERS = EVERY_ROLE  # every role may see incidents (care and finance work from them)
ANALYSTS = frozenset({SRE, FOUNDER, AUDITOR, ADMIN})  # error counts and patterns
WORKERS = frozenset({SRE, FOUNDER, ADMIN})  # acknowledge, assign, annotate, resolve, reopen


def _incident() -> dict:
    from tests.incidents.factories import incident_with_events

    return {"pk": incident_with_events().pk}


ACCESS = {
    # pages
    "incidents:incident_list": Access(READERS),
    "incidents:incident_detail": Access(READERS, kwargs=_incident),
    "incidents:overview": Access(ANALYSTS),
    "incidents:pattern_list": Access(ANALYSTS),
    "incidents:incident_bulk": Access(WORKERS, method="POST"),
    "incidents:incident_acknowledge": Access(WORKERS, method="POST", kwargs=_incident),
    "incidents:incident_resolve": Access(WORKERS, method="POST", kwargs=_incident),
    "incidents:incident_reopen": Access(WORKERS, method="POST", kwargs=_incident),
    "incidents:incident_assign": Access(WORKERS, method="POST", kwargs=_incident),
    "incidents:incident_note": Access(WORKERS, method="POST", kwargs=_incident),
    # API
    "incidents_api:error_events_ingest": Access(
        frozenset({ADMIN}), method="POST", data=lambda: {"events": []}
    ),
    "incidents_api:incident_list": Access(READERS),
    "incidents_api:incident_detail": Access(READERS, kwargs=_incident),
    "incidents_api:incident_summary": Access(ANALYSTS),
    "incidents_api:pattern_list": Access(ANALYSTS),
    "incidents_api:incident_acknowledge": Access(WORKERS, method="POST", kwargs=_incident),
    "incidents_api:incident_resolve": Access(
        WORKERS, method="POST", kwargs=_incident, data=lambda: {"note": "fixed by rollback"}
    ),
    "incidents_api:incident_reopen": Access(
        WORKERS, method="POST", kwargs=_incident, data=lambda: {"reason": "still broken"}
    ),
    "incidents_api:incident_assign": Access(
        WORKERS, method="POST", kwargs=_incident, data=lambda: {"assignee": None}
    ),
    "incidents_api:incident_notes": Access(
        WORKERS, method="POST", kwargs=_incident, data=lambda: {"text": "looking"}
    ),
}
