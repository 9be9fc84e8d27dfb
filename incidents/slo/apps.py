from django.apps import AppConfig


class SloConfig(AppConfig):
    name = "incidents.slo"
    label = "slo"
    verbose_name = "SLOs"
