from django.apps import AppConfig


class FounderConfig(AppConfig):
    name = "founder"
    verbose_name = "Founder"
