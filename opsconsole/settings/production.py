"""Production: behind an HTTPS proxy, secrets from the environment, nothing demo."""

from opsconsole.logconfig import logging_config
from opsconsole.settings.base import *  # noqa: F403
from opsconsole.settings.base import env, env_list

SECRET_KEY = env("SECRET_KEY")  # required: no default in production
DEBUG = False
DEMO_ALLOWED = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
LOG_FORMAT = env("LOG_FORMAT", "json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)  # noqa: F405
