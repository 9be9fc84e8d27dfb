"""Celery is configured not to lose work, and beat only names tasks that exist."""

from django.conf import settings

from opsconsole.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    unknown = {
        name: entry["task"]
        for name, entry in app.conf.beat_schedule.items()
        if entry["task"] not in app.tasks
    }
    assert not unknown, f"beat entries naming unknown tasks: {unknown}"
    assert app.conf.beat_schedule, "the schedule must not be empty"


def test_work_is_acknowledged_only_when_done_and_never_handed_out_twice_while_running():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_ignore_result and conf.broker_url == settings.REDIS_URL
