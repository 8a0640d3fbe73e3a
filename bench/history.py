"""The History tab on a large history: 100,000 rows written with the project's own schema (thumbnails included).

Every query the tab makes — each state filter, a text search, and what a starting app reads (``unfinished`` and
``missing_videos``, through ``Follower.resume``) — against the newest 200, the tab's first view.
"""

from __future__ import annotations

import functools
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from vidu_ui.request import TASK_STATES
from vidu_ui.store import Store, make_thumbnail, tasks

from .images import encode, photo
from .measure import seconds
from .results import Context, Row

FULL_ROWS = 100_000
QUICK_ROWS = 10_000
LIMIT = 200
WORD = "heron"
"""A word in about 1 prompt in 1,000, spread over the history: a search must look through all of it."""
UNFINISHED_ROWS = 20
"""Tasks a restart finds unfinished, spread over the history (most of a big history is long finished)."""
MISSING_VIDEOS = 10
SUBJECTS = ("a lighthouse", "a fox", "city lights", "a glacier", "a tram", "rain on glass", "a market", "dunes")


def _rows(count: int, thumbnail: bytes, seed: int = 15) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    unfinished = set(rng.sample(range(count), UNFINISHED_ROWS))
    missing = set(rng.sample(range(count), MISSING_VIDEOS)) - unfinished
    rows = []
    started = time.time() - count * 60.0
    for i in range(count):
        if i in unfinished:
            state = ("created", "queueing", "processing")[i % 3]
        else:
            state = "failed" if rng.random() < 0.06 else "success"
        subject = WORD if rng.random() < 0.001 else rng.choice(SUBJECTS)
        prompt = f"A slow dolly shot of {subject} from dawn to dusk, take {i}"
        created = started + i * 60.0
        task_id = str(800_000_000_000_000_000 + i)
        done = state == "success"
        rows.append(
            {
                "ref": f"bench-{i}",
                "task_id": task_id,
                "created_at": created,
                "key_kind": "server",
                "model": "viduq1",
                "prompt": prompt,
                "options": json.dumps({"model": "viduq1", "prompt": prompt, "duration": 5, "resolution": "1080p"}),
                "start_thumbnail": thumbnail,
                "end_thumbnail": thumbnail,
                "create_response": json.dumps({"task_id": task_id, "state": "created"}),
                "state": state,
                "credits": 20.0 if done else None,
                "video_url": f"https://cdn.example.com/{i}.mp4" if done else None,
                "urls_fetched_at": created + 120.0 if done else None,
                "video_path": f"/data/videos/{i}.mp4" if done and i not in missing else None,
                "updated_at": created + 120.0,
                "version": 4,
            }
        )
    return rows


def build(store: Store, count: int) -> int:
    """Write ``count`` rows in batches; returns the thumbnail's size."""
    thumbnail = make_thumbnail(encode(photo(1280, 720, 51), "JPEG", quality=92)) or b""
    rows = _rows(count, thumbnail)
    for at in range(0, count, 5000):
        with store.write() as conn:
            conn.execute(tasks.insert(), rows[at : at + 5000])
    return len(thumbnail)


def _timed(query: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    query()
    return time.perf_counter() - started


def run(ctx: Context) -> list[Row]:
    count = FULL_ROWS if ctx.profile.name == "full" else QUICK_ROWS
    folder = ctx.work / "history"
    store = Store(folder / "history.sqlite3")
    try:
        started = time.perf_counter()
        thumbnail = build(store, count)
        built = time.perf_counter() - started
        size = store.path.stat().st_size if store.path is not None else 0
        queries: dict[str, Callable[[], object]] = {
            f"state {state}": functools.partial(store.list, shared=True, state=state, limit=LIMIT)
            for state in (*TASK_STATES, "unfinished")
        }
        queries[f"search “{WORD}”"] = lambda: store.list(shared=True, text=WORD, limit=LIMIT)
        queries["at start (unfinished, missing videos)"] = lambda: (store.unfinished(), store.missing_videos())
        floor = lambda: store.list(shared=True, limit=LIMIT)  # noqa: E731
        for query in (floor, *queries.values()):  # warm: the file in the page cache, statements compiled
            query()
        floors: list[float] = []
        measured: dict[str, list[float]] = {name: [] for name in queries}
        ratios: dict[str, list[float]] = {name: [] for name in queries}
        for _ in range(ctx.profile.runs):
            base = _timed(floor)
            floors.append(base)
            for name, query in queries.items():
                took = _timed(query)
                measured[name].append(took)
                ratios[name].append(took / base)
    finally:
        store.close()
    floor_median = statistics.median(floors)
    rows = []
    for name in queries:
        rows.append(
            Row(
                case=f"history: {name}",
                measured=seconds(statistics.median(measured[name])),
                floor=seconds(floor_median),
                ratio=statistics.median(ratios[name]),
                target=2.0,
                target_text="≤ 2×",
                detail=f"`Store.list` (the History tab's query, at most {LIMIT} rows) or, at start, "
                f"`Store.unfinished` and `Store.missing_videos` (what `Follower.resume` reads) on a SQLite history "
                f"of {count:,} rows ({size / 1e9:.2f} GB, two {thumbnail / 1000:.0f} kB thumbnails in each row, "
                f"{UNFINISHED_ROWS} unfinished, about 1 in 1,000 prompts with the word searched; written in "
                f"{built:.0f} s); floor: the newest {LIMIT} (`Store.list` without a filter)",
            )
        )
    return rows
