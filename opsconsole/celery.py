"""The Celery app and its beat schedule.

The schedule is code: one beat process runs it, any number of workers on any machines take the
tasks. Every task is safe to run twice or alongside itself (see each task's docstring), and a test
checks that every entry names a registered task.
"""

from celery import Celery

# DJANGO_SETTINGS_MODULE comes from the environment of each process (`make run` passes it on;
# production sets it for web and workers alike). This module must not set it: it is imported
# whenever the opsconsole package is, and a default set here would leak into child processes.
app = Celery("opsconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Kicks after each commit deliver events at once; this sweep catches kicks lost while Redis
    # was down and retries whose backoff has run out.
    "outbox-relay-sweep": {"task": "opsconsole.outbox_relay", "schedule": 10.0},
    "idempotency-keys-expire": {"task": "opsconsole.expire_idempotency_keys", "schedule": 3600.0},
    "jobs-resend-queued": {"task": "opsconsole.resend_queued_jobs", "schedule": 60.0},
    # Expired founder actions stop counting at their expiry time regardless; this records them
    # and publishes the change to the enforcement feed.
    "founder-expire-actions": {"task": "founder.expire_actions", "schedule": 15.0},
}
