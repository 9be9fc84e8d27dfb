"""The incidents app's writes, one module per concern; importing this package registers them."""

from incidents.operations.bulk import (
    BulkOutcome,
    incidents_bulk_acknowledge,
    incidents_bulk_resolve,
)
from incidents.operations.fold import counters_fold
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
from incidents.operations.patterns import DetectionSummary, patterns_detect

__all__ = [
    "BulkOutcome",
    "DetectionSummary",
    "ErrorEventIn",
    "IngestSummary",
    "affected_users_attach",
    "counters_fold",
    "errors_ingest",
    "incident_acknowledge",
    "incident_assign",
    "incident_note_add",
    "incident_open_or_update",
    "incident_override",
    "incident_override_revert",
    "incident_reopen",
    "incident_resolve",
    "incidents_bulk_acknowledge",
    "incidents_bulk_resolve",
    "patterns_detect",
    "suppressions_end",
]
