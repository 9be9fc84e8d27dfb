from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "incidents.policies"
    label = "policies"
    verbose_name = "Ops policies"
