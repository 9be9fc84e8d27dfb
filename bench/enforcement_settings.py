"""Settings of the server bench_enforcement starts: the bench settings, and a URLconf that adds
the floor — a bare Django JSON view — beside the console's own URLs."""

from opsconsole.settings.bench import *  # noqa: F403

ROOT_URLCONF = "bench.enforcement_urls"
