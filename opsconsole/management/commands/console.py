import contextlib
import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from opsconsole.demo import DEFAULT_PASSWORD, DEMO_USERS
from opsconsole.models import User
from opsconsole.roles import ROLE_LABELS

STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = (
        "Run the console for development (`make run`): migrate, load the demo data once, then "
        "the web server, a Celery worker and Celery beat together. Ctrl-C stops all three."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")

    def handle(self, *args, port: int, no_demo: bool, **options):
        call_command("migrate", interactive=False, verbosity=1)
        if not no_demo and not User.objects.filter(username="founder").exists():
            self.stdout.write("Loading the demo data (first start only)…")
            call_command("seed_demo")

        python = sys.executable
        processes = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "opsconsole",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [python, "-m", "celery", "-A", "opsconsole", "beat", "--loglevel", "INFO"],
        }
        # Each child leads its own process group, so that stopping it also stops what it started
        # (runserver's autoreloader runs the server in a grandchild).
        children = {
            name: subprocess.Popen(command, start_new_session=True)  # noqa: S603
            for name, command in processes.items()
        }
        self._announce(port)
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
            stopped = [name for name, child in children.items() if child.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the web server, worker and beat…")
        self._stop(children)

    def _announce(self, port: int) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        lines = [
            "",
            f"Opsconsole is up: http://127.0.0.1:{port}/",
            f"Demo logins (password {password!r}):",
            *(
                f"  {username:<10} {ROLE_LABELS[role]}"
                for username, (role, _) in DEMO_USERS.items()
            ),
            "API docs: /api/docs/   Admin: /admin/   Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _stop(self, children: dict) -> None:
        # SIGINT is the clean stop for all three (Celery finishes its current task); after the
        # grace period, whatever is left of a child's group is killed.
        for child in children.values():
            self._signal_group(child, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            self._signal_group(child, signal.SIGKILL)
        self.stdout.write("Stopped.")

    @staticmethod
    def _signal_group(child: subprocess.Popen, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)
