"""Timing: the measured work and its floor, run alternately in the same process so noise hits both alike."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Work = Callable[[], Any]
Settle = Callable[[Any], None]


@dataclass
class Timings:
    measured: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)

    @property
    def measured_median(self) -> float:
        return statistics.median(self.measured)

    @property
    def floor_median(self) -> float:
        return statistics.median(self.floor)

    @property
    def ratio(self) -> float:
        """The median of each round's measured ÷ floor: the two runs of a round are back to back, so a slow
        patch of a shared machine moves both; steadier than the ratio of the medians."""
        return statistics.median(m / f for m, f in zip(self.measured, self.floor, strict=True))


def _timed(work: Work) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def _ignore(value: Any) -> None:
    return None


def compare(measured: Work, floor: Work, *, runs: int, warmup: int = 1, settle: Settle = _ignore) -> Timings:
    """Median wall times of ``measured`` and ``floor`` over ``runs`` rounds, after ``warmup`` untimed rounds.

    Each round runs both, the order swapping every round, so a slow patch of a noisy machine is shared.
    ``settle(value)`` runs after each call, untimed (e.g. wait until the simulator finished with a task).
    """
    for _ in range(warmup):
        settle(floor())
        settle(measured())
    timings = Timings()
    for round_ in range(runs):
        order = ((floor, timings.floor), (measured, timings.measured))
        for work, into in order if round_ % 2 == 0 else reversed(order):
            elapsed, value = _timed(work)
            settle(value)
            into.append(elapsed)
    return timings


def seconds(value: float) -> str:
    """``0.245 s``, ``12.3 ms``: three significant figures."""
    return f"{value * 1000:.3g} ms" if value < 0.1 else f"{value:.3g} s"


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"
