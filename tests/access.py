"""The role-by-URL table: for every named URL, which roles get in.

Each app keeps its part in tests/<app>/access.py as `ACCESS = {url_name: Access(...)}`; `table()`
gathers them all. tests/test_access_matrix.py fails when a URL has no entry, and checks every role
against every entry: the roles named get in, every other role gets 403.
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import tests
from opsconsole.roles import ROLES

EVERY_ROLE = frozenset(ROLES)


def no_kwargs() -> dict:
    return {}


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    method: str = "GET"
    kwargs: Callable[[], dict] = no_kwargs  # path kwargs; may create objects (runs inside the test)
    data: Callable[[], dict] = field(default=no_kwargs)  # body for a POST
    note: str = ""


def table() -> dict[str, Access]:
    merged: dict[str, Access] = {}
    for module_info in pkgutil.walk_packages(tests.__path__, "tests."):
        if not module_info.name.endswith(".access") or module_info.name == "tests.access":
            continue
        entries = importlib.import_module(module_info.name).ACCESS
        duplicated = merged.keys() & entries.keys()
        if duplicated:
            raise AssertionError(f"{module_info.name} repeats entries: {sorted(duplicated)}")
        merged.update(entries)
    return merged
