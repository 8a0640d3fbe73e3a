"""Notes on the rows, by case name: what limits a case and what was tried. Edited here, never in the document.

Each note is printed under the table of ``docs/benchmarks.md``; keep the before/after figures of a fix tried
in its text, so the next run of ``python -m bench`` shows whether it held. ``accepted`` marks a known miss:
CI (``--quick``) then fails the row only above 1.5× that quick-variant ratio instead of 1.5× the target, so it
still catches the row getting worse. Delete ``accepted`` once the fix lands.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    text: str
    accepted: float | None = None
    """For a known miss: the quick variant's ratio accepted until the fix lands."""


NOTES: dict[str, Note] = {
    "frame checks": Note(
        "Met: the checks cost one full decode of each file, as the floor does (`load_frame` keeps the picture "
        "by default). `prepare`, which the page and the command line use, checks JPEGs with a reduced-size "
        "decode instead (next row)."
    ),
    "submit": Note(
        "Was 2.39× (first version): `frames.load_frame` decoded both frames fully, one after the other, and kept "
        "the pictures; the POST to a simulator on the same machine is fast, so the decode dominated (pyinstrument: "
        "52% of a submit in `ImagingDecoder.decode`). Fixed: `prepare` checks a JPEG with `image.draft(mode, "
        "(w // 8, h // 8))` before `load()` — libjpeg's DCT scaling still reads every byte of the compressed "
        "data, so a truncated or damaged file fails exactly as before — keeps no picture unless auto-fit may need "
        "it, and loads the two frames in two threads (Pillow decodes outside the GIL): 2.39× before, the figure "
        "above since. Over a real network the upload dominates and the ratio tends to 1."
    ),
    "concurrency": Note(
        "No queuing: every create was in flight at once (above). What limits it is CPU: on 2 cores the crowd's "
        "work — the simulator rendering a video per task, the 20 `gradio_client` users in this process, the app "
        "— takes longer than the 1 s the service waits; in production the users and the service are on other "
        "machines. Was 4.11× in the first version; fixed since: one TLS context per process instead of one per "
        "client, query and "
        "download (py-spy had 36% of the app's samples in `ssl.create_default_context`), Generate sends the "
        "request its validator prepared instead of decoding the frames again, and the reduced-size JPEG check "
        "(*submit*). Left: the clients and the simulator share the two cores with the app."
    ),
    "memory": Note(
        "Was +203 MB (10.5× the body): each frame's decoded picture was kept (2 × 36 MB for 12 MP) in the "
        "validator and again in Generate, and `prepare` held the file bytes, the body's data-URI strings and "
        "the JSON bytes at once. Fixed: no pictures kept unless auto-fit may need them, one prepare per click, "
        "and the full image data only in the bytes sent (`PreparedRequest.body` is decoded from them on demand; "
        "the page and the history use `shortened_body()`): the figure above. What is left: while the body is "
        "built, the file bytes (14.6 MB), the two base64 strings (19.4 MB) and the JSON bytes (19.4 MB) coexist, "
        "and Gradio's upload handling holds its own copies. Next step: write the base64 in chunks into a buffer "
        "of the body's known size, so the strings never exist whole.",
        accepted=6.0,
    ),
    "polling (defaults, no callbacks)": Note(
        "Met since the wait doubles (was ×1.5) up to 30 s (was 15 s): a 5-minute task takes 14 queries and its "
        "end is noticed at most 30 s late whatever its length. Was 25 queries, noticed 11.4 s late: with at most "
        "15 s between queries a 300 s task needs at least 20. The service's callbacks (next row) bring the end "
        "at once; polling is then a safety net."
    ),
    "polling (defaults, with callbacks)": Note(
        "Met since the app polls at most every 60 s when the service's callbacks reach it (`VIDU_UI_PUBLIC_URL` "
        "set; demo mode sets it to the app's own address): polling is then a safety net for a lost callback. "
        "Before, the tracker kept polling every 15 s: 25 queries."
    ),
}


MEASURED_ELSEWHERE = """## Following 1,000 tasks (measured by a test, not by this benchmark)

`tests/test_follower.py::test_threads_stay_bounded_following_many_tasks[1000]` (`pytest -m slow -s`) follows
1,000 tasks at once (each answers processing, processing, success) with one `vidu_ui.follower.Follower` on a
SQLite history, a scripted service and a fake clock. On the shared 2-core machine (2026-12-01): **5 threads**
beyond the test's own (the scheduler and 4 query workers; the 2 download workers are idle with videos off),
whatever the number of tasks, and **+2.0 MB** resident memory; 3,000 queries, each made once. The tracker
before it held up to 512 watcher threads and a heap in one process; the follower keeps a task's whole state in
its row (due time, job, lease), so memory grows little with the tasks followed (+1.1 MB for 100), and several
processes share them. The run takes about 4 minutes, mostly SQLite's `synchronous=FULL` writes (each a disk
flush), which is why it is in the slow tier; the default run follows 30.
"""
"""A section about a figure another test measures; ``report.markdown`` appends it after the notes."""
