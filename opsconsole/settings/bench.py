"""`make bench`: production-like (no debug, the connection pool) in a throwaway database."""

from opsconsole.settings.base import *  # noqa: F403
from opsconsole.settings.base import LOG_FORMAT, logging_config

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
LOGGING = logging_config(log_format=LOG_FORMAT, level="WARNING")
