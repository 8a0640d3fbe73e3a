"""What every case is given (the profile, a work folder, the simulator) and what it gives back (rows)."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .notes import NOTES
from .procs import SimulatorProcess

CI_SLACK = 1.5
"""The quick variant fails a row only when its ratio is more than this many times its target: no flakiness."""


@dataclass(frozen=True)
class Profile:
    """Sizes and repetitions: the full benchmark, or the quick one CI runs."""

    name: str
    runs: int
    check_size: tuple[int, int]  # frame checks: two JPEGs of this size
    submit_size: tuple[int, int]  # submit: two JPEGs of this size
    fit_size: tuple[int, int]  # auto-fit: two PNGs of this size
    memory_size: tuple[int, int]  # memory: two JPEGs of this size, their quality chosen to fill the body
    cold_runs: int
    clients: int
    crowd_runs: int

    @property
    def fit_scale(self) -> float:
        """The auto-fit budget is scaled with the pixels, so the quick variant takes the same decisions."""
        return (self.fit_size[0] * self.fit_size[1]) / (6000 * 4000)


FULL = Profile(
    name="full",
    runs=7,
    check_size=(6000, 4000),
    submit_size=(4000, 3000),
    fit_size=(6000, 4000),
    memory_size=(4000, 3000),
    cold_runs=5,
    clients=20,
    crowd_runs=3,
)
QUICK = Profile(
    name="quick",
    runs=3,
    check_size=(2448, 1632),
    submit_size=(2448, 1632),
    fit_size=(2448, 1632),
    memory_size=(2448, 1632),
    cold_runs=2,
    clients=4,
    crowd_runs=2,
)


@dataclass
class Row:
    """One line of the table. ``ratio`` is compared with ``target`` (both "times the floor", or as the case says)."""

    case: str
    measured: str
    floor: str
    ratio: float
    target: float
    target_text: str
    checks_ok: bool = True
    """Conditions besides the ratio (auto-fit: what was kept, where the body ended)."""
    detail: str = ""
    """What was measured, in a sentence: sizes, counts, the outcome of the checks."""

    @property
    def met(self) -> bool:
        return self.checks_ok and self.ratio <= self.target

    @property
    def limit(self) -> float:
        """The ratio above which CI fails: ``CI_SLACK ×`` the target, or × the ratio accepted for a known miss
        (``bench/notes.py``) until its fix lands, so CI still catches it getting worse."""
        note = NOTES.get(self.case)
        accepted = note.accepted if note is not None and note.accepted is not None else 0.0
        return CI_SLACK * max(self.target, accepted)

    @property
    def passes_ci(self) -> bool:
        return self.checks_ok and self.ratio <= self.limit

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met, "limit": self.limit, "passes_ci": self.passes_ci}


@dataclass
class Context:
    """Shared by the cases of one run."""

    profile: Profile
    work: Path
    simulator: SimulatorProcess
    log_dir: Path

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)
