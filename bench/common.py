"""What every benchmark shares: a figure beside its floor, and honest timing.

A benchmark module in bench/ defines `run() -> list[Figure]`. Each Figure is one number measured
beside its floor — the cheapest way to do the same job (a bare view, a raw COPY, one GROUP BY) —
in the same run, on the same machine, so the ratio means something on a noisy 2-core box.
Timings are medians of repeated runs.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    floor_name: str
    floor: float
    better: str  # "higher" (throughput) or "lower" (latency, time)
    target: str = ""  # the promise, e.g. "ratio ≥ 0.70" or "≤ 100 ms"
    met: bool | None = None

    @property
    def ratio(self) -> float:
        if not self.floor:
            return float("nan")
        return self.value / self.floor

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 3)}


def median_seconds(work: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
