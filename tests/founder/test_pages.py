"""The founder pages: tenants with their state, the actions log, and the forms behind the dialogs
— typed confirmation, one-shot tokens, HTMX and plain posts, and who sees which button."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from founder.models import ActionStatus, FounderAction
from incidents.models import Incident
from opsconsole.models import Segment
from tests.factories import TenantFactory
from tests.founder.conftest import REASON

pytestmark = pytest.mark.django_db

TENANTS = "/tenants/"


def detail(tenant) -> str:
    return f"/tenants/{tenant.ref}/"


def token_of(html: str, form_id: str = "freeze") -> str:
    match = re.search(rf'name="form_token" value="(\w+)" id="{form_id}-form_token"', html)
    assert match, f"no {form_id} form token on the page"
    return match.group(1)


def freeze_post(client, tenant, **overrides):
    page = client.get(detail(tenant)).content.decode()
    data = {
        "form_token": token_of(page),
        "reason_code": "abuse",
        "reason": REASON,
        "duration": "2",
        "duration_unit": "hours",
        "confirm_text": tenant.name,
        **overrides,
    }
    return client.post(f"/tenants/{tenant.ref}/freeze/", data), data


# --- Tenants list ---------------------------------------------------------------------------------


def refs_on(response) -> list[str]:
    return [tenant.ref for tenant in response.context["page"].items]


def test_the_list_filters_by_search_state_segment_and_market(login, freeze, throttle):
    client = login("care_agent")
    frozen = TenantFactory(name="Alpine Tours GmbH", market="AT-VIE")
    throttled = TenantFactory(name="Blue Rides Ltd", market="DE-BER", segment=Segment.ENTERPRISE)
    quiet = TenantFactory(name="Cedar Hotels SA", market="AT-SZG")
    freeze(frozen)
    throttle(throttled, 100)
    throttle(frozen, 100)  # a freeze beats it: still only "frozen"
    assert refs_on(client.get(TENANTS)) == [frozen.ref, throttled.ref, quiet.ref]
    assert refs_on(client.get(TENANTS, {"q": "blue"})) == [throttled.ref]
    assert refs_on(client.get(TENANTS, {"q": quiet.ref.lower()})) == [quiet.ref]
    assert refs_on(client.get(TENANTS, {"state": "frozen"})) == [frozen.ref]
    assert refs_on(client.get(TENANTS, {"state": "throttled"})) == [throttled.ref]
    assert refs_on(client.get(TENANTS, {"state": "active"})) == [quiet.ref]
    assert refs_on(client.get(TENANTS, {"segment": "enterprise"})) == [throttled.ref]
    assert refs_on(client.get(TENANTS, {"market": "at"})) == [frozen.ref, quiet.ref]
    response = client.get(TENANTS)
    assert response.context["counts"] == {"frozen": 1, "throttled": 1}


def test_the_list_pages_by_keyset_without_counting_the_table(login):
    client = login("founder")
    for number in range(60):
        TenantFactory(name=f"Tenant {number:03}")
    with CaptureQueriesContext(connection) as queries:
        first = client.get(TENANTS)
    assert len(first.context["page"].items) == 50
    assert not any("COUNT(" in query["sql"].upper() for query in queries)
    second = client.get(TENANTS, {"cursor": first.context["page"].next_cursor})
    assert len(second.context["page"].items) == 10
    assert set(refs_on(first)).isdisjoint(refs_on(second))


def test_the_lists_queries_do_not_grow_with_the_page(login, throttle):
    client = login("founder")
    TenantFactory(name="A first")
    throttle(TenantFactory(name="B first"), 10)
    client.get(TENANTS)  # the session's first request writes what later ones only read
    with CaptureQueriesContext(connection) as small:
        client.get(TENANTS)
    for number in range(30):
        throttle(TenantFactory(name=f"C {number:02}"), 10 + number)
    with CaptureQueriesContext(connection) as large:
        response = client.get(TENANTS)
    assert len(response.context["page"].items) == 32
    assert len(large) == len(small), [query["sql"][:80] for query in large]


def test_a_bad_filter_value_is_said_not_hidden(login):
    response = login("founder").get(TENANTS, {"state": "melted"})
    assert response.status_code == 200 and b"Select a valid choice" in response.content


# --- Tenant page ----------------------------------------------------------------------------------


def test_the_tenant_page_shows_state_actions_in_force_past_actions_and_incidents(
    login, tenant, founder, throttle, incident
):
    from founder.operations import founder_action_reverse

    loose = throttle(tenant, 900)
    strict = throttle(tenant, 90, duration_minutes=60)
    old = throttle(tenant, 5)
    founder_action_reverse(actor=founder, action=old, reason="Too strict for their traffic.")
    response = login("founder").get(detail(tenant))
    context = response.context
    assert context["state"].state == "throttled" and context["state"].action_id == strict.pk
    assert context["in_force"] == [strict, loose]
    assert [action.pk for action in context["past"]] == [old.pk]
    [incidents] = context["panels"]
    assert incidents.panel.title == "Incidents" and incidents.rows == [incident]
    html = response.content.decode()
    assert 'data-dialog-open="freeze-dialog"' in html and 'id="freeze-dialog"' in html
    assert f'data-confirm-text="{tenant.name}"' in html
    assert f'data-dialog-open="reverse-{strict.pk}-dialog"' in html
    assert "Too strict for their traffic." in html


def test_a_care_agent_sees_the_state_but_no_buttons_and_is_refused_a_direct_post(
    login, tenant, freeze
):
    action = freeze(tenant)
    client = login("care_agent")
    html = client.get(detail(tenant)).content.decode()
    assert "badge-frozen" in html
    for control in ("freeze-dialog", "throttle-dialog", f"reverse-{action.pk}-dialog", "/freeze/"):
        assert control not in html
    data = {"reason_code": "abuse", "reason": REASON, "confirm_text": tenant.name}
    assert client.post(f"/tenants/{tenant.ref}/freeze/", data).status_code == 403
    assert (
        client.post(f"/founder/actions/{action.pk}/reverse/", {"reason": REASON}).status_code == 403
    )
    assert FounderAction.objects.get().status == ActionStatus.ACTIVE


def test_apps_add_their_sections_to_the_tenant_page_for_those_who_may_see_them(
    login, tenant, incident
):
    assert login("finance").get(detail(tenant)).context["panels"][0].rows == [incident]
    assert "Override" not in login("finance").get(detail(tenant)).content.decode()
    assert login("auditor").get(detail(tenant)).context["panels"][0].rows == [incident]


def test_founders_land_on_the_tenants_and_find_founder_pages_under_operate(login):
    client = login("founder")
    assert client.get("/").url == TENANTS
    sections = dict(client.get(TENANTS).context["nav_sections"])
    assert {"Tenants", "Founder actions"} <= {item.label for item in sections["Operate"]}


def test_an_unknown_tenant_is_404(login):
    assert login("founder").get("/tenants/TEN-NOPE/").status_code == 404


# --- The freeze form ------------------------------------------------------------------------------


def test_freezing_asks_for_the_tenants_name_typed_exactly(login, tenant):
    client = login("founder")
    response, _ = freeze_post(client, tenant, confirm_text=tenant.name.upper())
    assert response.status_code == 400
    assert "confirm_text" in response.context["form"].errors
    assert not FounderAction.objects.exists()


def test_a_freeze_from_the_form_goes_back_to_the_tenant_with_a_message(login, tenant):
    client = login("founder")
    response, _ = freeze_post(client, tenant)
    assert response.status_code == 302 and response.url == detail(tenant)
    action = FounderAction.objects.get()
    assert action.type == "freeze_tenant" and action.reason == REASON
    assert (action.expires_at - action.created_at).total_seconds() == 2 * 3600
    page = client.get(detail(tenant)).content.decode()
    assert f"{tenant.name} is frozen." in page


def test_a_double_submitted_form_freezes_once_and_both_land_on_the_tenant(login, tenant):
    client = login("founder")
    first, data = freeze_post(client, tenant)
    second = client.post(f"/tenants/{tenant.ref}/freeze/", data)
    assert first.status_code == second.status_code == 302 and second.url == first.url
    assert FounderAction.objects.count() == 1


def test_a_refused_freeze_keeps_the_token_usable_for_the_corrected_form(login, tenant):
    client = login("founder")
    refused, data = freeze_post(client, tenant, duration="100", duration_unit="days")
    assert refused.status_code == 400 and "duration" in refused.context["form"].errors
    corrected = client.post(f"/tenants/{tenant.ref}/freeze/", {**data, "duration": "10"})
    assert corrected.status_code == 302 and FounderAction.objects.count() == 1


def test_an_operation_refusal_shows_on_the_form(login, tenant, freeze):
    client = login("founder")
    response, _ = freeze_post(client, tenant)
    assert response.status_code == 302
    page = client.get(detail(tenant)).content.decode()
    assert "freeze-dialog" not in page  # frozen: no second freeze offered
    response = client.post(
        f"/tenants/{tenant.ref}/freeze/",
        {
            "form_token": "another-token",
            "reason_code": "abuse",
            "reason": REASON,
            "duration_unit": "hours",
            "confirm_text": tenant.name,
        },
    )
    assert response.status_code == 400 and b"frozen already" in response.content


def test_with_htmx_success_redirects_the_page_and_errors_stay_in_the_dialog(login, tenant):
    client = login("founder")
    _, data = freeze_post(client, tenant, reason="short")
    bad = client.post(f"/tenants/{tenant.ref}/freeze/", data, headers={"HX-Request": "true"})
    assert bad.status_code == 200 and b"<html" not in bad.content
    assert b"At least 10 characters" in bad.content or b"at least 10" in bad.content
    good = client.post(
        f"/tenants/{tenant.ref}/freeze/", {**data, "reason": REASON}, headers={"HX-Request": "true"}
    )
    assert good.status_code == 200 and good["HX-Redirect"] == detail(tenant)


def test_the_freeze_page_works_without_javascript(login, tenant):
    response = login("founder").get(f"/tenants/{tenant.ref}/freeze/")
    assert response.status_code == 200
    assert b'name="confirm_text"' in response.content and b"Freeze tenant" in response.content


# --- Throttle, reverse, override ------------------------------------------------------------------


def test_throttle_and_reverse_from_their_forms(login, tenant):
    client = login("founder")
    page = client.get(detail(tenant)).content.decode()
    response = client.post(
        f"/tenants/{tenant.ref}/throttle/",
        {
            "form_token": token_of(page, "throttle"),
            "throttle_rpm": "300",
            "reason_code": "runaway_traffic",
            "reason": REASON,
            "duration_unit": "hours",
        },
    )
    assert response.status_code == 302
    action = FounderAction.objects.get()
    assert action.throttle_rpm == 300 and action.expires_at is None
    page = client.get(detail(tenant)).content.decode()
    response = client.post(
        f"/founder/actions/{action.pk}/reverse/",
        {"form_token": token_of(page, f"reverse-{action.pk}"), "reason": "They fixed the loop."},
    )
    assert response.status_code == 302 and response.url == detail(tenant)
    action.refresh_from_db()
    assert (
        action.status == ActionStatus.REVERSED and action.reversal_reason == "They fixed the loop."
    )


def test_overriding_an_incident_from_its_form(login, incident):
    client = login("founder")
    page = client.get(f"/founder/incidents/{incident.pk}/override/").content.decode()
    token = re.search(r'name="form_token" value="(\w+)"', page).group(1)
    response = client.post(
        f"/founder/incidents/{incident.pk}/override/",
        {
            "form_token": token,
            "override_kind": "suppress",
            "reason_code": "incident_response",
            "reason": REASON,
            "duration": "30",
            "duration_unit": "minutes",
        },
    )
    assert response.status_code == 302
    action = FounderAction.objects.get()
    assert response.url == action.get_absolute_url()
    assert Incident.objects.get(pk=incident.pk).status == "suppressed"


# --- Actions log and detail -----------------------------------------------------------------------


def test_the_log_filters_and_the_detail_shows_the_history(login, tenant, freeze, throttle):
    action = freeze(tenant)
    throttle(TenantFactory(), 40)
    client = login("auditor")
    response = client.get("/founder/actions/", {"type": "freeze_tenant"})
    assert [row.pk for row in response.context["page"].items] == [action.pk]
    detail_page = client.get(action.get_absolute_url()).content.decode()
    assert "founder.freeze_tenant" in detail_page and REASON in detail_page
    assert "reverse-" not in detail_page  # an auditor reads, and reverses nothing


def test_the_admin_lists_founder_actions_and_changes_none(login, tenant, freeze):
    action = freeze(tenant)
    client = login("admin")
    assert tenant.ref in client.get("/admin/founder/founderaction/").content.decode()
    assert client.get(f"/admin/founder/founderaction/{action.pk}/change/").status_code == 200
    assert client.post(f"/admin/founder/founderaction/{action.pk}/delete/").status_code == 403
