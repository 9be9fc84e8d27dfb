"""Fewer indexes on the rows every ingested batch writes or updates.

Only indexes change. Django's AlterField would also drop and re-add (re-validating) the foreign
keys on the event table and drop the partial unique index on fingerprint, so the database side
is written out here and the field changes are state only.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_count_deltas"),
        ("opsconsole", "0002_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="errorevent",
                    name="incident",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="error_events",
                        to="incidents.incident",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="category",
                    field=models.CharField(
                        choices=[
                            ("availability", "Availability"),
                            ("latency", "Latency"),
                            ("data", "Data"),
                            ("payment", "Payment"),
                            ("vendor", "Vendor"),
                            ("safety", "Safety"),
                            ("quality", "Quality"),
                            ("security", "Security"),
                        ],
                        max_length=20,
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="component",
                    field=models.CharField(max_length=100),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="fingerprint",
                    field=models.CharField(max_length=64),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="severity",
                    field=models.CharField(
                        choices=[
                            ("low", "Low"),
                            ("medium", "Medium"),
                            ("high", "High"),
                            ("critical", "Critical"),
                        ],
                        max_length=10,
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="source",
                    field=models.CharField(
                        choices=[
                            ("prg", "PRG"),
                            ("tjm", "TJM"),
                            ("lem", "LEM"),
                            ("trutta", "Trutta"),
                            ("monitoring", "Monitoring"),
                            ("console", "Console"),
                            ("slo", "SLO alert"),
                            ("ops_policy", "Ops policy"),
                        ],
                        max_length=15,
                    ),
                ),
                migrations.AlterField(
                    model_name="incidenttenant",
                    name="incident",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tenant_links",
                        to="incidents.incident",
                    ),
                ),
                migrations.AlterField(
                    model_name="incidenttenant",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="incident_links",
                        to="opsconsole.tenant",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        # Covered by event_incident_recent, which leads with incident_id.
                        'DROP INDEX IF EXISTS "incidents_errorevent_incident_id_4a31c580"',
                        # Covered by the unique (incident, tenant) and incident_tenant_by_tenant.
                        'DROP INDEX IF EXISTS "incidents_incidenttenant_incident_id_3ea42f07"',
                        'DROP INDEX IF EXISTS "incidents_incidenttenant_tenant_id_db4d262e"',
                        # LIKE indexes nothing queries, and single-column ones on columns with a
                        # handful of values (replaced by incident_fingerprint/_component below).
                        'DROP INDEX IF EXISTS "incidents_incident_category_dd29084f"',
                        'DROP INDEX IF EXISTS "incidents_incident_category_dd29084f_like"',
                        'DROP INDEX IF EXISTS "incidents_incident_component_8aaf6351"',
                        'DROP INDEX IF EXISTS "incidents_incident_component_8aaf6351_like"',
                        'DROP INDEX IF EXISTS "incidents_incident_fingerprint_6111391a"',
                        'DROP INDEX IF EXISTS "incidents_incident_fingerprint_6111391a_like"',
                        'DROP INDEX IF EXISTS "incidents_incident_severity_6aa0a879"',
                        'DROP INDEX IF EXISTS "incidents_incident_severity_6aa0a879_like"',
                        'DROP INDEX IF EXISTS "incidents_incident_source_701d79d9"',
                        'DROP INDEX IF EXISTS "incidents_incident_source_701d79d9_like"',
                    ],
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["fingerprint"], name="incident_fingerprint"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["component"], name="incident_component"),
        ),
    ]
