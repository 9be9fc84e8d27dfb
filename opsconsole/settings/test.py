"""The test suite: the real PostgreSQL and Redis, only made cheaper where safety costs time."""

import os

from opsconsole.logconfig import logging_config
from opsconsole.settings.base import *  # noqa: F403
from opsconsole.settings.base import CACHES

# Tests create many users; the production hasher would spend most of the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# pytest-django creates and drops the test database; a pool would hold connections to it.
DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
# Parallel workers share one Redis: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = f"opsconsole-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
AXES_ENABLED = True
LOG_LEVEL = "WARNING"
LOGGING = logging_config(log_format="console", level=LOG_LEVEL)
# Every batch folds inline, so a test sees its counters at once (test_ingest covers the interval).
INCIDENT_FOLD_INTERVAL_SECONDS = 0
