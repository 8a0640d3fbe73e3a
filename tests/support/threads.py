"""Running one piece of work in several threads at once, as several visitors or processes would."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(work: Callable[[], object], count: int, timeout: float = 120.0) -> list[BaseException]:
    """Run ``work`` in ``count`` threads together; what they raised (a thread still running after ``timeout``
    seconds counts as a ``TimeoutError``)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    errors += [TimeoutError(f"{thread.name} still running") for thread in threads if thread.is_alive()]
    return errors
