"""The compensation app's writes, one module per concern; importing this package registers them."""

from compensation.operations.decisions import (
    proposal_approve,
    proposal_cancel,
    proposal_reject,
    proposals_bulk_approve,
)
from compensation.operations.issuing import (
    issue_result_record,
    proposal_issue,
    proposal_issue_retry,
)
from compensation.operations.proposals import (
    proposal_create,
    proposals_create_for_affected_users,
    proposals_route_waiting,
)
from compensation.operations.settings import (
    approval_limit_set,
    budget_set,
    exchange_rate_set,
    fraud_flag_clear,
    fraud_flag_raise,
    policy_save,
)

__all__ = [
    "approval_limit_set",
    "budget_set",
    "exchange_rate_set",
    "fraud_flag_clear",
    "fraud_flag_raise",
    "issue_result_record",
    "policy_save",
    "proposal_approve",
    "proposal_cancel",
    "proposal_create",
    "proposal_issue",
    "proposal_issue_retry",
    "proposal_reject",
    "proposals_bulk_approve",
    "proposals_create_for_affected_users",
    "proposals_route_waiting",
]
