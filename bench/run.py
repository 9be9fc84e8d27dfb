"""`make bench`: run every benchmark in bench/ and print one table of figures beside their floors.

Benchmarks run against a throwaway database (created, migrated and dropped here) on the servers
in DATABASE_URL / REDIS_URL. The last run's figures are also written to bench/results/latest.json.
Run one benchmark with `make bench BENCH=registry`.
"""

import importlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings.bench")

import django  # noqa: E402

django.setup()

from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def modules(selected: str) -> list[str]:
    names = sorted(path.stem for path in HERE.glob("bench_*.py"))
    if selected:
        names = [name for name in names if name == f"bench_{selected}"]
    return names


def render(rows: list[dict]) -> str:
    header = ("figure", "value", "floor", "floor value", "ratio", "target", "met")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row["name"],
                f"{row['value']:.4g} {row['unit']}",
                row["floor_name"],
                f"{row['floor']:.4g} {row['unit']}",
                f"{row['ratio']:.2f}",
                row["target"],
                {True: "yes", False: "NO", None: ""}[row["met"]],
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    )


def main() -> int:
    names = modules(os.environ.get("BENCH", ""))
    if not names:
        print("no benchmarks matched")
        return 1
    databases = setup_databases(verbosity=0, interactive=False)
    rows = []
    try:
        for name in names:
            started = time.perf_counter()
            figures = importlib.import_module(name).run()
            print(
                f"{name}: {len(figures)} figures in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
            rows += [figure.as_dict() for figure in figures]
    finally:
        teardown_databases(databases, verbosity=0)
    print()
    print(render(rows))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.json").write_text(json.dumps(rows, indent=2))
    return 0 if all(row["met"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
