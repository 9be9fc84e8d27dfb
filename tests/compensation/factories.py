"""Proposals for tests that need one without the whole policy pipeline: made through the
incidents and compensation operations as the system, like everything else."""

from decimal import Decimal

from compensation.models import CompensationProposal
from compensation.operations import policy_save, proposal_create, proposal_reject
from incidents.operations import incident_open_or_update
from opsconsole.registry import Actor

SYSTEM = Actor.for_system("tests")


def incident(number: int = 1, **fields):
    values = {
        "fingerprint": f"factory-{number}",
        "title": f"Vendor no-show {number}",
        "component": "tjm-booking",
        "category": "vendor",
        "severity": "high",
        "source": "tjm",
        "message": "Vendor did not show up",
        "context": {"vendor": "VEN-123", "market": "AT-VIE"},
    }
    return incident_open_or_update(actor=SYSTEM, **{**values, **fields}).unwrap()


def proposal(*, user_ref: str = "USR-1", amount: str = "20.00", **fields) -> CompensationProposal:
    """A pending token proposal of a fixed EUR amount (no budget needed to propose)."""
    values = {
        "incident": incident(),
        "user_ref": user_ref,
        "market": "AT-VIE",
        "proposed_channel": "trutta_token",
        "proposed_value": {"type": "fixed", "value": amount, "currency": "EUR"},
    }
    return proposal_create(actor=SYSTEM, **{**values, **fields}).unwrap()


def rejected_proposal() -> CompensationProposal:
    made = proposal(user_ref="USR-REJECTED")
    return proposal_reject(actor=SYSTEM, proposal=made, reason="Made for the access table").unwrap()


def policy(**fields):
    values = {
        "name": "Vendor no-show",
        "channel": "trutta_token",
        "value_type": "percentage_of_amount",
        "value": Decimal("100"),
        "cap": Decimal("50"),
        "currency": "EUR",
        "reason_code": "VENDOR_NO_SHOW",
    }
    return policy_save(actor=SYSTEM, fields={**values, **fields}).unwrap()
