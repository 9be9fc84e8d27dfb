"""The compensation pages: the queue and its inline decisions, bulk approval, detail, settings,
the cost of incidents, and the founder's headline figures."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compensation import selectors
from compensation.models import ApprovalLimit, Budget, CompensationPolicy
from compensation.operations import (
    budget_set,
    issue_result_record,
    proposal_approve,
    proposal_issue,
)
from opsconsole.models import JobRun
from tests.compensation.conftest import MARKET

pytestmark = pytest.mark.django_db


def test_a_care_agent_lands_on_the_queue_and_sees_pending_ones_oldest_first(login, pending):
    first, second = pending("20.00", "USR-1"), pending("30.00", "USR-2")
    client = login("care_agent")
    assert client.get("/").url == "/compensation/"
    page = client.get("/compensation/").content.decode()
    assert page.index(first.ref) < page.index(second.ref)
    assert "2 waiting, worth 50.00 EUR" in page and "up to <strong>50.00 EUR" in page


def test_the_queue_filters_by_value_flag_and_status(login, pending):
    pending("20.00", "USR-1")
    pending("80.00", "USR-2")
    client = login("care_lead")
    over = client.get("/compensation/?min_eur=50").content.decode()
    assert "USR-2" in over and "USR-1" not in over
    assert "USR-1" not in client.get("/compensation/?flag=any").content.decode()
    assert "USR-1" not in client.get("/compensation/?status=issued").content.decode()


def test_the_queue_costs_the_same_queries_for_10_rows_as_for_2(login, pending):
    client = login("care_agent")
    for number in range(2):
        pending("20.00", f"USR-{number}")
    client.get("/compensation/")  # sessions and permissions warm up
    with CaptureQueriesContext(connection) as few:
        client.get("/compensation/")
    for number in range(2, 10):
        pending("20.00", f"USR-{number}")
    with CaptureQueriesContext(connection) as many:
        client.get("/compensation/")
    assert len(many) == len(few)


def test_approving_inline_returns_just_the_row_with_the_outcome(login, pending):
    proposal = pending("20.00")
    response = login("care_agent").post(
        f"/compensation/{proposal.pk}/approve/", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body and f'id="proposal-{proposal.pk}"' in body
    assert f"{proposal.ref} approved" in body


def test_a_refused_approval_says_why_in_the_row(login, pending):
    proposal = pending("200.00")
    response = login("care_agent").post(
        f"/compensation/{proposal.pk}/approve/", headers={"HX-Request": "true"}
    )
    assert "over your limit of 50.00 EUR" in response.content.decode()


def test_without_htmx_approving_flashes_and_returns_to_the_queue(login, pending):
    proposal = pending("20.00")
    response = login("care_agent").post(
        f"/compensation/{proposal.pk}/approve/", {"next": "/compensation/?market=AT-VIE"}
    )
    assert response.status_code == 302 and response.url == "/compensation/?market=AT-VIE"


def test_only_proposals_within_the_viewers_limit_can_be_ticked(login, pending):
    small, large = pending("20.00", "USR-1"), pending("200.00", "USR-2")
    page = login("care_agent").get("/compensation/").content.decode()
    assert f'name="proposals" value="{small.pk}"' in page
    assert f'name="proposals" value="{large.pk}"' not in page


def test_bulk_approval_starts_a_job_and_the_queue_shows_its_progress(login, pending):
    ids = [pending("20.00", f"USR-{n}").pk for n in range(3)]
    client = login("care_agent")
    response = client.post("/compensation/bulk-approve/", {"proposals": ids})
    job = JobRun.objects.get(name="compensation.bulk_approve")
    assert response.url == f"/compensation/?job={job.pk}"
    assert job.params["proposal_ids"] == ids and job.progress_total == 3
    page = client.get(response.url).content.decode()
    assert f"job #{job.pk}" in page and 'hx-trigger="every 2s"' in page


def test_the_detail_shows_checks_history_and_refusals(login, pending):
    proposal = pending("200.00")
    agent = login("care_agent")
    agent.post(f"/compensation/{proposal.pk}/approve/")
    page = login("care_lead").get(f"/compensation/{proposal.pk}/").content.decode()
    assert "Needs a care lead" in page and "compensation.approve" in page
    assert "over your limit" in page  # the refused attempt, from the operations log


def test_editing_a_policy_in_the_console_makes_a_new_version(login, policy):
    client = login("finance")
    form = {
        "name": policy.name,
        "is_active": "on",
        "priority": 100,
        "channel": "refund",
        "refund_percent": 0,
        "value_type": "fixed",
        "value": "15",
        "currency": "EUR",
        "reason_code": "VENDOR_NO_SHOW",
    }
    response = client.post(f"/compensation/policies/{policy.pk}/", form)
    new = CompensationPolicy.objects.get(key=policy.key, is_current=True)
    assert response.url == f"/compensation/policies/{new.pk}/" and new.version == 2
    assert new.channel == "refund" and CompensationPolicy.objects.get(pk=policy.pk).channel == (
        "trutta_token"
    )
    stale = client.post(f"/compensation/policies/{policy.pk}/", form)
    assert stale.status_code == 302  # the old version is read-only now


def test_finance_sets_limits_budgets_and_rates(login):
    client = login("finance")
    client.post("/compensation/limits/", {"role": "care_agent", "max_eur": "75"})
    assert ApprovalLimit.objects.get(role="care_agent").max_eur == Decimal("75")
    client.post(
        "/compensation/budgets/", {"market": "de-ber", "month": "2026-05", "amount_eur": "900"}
    )
    assert Budget.objects.get(market="DE-BER").month.isoformat() == "2026-05-01"
    client.post("/compensation/rates/", {"currency": "chf", "eur_per_unit": "1.05"})
    assert "CHF" in client.get("/compensation/rates/").content.decode()


def test_a_care_agent_reads_limits_but_cannot_change_them(login):
    client = login("care_agent")
    response = client.post("/compensation/limits/", {"role": "care_agent", "max_eur": "5000"})
    assert ApprovalLimit.objects.get(role="care_agent").max_eur == Decimal("50")
    assert response.status_code == 200 and b"Only finance" in response.content


def test_a_budget_page_shows_used_and_remaining(login, pending, people, budget):
    proposal_approve(actor=people["care_agent"], proposal=pending("40.00")).unwrap()
    page = login("care_lead").get("/compensation/budgets/").content.decode()
    assert "40.00 EUR" in page and "960.00 EUR" in page


def test_cost_of_incidents_groups_what_was_paid_and_draws_it(login, pending, people, system):
    proposal = pending("40.00")
    proposal_approve(actor=people["care_agent"], proposal=proposal).unwrap()
    proposal_issue(actor=system, proposal=proposal).unwrap()
    issue_result_record(actor=system, proposal=proposal, status="issued").unwrap()
    page = login("finance").get("/compensation/cost/?dimension=market").content.decode()
    assert "AT-VIE" in page and 'data-chart="cost-chart"' in page and 'id="cost-chart"' in page
    assert "40.00 EUR" in page


def test_the_founders_headline_figures(pending, people, system):
    """What the founder's pulse shows: pending count and value, cost this month vs last."""
    last_month = timezone.now().replace(day=1) - timedelta(days=3)
    with time_machine.travel(last_month, tick=False):
        budget_set(
            actor=system, market=MARKET, month=last_month.date(), amount_eur=Decimal("100")
        ).unwrap()
        old = pending("30.00", "USR-OLD")
        proposal_approve(actor=people["care_lead"], proposal=old).unwrap()
        proposal_issue(actor=system, proposal=old).unwrap()
        issue_result_record(actor=system, proposal=old, status="issued").unwrap()
    pending("25.00", "USR-NEW")
    summary = selectors.pending_summary()
    assert (summary.count, summary.value_eur, summary.flagged) == (1, Decimal("25.00"), 0)
    month = selectors.cost_this_month_vs_last()
    assert (month.this_month_eur, month.last_month_eur, month.change_percent) == (
        Decimal("0.00"),
        Decimal("30.00"),
        -100,
    )


def test_editing_a_policy_in_admin_also_makes_a_new_version(login, policy):
    admin = login("admin")
    page = admin.get(f"/admin/compensation/compensationpolicy/{policy.pk}/change/")
    assert page.status_code == 200
    form = {
        "name": "Vendor no-show (admin)",
        "description": "",
        "is_active": "on",
        "categories": "",
        "severities": "",
        "sources": "",
        "faults": "",
        "products": "",
        "markets": "",
        "priority": 100,
        "channel": "trutta_token",
        "refund_percent": 0,
        "value_type": "fixed",
        "value": "12",
        "cap": "",
        "currency": "EUR",
        "compensation_profile_id": "",
        "reason_code": "VENDOR_NO_SHOW",
    }
    admin.post(f"/admin/compensation/compensationpolicy/{policy.pk}/change/", form)
    versions = list(CompensationPolicy.objects.filter(key=policy.key).order_by("version"))
    assert [v.version for v in versions] == [1, 2] and versions[1].name == "Vendor no-show (admin)"
    assert versions[0].name == "Vendor no-show" and not versions[0].is_current
