"""Run one action in several threads at the same moment (for races on PostgreSQL)."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def concurrently(action: Callable[[], Any], threads: int) -> list[Any]:
    """Run `action` in `threads` threads released at once, each on its own DB connection."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            result = action()
            with lock:
                results.append(result)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread below
            with lock:
                errors.append(e)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    assert len(results) == threads
    return results
