"""Run the same call from many threads at once, each with its own database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def run_concurrently[T](call: Callable[[], T], times: int) -> list[T]:
    """Start `times` threads together (behind a barrier) and return what each call returned."""
    barrier = threading.Barrier(times)
    results: list = [None] * times

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
