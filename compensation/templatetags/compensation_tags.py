"""Money and checks, the compensation way: `{% load compensation_tags %}`.

{{ proposal|money }}            "1,500.00 CZK · 60.00 EUR", or "20.00 EUR" when it is EUR
{% check_badges proposal %}     the checks at a glance, each with its detail on hover
{% incident_link proposal %}    the incident, linked where the incidents app has a page for it
"""

from decimal import Decimal

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from compensation.evaluation import CHECK_LABELS

register = template.Library()


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


@register.filter
def eur(value: Decimal | None) -> str:
    return f"{_amount(value)} EUR"


@register.filter
def money(proposal) -> str:
    """The amount in the order's currency, and in EUR beside it where they differ."""
    if proposal.amount_eur is None:
        return f"— (no {proposal.currency} rate)"
    if proposal.currency == "EUR":
        return eur(proposal.amount_eur)
    return f"{_amount(proposal.amount)} {proposal.currency} · {eur(proposal.amount_eur)}"


@register.simple_tag
def check_badges(proposal) -> str:
    return format_html(
        '<span class="checks">{}</span>',
        format_html_join(
            "",
            '<span class="check check-{}" title="{}: {}">{}</span>',
            (
                (check["result"], CHECK_LABELS[check["name"]], check["detail"], _short(check))
                for check in proposal.checks
            ),
        ),
    )


SHORT = {
    "rate": "rate",
    "frequency": "freq",
    "fraud": "fraud",
    "limit": "limit",
    "four_eyes": "4 eyes",
    "budget": "budget",
}
MARK = {"pass": "✓", "flag": "⚑", "fail": "✗", "pending": "…"}


def _short(check: dict) -> str:
    return f"{MARK.get(check['result'], '')} {SHORT[check['name']]}"


@register.simple_tag
def incident_link(proposal) -> str:
    label = f"#{proposal.incident_id}"
    try:
        url = reverse("incidents:incident_detail", kwargs={"pk": proposal.incident_id})
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


@register.filter
def may_approve(approver, proposal) -> bool:
    return approver.may_approve(proposal)


@register.filter
def words(role: str) -> str:
    """care_lead → "care lead", four_eyes → "four eyes"."""
    return (role or "").replace("_", " ")
