"""Sections other apps add to the tenant's page: incidents now; compensations and contracts when
those apps declare theirs.

An app lists `tenant_panels` on its AppConfig, like `nav`:

    tenant_panels = (
        TenantPanel(
            "Compensations",
            template="compensation/_tenant_compensations.html",
            rows="compensation.selectors.tenant_compensation_list",
            permission="compensation.view_proposal",
        ),
    )

The tenant page calls `rows(tenant=tenant)` (a selector of the owning app), keeps the first
`limit`, and includes `template` with `tenant`, `rows` and `panel` — for the people who hold
`permission`.
"""

from dataclasses import dataclass

from django.apps import apps
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class TenantPanel:
    title: str
    template: str
    rows: str  # dotted path of a selector taking tenant=
    permission: str
    order: int = 50
    limit: int = 20
    empty: str = "Nothing yet."


@dataclass(frozen=True)
class FilledPanel:
    panel: TenantPanel
    rows: list


def tenant_panels_for(user, tenant) -> list[FilledPanel]:
    panels = sorted(
        (
            panel
            for config in apps.get_app_configs()
            for panel in getattr(config, "tenant_panels", ())
        ),
        key=lambda panel: (panel.order, panel.title),
    )
    return [
        FilledPanel(panel, list(import_string(panel.rows)(tenant=tenant)[: panel.limit]))
        for panel in panels
        if user.has_perm(panel.permission)
    ]
