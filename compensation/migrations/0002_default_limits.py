"""The issue's starting point: care agents approve up to 50 EUR, care leads up to 500, finance
above that; and EUR is worth 1 EUR. Finance changes these in the console."""

from decimal import Decimal

from django.db import migrations

DEFAULT_LIMITS = {"care_agent": Decimal("50.00"), "care_lead": Decimal("500.00"), "finance": None}


def create(apps, schema_editor):
    ApprovalLimit = apps.get_model("compensation", "ApprovalLimit")
    ExchangeRate = apps.get_model("compensation", "ExchangeRate")
    for role, max_eur in DEFAULT_LIMITS.items():
        ApprovalLimit.objects.get_or_create(role=role, defaults={"max_eur": max_eur})
    ExchangeRate.objects.get_or_create(currency="EUR", defaults={"eur_per_unit": Decimal(1)})


class Migration(migrations.Migration):
    dependencies = [("compensation", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
