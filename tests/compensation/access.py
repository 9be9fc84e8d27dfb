from opsconsole.roles import ADMIN, AUDITOR, CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER
from tests.access import Access

READERS = frozenset({CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER, AUDITOR, ADMIN})
DECIDERS = frozenset({CARE_AGENT, CARE_LEAD, FINANCE, ADMIN})
PROPOSERS = frozenset({CARE_AGENT, CARE_LEAD, ADMIN})
LEADS_AND_FINANCE = frozenset({CARE_LEAD, FINANCE, ADMIN})
COST = frozenset({FINANCE, FOUNDER, AUDITOR, ADMIN})


def _decided() -> dict:
    """A rejected proposal: every allowed role gets a 409 or a redirect, never a 403."""
    from tests.compensation.factories import rejected_proposal

    return {"pk": rejected_proposal().pk}


def _policy() -> dict:
    from tests.compensation.factories import policy

    return {"pk": policy().pk}


ACCESS = {
    "compensation:proposal_queue": Access(READERS),
    "compensation:proposal_detail": Access(READERS, kwargs=_decided),
    "compensation:proposal_approve": Access(DECIDERS, method="POST", kwargs=_decided),
    "compensation:proposal_reject": Access(DECIDERS, method="POST", kwargs=_decided),
    "compensation:proposal_cancel": Access(LEADS_AND_FINANCE, method="POST", kwargs=_decided),
    "compensation:proposal_retry": Access(LEADS_AND_FINANCE, method="POST", kwargs=_decided),
    "compensation:proposal_bulk_approve": Access(DECIDERS, method="POST"),
    "compensation:cost": Access(COST),
    "compensation:policy_list": Access(READERS),
    "compensation:policy_create": Access(LEADS_AND_FINANCE),
    "compensation:policy_detail": Access(READERS, kwargs=_policy),
    "compensation:limit_list": Access(READERS),
    "compensation:budget_list": Access(READERS),
    "compensation:rate_list": Access(READERS),
    "compensation:fraud_flag_list": Access(READERS),
    "compensation_api:proposal_list": Access(READERS),
    "compensation_api:proposal_detail": Access(READERS, kwargs=_decided),
    "compensation_api:proposal_create": Access(PROPOSERS, method="POST"),
    "compensation_api:fraud_flag_raise": Access(LEADS_AND_FINANCE, method="POST"),
    "compensation_api:proposal_approve": Access(DECIDERS, method="POST", kwargs=_decided),
    "compensation_api:proposal_reject": Access(
        DECIDERS, method="POST", kwargs=_decided, data=lambda: {"reason": "no longer needed"}
    ),
    "compensation_api:proposal_result": Access(
        frozenset({FINANCE, ADMIN}),
        method="POST",
        kwargs=_decided,
        data=lambda: {"status": "issued"},
    ),
}
