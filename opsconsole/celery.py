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
    # Policies turn newly attached affected users into proposals; the sweep issues approved
    # proposals whose kick to the issue task was lost.
    "compensation-propose": {"task": "compensation.propose", "schedule": 300.0},
    "compensation-issue-approved": {"task": "compensation.issue_approved", "schedule": 60.0},
    # Incidents: patterns over the windows ending at each 5-minute mark; suppressions that ran out.
    "incidents-detect-patterns": {"task": "incidents.detect_patterns", "schedule": 300.0},
    "incidents-end-suppressions": {"task": "incidents.end_suppressions", "schedule": 60.0},
    # Batches fold each other's count deltas as they arrive; this folds what a burst left behind.
    "incidents-fold-counters": {"task": "incidents.fold_counters", "schedule": 10.0},
    # Expired founder actions stop counting at their expiry time regardless; this records them
    # and publishes the change to the enforcement feed.
    "founder-expire-actions": {"task": "founder.expire_actions", "schedule": 15.0},
}
