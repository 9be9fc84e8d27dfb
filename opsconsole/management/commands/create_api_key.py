from django.core.management.base import BaseCommand, CommandError

from opsconsole.apikeys import SCOPES
from opsconsole.operations import api_key_create
from opsconsole.registry import Actor


class Command(BaseCommand):
    help = "Create a scoped API key for a platform service and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The service that will use the key.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated, from: {', '.join(sorted(SCOPES))}.",
        )

    def handle(self, *args, name, scopes, **options):
        result = api_key_create(
            actor=Actor.for_system("create_api_key"),
            name=name,
            scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
        )
        if not result.ok:
            raise CommandError(result.error.message)
        api_key = result.value
        self.stdout.write(f"API key for {api_key.name} (scopes: {', '.join(api_key.scopes)}):")
        self.stdout.write(api_key.raw_key)
        self.stdout.write("It is shown only now; the console keeps only its hash.")
