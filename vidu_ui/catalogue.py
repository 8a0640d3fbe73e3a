"""The model catalogue: every start–end model, its durations, resolutions and which options apply.

This table is the only place a model name is written. Adding a model is one entry in ``MODELS``.
Figures follow the official start–end page as quoted in ``shared/vidu-api.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MOVEMENT_AMPLITUDES: tuple[str, ...] = ("auto", "small", "medium", "large")
WM_POSITIONS: dict[int, str] = {1: "top left", 2: "top right", 3: "bottom right", 4: "bottom left"}
"""The watermark's corners, by the number the service takes."""


@dataclass(frozen=True)
class ResolutionRule:
    """Resolutions offered for a set of durations."""

    durations: tuple[int, ...]
    choices: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class Model:
    """One model of the start–end call."""

    name: str
    description: str
    durations: tuple[int, ...]
    default_duration: int
    resolution_rules: tuple[ResolutionRule, ...]
    movement_amplitude: bool
    """Whether ``movement_amplitude`` has an effect (the official docs: not on q2 and q3 models)."""
    audio: bool
    """Whether the model can generate sound (``audio``): q3 models only."""
    bgm: bool
    """Whether background music (``bgm``) applies: every model but q3."""
    off_peak: bool = False
    """Whether relays document off-peak as available (only viduq3-pro with sound on); elsewhere it only warns."""
    credits_per_second: dict[str, float] | None = None
    """Indicative credits per second of video by resolution, where a public figure exists."""

    def _rule(self, duration: int | None) -> ResolutionRule:
        wanted = self.default_duration if duration is None else duration
        for rule in self.resolution_rules:
            if wanted in rule.durations:
                return rule
        return self._rule(self.default_duration)

    def resolutions_for(self, duration: int | None = None) -> tuple[str, ...]:
        """Resolutions allowed at ``duration`` (the default duration when None or not allowed)."""
        return self._rule(duration).choices

    def default_resolution_for(self, duration: int | None = None) -> str:
        return self._rule(duration).default

    @property
    def fixed_duration(self) -> bool:
        """True when the model offers one duration only (viduq1: 5 s): the page shows it, not a slider."""
        return len(self.durations) == 1

    @property
    def duration_step(self) -> int:
        steps = {b - a for a, b in zip(self.durations, self.durations[1:], strict=False)}
        return min(steps) if steps else 1

    @property
    def duration_range(self) -> tuple[int, int]:
        return min(self.durations), max(self.durations)

    def describe_durations(self) -> str:
        """The allowed durations in words: ``1–16``, ``5`` or ``4 or 8``."""
        low, high = self.duration_range
        if low == high:
            return str(low)
        if list(self.durations) == list(range(low, high + 1)):
            return f"{low}–{high}"
        return " or ".join(str(d) for d in self.durations)

    def estimate_credits(self, duration: int, resolution: str, is_rec: bool = False) -> int | None:
        """An indicative price; None where no public figure exists. Always label it an estimate."""
        if not self.credits_per_second or resolution not in self.credits_per_second:
            return None
        return round(self.credits_per_second[resolution] * duration) + (10 if is_rec else 0)


def _same(durations: Iterable[int], choices: tuple[str, ...], default: str) -> tuple[ResolutionRule, ...]:
    return (ResolutionRule(tuple(durations), choices, default),)


_P540_1080 = ("540p", "720p", "1080p")

# 1 credit ≈ 0.005 USD; q3 per-second prices from ComfyUI's price badges, q1 from the seed's example (80 for 5 s).
MODELS: tuple[Model, ...] = (
    Model(
        "viduq3-pro",
        "Highest quality with generated sound; vivid, three-dimensional motion",
        tuple(range(1, 17)),
        5,
        _same(range(1, 17), _P540_1080, "720p"),
        movement_amplitude=False,
        audio=True,
        bgm=False,
        off_peak=True,
        credits_per_second={"720p": 30.0, "1080p": 32.0},
    ),
    Model(
        "viduq3-turbo",
        "Like viduq3-pro with sound, generated faster and cheaper",
        tuple(range(1, 17)),
        5,
        _same(range(1, 17), _P540_1080, "720p"),
        movement_amplitude=False,
        audio=True,
        bgm=False,
        credits_per_second={"720p": 12.0, "1080p": 16.0},
    ),
    Model(
        "viduq2",
        "The q2 generation: 1–10 s up to 1080p",
        tuple(range(1, 11)),
        5,
        _same(range(1, 11), _P540_1080, "720p"),
        movement_amplitude=False,
        audio=False,
        bgm=True,
    ),
    Model(
        "viduq1",
        "Clear picture, smooth transitions, stable camera; 5 s at 1080p",
        (5,),
        5,
        _same((5,), ("1080p",), "1080p"),
        movement_amplitude=True,
        audio=False,
        bgm=True,
        credits_per_second={"1080p": 16.0},
    ),
    Model(
        "viduq2-pro",
        "q2 at its best quality, 1–8 s",
        tuple(range(1, 9)),
        5,
        _same(range(1, 9), _P540_1080, "720p"),
        movement_amplitude=False,
        audio=False,
        bgm=True,
    ),
    Model(
        "viduq2-turbo",
        "q2, generated faster, 1–8 s",
        tuple(range(1, 9)),
        5,
        _same(range(1, 9), _P540_1080, "720p"),
        movement_amplitude=False,
        audio=False,
        bgm=True,
    ),
    Model(
        "viduq2-pro-fast",
        "q2-pro, fastest, 720p or 1080p only",
        tuple(range(1, 9)),
        5,
        _same(range(1, 9), ("720p", "1080p"), "720p"),
        movement_amplitude=False,
        audio=False,
        bgm=True,
    ),
    Model(
        "viduq1-classic",
        "The classic q1 look; 5 s at 1080p",
        (5,),
        5,
        _same((5,), ("1080p",), "1080p"),
        movement_amplitude=True,
        audio=False,
        bgm=True,
    ),
    Model(
        "vidu2.0",
        "The 2.0 model: 4 s (up to 1080p) or 8 s (720p)",
        (4, 8),
        4,
        (
            ResolutionRule((4,), ("360p", "720p", "1080p"), "360p"),
            ResolutionRule((8,), ("720p",), "720p"),
        ),
        movement_amplitude=True,
        audio=False,
        bgm=True,
    ),
)

_BY_NAME = {m.name: m for m in MODELS}
MODEL_NAMES: tuple[str, ...] = tuple(_BY_NAME)
DEFAULT_MODEL = MODELS[0].name


def get_model(name: str) -> Model | None:
    """The catalogue entry for ``name``, or None for a model the catalogue does not know."""
    return _BY_NAME.get(name)


def models_with(option: str) -> tuple[str, ...]:
    """Names of the models on which ``option`` (``audio``, ``bgm``, ``movement_amplitude``, ``off_peak``) applies."""
    return tuple(m.name for m in MODELS if getattr(m, option))


def resolution_pixels(resolution: str) -> int:
    """The pixels a video of ``resolution`` has: its height (``720p``) at 16:9, so 1080p is 1920×1080, about
    2.1 MP; 720p about 0.92 MP; 540p about 0.52 MP; 360p about 0.23 MP. Auto-fit sizes the frames for it."""
    height = int(resolution.lower().removesuffix("p"))
    return height * height * 16 // 9


RESOLUTIONS: tuple[str, ...] = tuple(
    sorted({r for m in MODELS for rule in m.resolution_rules for r in rule.choices}, key=resolution_pixels)
)
"""Every resolution a model offers, smallest first; the last is the largest video any model makes."""
