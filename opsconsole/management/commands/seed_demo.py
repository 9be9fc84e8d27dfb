import importlib.util
import os
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from opsconsole import demo


class Command(BaseCommand):
    help = (
        "Load the demo data (idempotent): one user per role, 240 tenants, and each app's own "
        "demo. Refuses to run with production settings."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Every demo user's password (default: $DEMO_PASSWORD, else the documented one).",
        )

    def handle(self, *args, password=None, **options):
        if not settings.DEMO_ALLOWED:
            raise CommandError("seed_demo refuses to run with production settings.")
        password = password or os.environ.get("DEMO_PASSWORD") or demo.DEFAULT_PASSWORD
        context = demo.new_context(stdout=self.stdout)
        context.users = demo.seed_users(password)
        self.stdout.write(f"  users: {', '.join(context.users)}")
        demo.seed(context)
        for config in apps.get_app_configs():
            if (
                config.name == "opsconsole"
                or importlib.util.find_spec(f"{config.name}.demo") is None
            ):
                continue
            self.stdout.write(f"{config.verbose_name}:")
            import_module(f"{config.name}.demo").seed(context)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
