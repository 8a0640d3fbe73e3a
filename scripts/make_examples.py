"""Draws the example frame pairs in ``examples/`` and writes ``examples/examples.json`` (pairs and prompts).

    python3 scripts/make_examples.py

The drawings are deterministic (no randomness, no fonts), so running this again rewrites the same files. They are
small JPEGs: the page offers them as Gradio examples and the README's quick start sends them to the simulator.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "examples"
MANIFEST = "examples.json"
SIZE = (768, 432)
QUALITY = 86
Color = tuple[int, int, int]


def mix(a: Color, b: Color, t: float) -> Color:
    t = min(1.0, max(0.0, t))
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def vertical_gradient(size: tuple[int, int], stops: list[tuple[float, Color]]) -> Image.Image:
    """A sky: colours at fractions of the height, blended between."""
    height = size[1]
    column = Image.new("RGB", (1, height))
    for y in range(height):
        f = y / (height - 1)
        for (f0, c0), (f1, c1) in itertools.pairwise(stops):
            if f0 <= f <= f1:
                column.putpixel((0, y), mix(c0, c1, (f - f0) / (f1 - f0 or 1)))
                break
    return column.resize(size)


def hill(width: int, base: float, amplitude: float, wavelength: float, phase: float) -> list[tuple[float, float]]:
    """A rolling ridge line from the left edge to the right, closed along the bottom."""
    points = [(x, base - amplitude * math.sin(2 * math.pi * x / wavelength + phase)) for x in range(0, width + 8, 8)]
    return [*points, (width, 10_000), (0, 10_000)]


def glow(image: Image.Image, centre: tuple[float, float], radius: float, color: Color, strength: float) -> None:
    """A soft halo around the sun, blended into ``image`` in place."""
    halo = Image.new("L", image.size, 0)
    x, y = centre
    ImageDraw.Draw(halo).ellipse((x - radius, y - radius, x + radius, y + radius), fill=round(255 * strength))
    halo = halo.filter(ImageFilter.GaussianBlur(radius / 2))
    image.paste(Image.new("RGB", image.size, color), (0, 0), halo)


def landscape(sun_height: float) -> Image.Image:
    """Hills under a sun ``sun_height`` of the way from the horizon to the top: 0 dawn, 1 midday."""
    width, height = SIZE
    t = sun_height
    sky = vertical_gradient(
        SIZE,
        [
            (0.0, mix((44, 52, 110), (92, 160, 226), t)),
            (0.45, mix((232, 128, 102), (150, 200, 240), t)),
            (0.7, mix((255, 196, 120), (206, 232, 250), t)),
            (1.0, mix((255, 214, 150), (226, 242, 252), t)),
        ],
    )
    sun = (width * (0.3 + 0.25 * t), height * (0.62 - 0.47 * t))
    glow(sky, sun, 90 - 30 * t, mix((255, 170, 90), (255, 250, 220), t), 0.55)
    draw = ImageDraw.Draw(sky)
    r = 30 - 6 * t
    draw.ellipse((sun[0] - r, sun[1] - r, sun[0] + r, sun[1] + r), fill=mix((255, 150, 70), (255, 252, 235), t))
    ridges = [
        (0.64, 26, 520, 0.4, mix((96, 84, 130), (120, 170, 150), t)),
        (0.72, 30, 430, 2.1, mix((70, 70, 100), (86, 150, 104), t)),
        (0.84, 22, 610, 4.0, mix((42, 48, 70), (58, 120, 76), t)),
    ]
    for base, amplitude, wavelength, phase, color in ridges:
        draw.polygon(hill(width, height * base, amplitude, wavelength, phase), fill=color)
    return sky


def boat_scene(position: float) -> Image.Image:
    """A paper boat on a calm lake, ``position`` of the way across: 0 left, 1 right."""
    width, height = SIZE
    horizon = height * 0.46
    image = vertical_gradient(
        SIZE, [(0.0, (170, 206, 236)), (0.46, (232, 240, 246)), (0.47, (84, 140, 170)), (1.0, (40, 86, 120))]
    )
    draw = ImageDraw.Draw(image)
    shore = hill(width, horizon - 10, 12, 700, 1.0)[:-2]  # the far shore: a low ridge standing on the horizon
    draw.polygon([*shore, (width, horizon), (0, horizon)], fill=(122, 156, 150))
    for i, y in enumerate(range(round(horizon) + 14, height, 22)):  # soft ripples, wider toward the viewer
        shift = (i * 53) % 90
        for x in range(-shift, width, 140 + i * 6):
            draw.line((x, y, x + 36 + i * 3, y), fill=(118, 170, 196), width=2)
    x = width * (0.16 + 0.66 * position)
    y = height * 0.7
    hull = [(x - 62, y - 16), (x + 62, y - 16), (x + 40, y + 14), (x - 40, y + 14)]
    sail = [(x - 34, y - 16), (x, y - 66), (x + 34, y - 16)]
    draw.ellipse((x - 70, y + 8, x + 70, y + 22), fill=(34, 74, 104))  # its shadow on the water
    draw.polygon(sail, fill=(250, 248, 240), outline=(200, 196, 186))
    draw.polygon(hull, fill=(240, 236, 224), outline=(196, 190, 176))
    draw.line((x, y - 66, x, y - 16), fill=(210, 204, 190), width=2)
    return image


@dataclass(frozen=True)
class Example:
    name: str
    prompt: str
    start: Callable[[], Image.Image]
    end: Callable[[], Image.Image]


EXAMPLES = (
    Example(
        "sunrise",
        "Time-lapse of the sun rising over rolling hills, the sky warming from dawn pink to a clear midday blue; "
        "slow, steady camera.",
        lambda: landscape(0.0),
        lambda: landscape(1.0),
    ),
    Example(
        "paper-boat",
        "A paper boat drifts gently across a calm lake from left to right, small ripples spreading behind it.",
        lambda: boat_scene(0.0),
        lambda: boat_scene(1.0),
    ),
)


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    rows = []
    for example in EXAMPLES:
        files = {}
        for role, draw in (("start", example.start), ("end", example.end)):
            name = f"{example.name}-{role}.jpg"
            draw().save(FOLDER / name, "JPEG", quality=QUALITY, optimize=True)
            files[role] = name
        rows.append({"name": example.name, "start": files["start"], "end": files["end"], "prompt": example.prompt})
    (FOLDER / MANIFEST).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    total = sum(f.stat().st_size for f in FOLDER.iterdir())
    print(f"wrote {len(rows)} pairs to {FOLDER} ({total / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
