from django.apps import AppConfig

from opsconsole.navigation import NavItem
from opsconsole.roles import CARE_AGENT, CARE_LEAD, FINANCE, FOUNDER

READ = [
    "compensation.view_compensationproposal",
    "compensation.view_issuance",
    "compensation.view_compensationpolicy",
    "compensation.view_approvallimit",
    "compensation.view_budget",
    "compensation.view_exchangerate",
    "compensation.view_fraudflag",
]
DECIDE = [
    "compensation.add_compensationproposal",
    "compensation.approve_compensationproposal",
]


class CompensationConfig(AppConfig):
    name = "compensation"
    verbose_name = "Compensation"

    role_permissions = {
        CARE_AGENT: [*READ, *DECIDE],
        CARE_LEAD: [
            *READ,
            *DECIDE,
            "compensation.cancel_compensationproposal",
            "compensation.change_compensationpolicy",
            "compensation.change_fraudflag",
        ],
        FINANCE: [
            *READ,
            "compensation.approve_compensationproposal",
            "compensation.cancel_compensationproposal",
            "compensation.record_issue_result",
            "compensation.view_cost_of_incidents",
            "compensation.change_compensationpolicy",
            "compensation.change_approvallimit",
            "compensation.change_budget",
            "compensation.change_exchangerate",
            "compensation.change_fraudflag",
        ],
        FOUNDER: [*READ, "compensation.view_cost_of_incidents"],
    }
    nav = (
        NavItem(
            "Compensation queue",
            "compensation:proposal_queue",
            "compensation.view_compensationproposal",
            section="Money",
            order=10,
        ),
        NavItem(
            "Cost of incidents",
            "compensation:cost",
            "compensation.view_cost_of_incidents",
            section="Money",
            order=20,
        ),
        NavItem(
            "Compensation policies",
            "compensation:policy_list",
            "compensation.view_compensationpolicy",
            section="Money",
            order=30,
        ),
        NavItem(
            "Limits and budgets",
            "compensation:budget_list",
            "compensation.view_budget",
            section="Money",
            order=40,
        ),
        NavItem(
            "Exchange rates",
            "compensation:rate_list",
            "compensation.view_exchangerate",
            section="Money",
            order=50,
        ),
        NavItem(
            "Fraud flags",
            "compensation:fraud_flag_list",
            "compensation.view_fraudflag",
            section="Money",
            order=60,
        ),
    )
    home = {
        CARE_AGENT: "compensation:proposal_queue",
        CARE_LEAD: "compensation:proposal_queue",
        FINANCE: "compensation:cost",
    }
