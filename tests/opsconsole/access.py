from opsconsole.roles import ADMIN, AUDITOR
from tests.access import EVERY_ROLE, Access


def _job() -> dict:
    from opsconsole.jobs import job_create

    return {"pk": job_create(name="tests.job").pk}


ACCESS = {
    "home": Access(EVERY_ROLE),
    "dashboard": Access(EVERY_ROLE),
    "login": Access(EVERY_ROLE, note="signed-in people are sent on to their home"),
    "logout": Access(EVERY_ROLE, method="POST"),
    "admin_login": Access(EVERY_ROLE),
    "healthz": Access(EVERY_ROLE),
    "readyz": Access(EVERY_ROLE),
    "job_list": Access(EVERY_ROLE),
    "job_detail": Access(EVERY_ROLE, kwargs=_job),
    "operation_record_list": Access(frozenset({AUDITOR, ADMIN})),
    "runtime_switch": Access(frozenset({ADMIN})),
    "api_schema": Access(EVERY_ROLE),
    "api_docs": Access(EVERY_ROLE),
    "tenant_upsert": Access(frozenset({ADMIN}), method="POST", data=lambda: {"tenants": []}),
}
