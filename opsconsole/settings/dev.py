"""`make run`: the console on a developer's machine, with the demo data."""

from opsconsole.settings.base import *  # noqa: F403
from opsconsole.settings.base import env_bool

DEBUG = env_bool("DEBUG", True)
