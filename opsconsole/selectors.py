"""The kernel's reads."""

from django.db.models import QuerySet

from opsconsole.models import JobRun, OperationRecord, RuntimeSwitch, Tenant


def job_list(*, status: str = "", name: str = "") -> QuerySet[JobRun]:
    jobs = JobRun.objects.select_related("created_by")
    if status:
        jobs = jobs.filter(status=status)
    if name:
        jobs = jobs.filter(name__icontains=name)
    return jobs.order_by("-id")


def operation_record_list(
    *, operation: str = "", outcome: str = "", actor: str = ""
) -> QuerySet[OperationRecord]:
    records = OperationRecord.objects.all()
    if operation:
        records = records.filter(operation=operation)
    if outcome:
        records = records.filter(outcome=outcome)
    if actor:
        records = records.filter(actor_label__icontains=actor)
    return records.order_by("-id")


def runtime_switch_get() -> RuntimeSwitch:
    return (
        RuntimeSwitch.objects.filter(pk=1).select_related("changed_by").first() or RuntimeSwitch()
    )


def tenant_list() -> QuerySet[Tenant]:
    """Every tenant; callers filter (Tenant.objects.search and friends) and order."""
    return Tenant.objects.all()
