"""The incidents app's writes, one module per concern; importing this package registers them."""

from incidents.operations.ingest import ErrorEventIn, IngestSummary, errors_ingest
from incidents.operations.lifecycle import (
    affected_users_attach,
    incident_acknowledge,
    incident_assign,
    incident_note_add,
    incident_open_or_update,
    incident_override,
    incident_override_revert,
    incident_reopen,
    incident_resolve,
    suppressions_end,
)

__all__ = [
    "ErrorEventIn",
    "IngestSummary",
    "affected_users_attach",
    "errors_ingest",
    "incident_acknowledge",
    "incident_assign",
    "incident_note_add",
    "incident_open_or_update",
    "incident_override",
    "incident_override_revert",
    "incident_reopen",
    "incident_resolve",
    "suppressions_end",
]
