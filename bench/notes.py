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
        "The app runs on one CPU and the clients and the simulator on the other (issue 15: before, the 20 "
        "`gradio_client` users and the simulator's video rendering shared both cores with the app, and the "
        "row said little about the app). The creates overlap (above), so the wait is the app's CPU, not a "
        "queue: 20 Generates need 20 times the app's CPU per Generate on one core (*app CPU per Generate*). "
        "What stops it at 1.5× is measured in the row itself since 3 December: the same crowd on the bare "
        "page of *app CPU per Generate* (its event given `concurrency_limit=None`: with Gradio's default of 1 "
        "the 20 queue, 18.99× in a trial run), pinned the same way, whose upload route, queue and event "
        "stream cost about 55 ms of CPU per Generate: 3.40× against the studio's 3.64× in a trial run on 3 "
        "December (1.32× against 1.55× in a quick run with fewer users). Was 4.11× in the first version; "
        "fixed since: one TLS context per process, Generate sends the request its validator prepared, the "
        "reduced-size JPEG check (*submit*), a 720p frame's thumbnail from that check's decode, and "
        "Generate's two yields instead of three (*app CPU per Generate*)."
    ),
    "memory": Note(
        "Was +203 MB (10.5× the body) in the first version, +94.9 MB (4.9×) before issue 15's round. Fixed "
        "since: the body is written once into a buffer of its known size, each frame's base64 a chunk at a "
        "time (`submit.encode_body`); a body goes to httpcore's stream 256 KiB at a time "
        "(`deadline._DeadlineStream.write`: httpcore copied the unsent rest of the whole body after every "
        "partial send); the page fixes glibc's mmap threshold at 128 KiB (`vidu_ui.heap`, `mallopt`), so a "
        "freed body goes back to the system: +56.2 MB (2.90×) and +9.8% once idle again. Then "
        "`reconcile.send` put the app's payload reference in by encoding the body a second time while "
        "Generate still held the first (two bodies at once): the reference is now put in when the request is "
        "prepared (`prepare(reference=submit.new_reference(settings))`), so the body is encoded once, its "
        "size checked with the reference in it: +55.8 MB (2.88×) → +36.4 MB (1.88×) in a run of this row "
        "alone on 3 December. What is left: the frames' bytes (each file read whole, 14.6 MB for two 7.3 MB "
        "JPEGs) live beside the body while it is sent, and Gradio's upload handling holds its own copies of "
        "the files. Idle again: +0.5% in some runs, +9–10% in others (over the target in the full run of 3 "
        "December). On 4 December, a thread in the app collecting Python's cyclic garbage every 0.3 s with "
        "`gc.DEBUG_SAVEALL` found the last body in it: httpx's `Request` keeps the body it was given as bytes, "
        "its `Response` refers to it and is in a reference cycle with its own stream, so the body lived until "
        "the cyclic collector happened to run, which an idle app may not do. Fixed: each attempt of a create "
        "sends a stream that lets go of the bytes once sent (`client._SentOnce`, with the body's "
        "`Content-Length`): +0.6–1.3% in four runs of this row alone (with the collector run every 0.3 s "
        "instead: +0.4–1.0%). glibc's heap was not the cause: with `MALLOC_MMAP_THRESHOLD_=131072` the "
        "runs were +0.5% and +9.2%."
    ),
    "app CPU per Generate": Note(
        "Was 1.41× (0.173 s against 0.123 s, quick run at load 15), then 1.46–1.70× on a quiet machine (96 ms "
        "against 56 ms on 3 December). py-spy on the app (20 Generates, 200 Hz) first found the history's "
        "thumbnails, 17% of the Generate: a 720p frame's check decoded it at 1/8 (160×90, smaller than a "
        "thumbnail), so `Store.begin` decoded each frame again; fixed: the check decodes reduced only as far "
        "as a thumbnail's side, so the thumbnail comes from it. Then each thread's CPU from "
        "`/proc/<pid>/task` over 60 Generates: the server's event loop 48 ms against the floor's 28 ms, and "
        "one yield of Generate cost about 13 ms (Gradio post-processes all seven outputs and streams them). "
        "Fixed: Generate yields twice, not three times (the request is shown with the button disabled once "
        "prepared, normally the validator's already: 94 ms → 77 ms of CPU per Generate in that count); the "
        "body is encoded once, with its payload reference (`submit.new_reference`: `reconcile.tagged` encoded "
        "it a second time); the frames' sources go in the write-ahead record instead of a commit of their "
        "own. What the app still does that the floor does not: the validator (Gradio pre-processes the inputs "
        "a second time at queue join), the write-ahead record and the answer (2.9 ms of CPU for the two "
        "`synchronous=FULL` commits and the read, measured alone), the thumbnails, two yields of seven "
        "outputs, and two middlewares (`LimitsMiddleware`, `StreamGuard`) on every request. How steady the "
        "row is, on 4 December at load 0.7: this row alone, four times on the code of the 3 December full run "
        "(where it was 1.18×) and four times on this page's, alternately: 1.29, 1.33, 1.35, 1.39 against "
        "1.32, 1.37, 1.40, 1.40; and each thread's CPU over 40 Generates, 63.8 ms then 55.8 ms. So no change "
        "since moved it: it sits at about 1.35×, ± 0.06 from run to run."
    ),
    "auto-fit (re-encode fits)": Note(
        "Was 1.67× (and 1.58× for the next row) because this benchmark loaded the frames with a full check "
        "first (`load_frame` without `defer`: each 45 MB PNG inflated once for the check, again for "
        "auto-fit's decode), which is not what a user meets: `prepare` with auto-fit on loads them with "
        "`defer`, and auto-fit's own decode checks the data, each PNG inflated once. Measured as `prepare` "
        "does since 3 December: 1.24 s against a 1.19 s floor (2.09 s before), 2.54 s against 2.15 s for the "
        "next row (3.42 s before). What is left over the floor: auto-fit's first quality-90 encode, kept when "
        "it fits (the floor encodes once too), and, when it does not, the size search's encodes of smaller "
        "pictures."
    ),
    "cold start": Note(
        "1.66× in an earlier full run (load 26), 1.27× in CI's quick run. Fixed since: `build_app` called Gradio's "
        "`queue()` on the finished page, which builds the server app over every event again (`create_app`, "
        "0.29 s of a 1.5 s page build at load 4); the page now sets its queue while still empty. And the end of "
        "the page's `with` built one more that launch then replaced (`Blocks.__exit__`): skipped since "
        "(`gradio_guard.built_at_launch`), launch's is the only build over the events. And `import gradio` "
        "ran Gradio's type-stub writer over each of its forty-odd component classes (each class's source file "
        "parsed twice, a third of the import's CPU): the app skips it (`vidu_ui/gradio_import.py`), the floor, a "
        "bare Gradio script, still pays it, which is why the studio now starts sooner than the floor. What the "
        "floor does not do: import the studio (its modules, SQLAlchemy, the settings' pydantic model), open the "
        "history (and check its schema), and build a page of three tabs and some 60 events."
    ),
    "polling (defaults, no callbacks)": Note(
        "Met since the wait doubles (was ×1.5) up to 30 s (was 15 s): a 5-minute task takes 14 queries and its "
        "end is noticed at most 30 s late whatever its length. Was 25 queries, noticed 11.4 s late: with at most "
        "15 s between queries a 300 s task needs at least 20. The service's callbacks (next row) bring the end "
        "at once; polling is then a safety net."
    ),
    "submit, whole process": Note(
        "What the floor does not do and a submit must: settings (pydantic), the checks (Pillow, a 1/8 decode of "
        "each frame), the write-ahead history record (SQLAlchemy and two `synchronous=FULL` commits) and the "
        "command line (typer, click). Before this round (issue 15): 1.9–2.5×, the CLI's imports alone 0.58 s. "
        "Fixed: each command imports what it uses (`python -m vidu_ui --help` no longer loads httpx, "
        "SQLAlchemy, Alembic or Pillow), Alembic is loaded only when the schema must change "
        "(`-X importtime`: 0.17 s), pydantic's response models are built on first use (`defer_build`) and the "
        "CLI skips pydantic's plugin scan (0.15 s of `importlib.metadata`), and the history's thumbnails come "
        "from the check's reduced-size decode instead of a second decode of each 12 MP frame (0.25 s). What "
        "stops it at the floor: SQLAlchemy's import (0.19 s cumulative under `-X importtime` at load 3; py-spy "
        "on 4 December: a fifth of the command's wall time), the history's two disk flushes, which a bare POST "
        "never pays, and typer: since 4 December the row also times a bare Typer command line with the same "
        "options doing only the floor's work (the detail's last figure), about 1.15× the floor by itself."
    ),
    "check, whole process": Note(
        "The floor imports only Pillow. On 3 December at load 0.1 (`-X importtime`, cumulative): typer's "
        "adapters 73 ms (they import pydantic), `vidu_ui.cli` 50 ms (typer and click), `vidu_ui.submit` 25 ms "
        "(Pillow's plugins, the frames' checks), pydantic's plugin loader 11 ms (`importlib.metadata`), the "
        "settings' model: about 0.2 s of imports the floor does not have, on a floor of about 0.21 s. Before "
        "this round it also imported httpx, SQLAlchemy, Alembic and the client's pydantic models (the CLI's "
        "imports: 1.09 s cumulative). The floor that stops it, measured in the same run since 4 December (the "
        "detail's last figure): a bare Typer command line with the same global options and the same "
        "parameters, doing nothing but the floor's decode, takes about 1.9× the floor by itself — typer 0.29 "
        "imports pydantic and builds a `TypeAdapter` for each parameter it parses (`typer._coercion`) — and "
        "`check` about 1.15× that bare command. So 1.3× cannot be met with typer, which the project keeps: "
        "Gradio brings it, and the command line's options are derived from the request model as typer "
        "signatures (`cli._task_signature`)."
    ),
    "history: search “heron”": Note(
        "A word inside prompts has no B-tree index to narrow it (`LIKE '%heron%'`). Was 51 ms against 11.2 ms "
        "(4.26×, the full run of 2 December at 11:12) with revision 0005's `tasks_newest`, which holds the "
        "searched columns on "
        "SQLite so that a row that does not match is never read from the table (its thumbnails); 238 ms before "
        "that on 30,000 rows. Fixed: revision 0008's `tasks_text`, an FTS5 trigram index over the task id, model "
        "and prompt (no copy of the text: triggers keep it in step with the rows), finds the rows holding a text "
        "of three characters or more without looking at the others; `Store.list` takes them from it when at most "
        "2,000 rows hold the text, and otherwise walks the newest rows with `LIKE`, which finds a page of a "
        "common word at once (on 30,000 rows: “heron” in 30 rows 3.6 ms against 16.5 ms by the walk; “sun” in "
        "every row 12.7 ms against 11.6 ms, the index's count the difference). PostgreSQL keeps `ILIKE` "
        "(its thumbnails live out of the rows; `pg_trgm` is an extension only a database's owner may add)."
    ),
    "history: state unfinished": Note(
        "Was 6.8× on 10,000 rows (`state NOT IN (…)` cannot use an index: the whole table, thumbnails "
        "included, was read). Fixed: revision 0005's partial index `tasks_unfinished`, whose condition the "
        "store writes inline so that SQLite and PostgreSQL match it."
    ),
    "history: at start (unfinished, missing videos)": Note(
        "Was 9.1× on 10,000 rows (716 ms on 100,000 in issue 15): `Store.unfinished` and `missing_videos` "
        "read every unfinished or succeeded row. Fixed: the partial indexes `tasks_unfinished` and "
        "`tasks_missing_video` (revision 0005): a start reads only the rows it resumes."
    ),
    "following tasks": Note(
        "Rebuilt this round: the follower ran each query in one of 4 worker threads with a new client "
        "(connection pool) per query — 12 of 1,444 queries on time for 1,000 tasks (120×), 13 of 200 for the "
        "quick run's 100 (15.4×), 483 clients for one key. Now the queries run on one asyncio event loop with "
        "one long-lived `AsyncViduClient` per key (up to 1,000 in flight, each started at its row's due "
        "time), the answers are committed in batches (each with its task's lease release, one commit), and "
        "the store is used from one thread beside the loop: 2 threads, 1 client, one connection per query in "
        "flight, reused. httpx's own async pool looks at every connection (and asks each idle socket whether "
        "it closed) each time a request starts or ends; with hundreds open that cost more than the requests, "
        "so the client's transport (`deadline.AsyncPoolTransport`) takes the newest idle connection in O(1). "
        "What is left is CPU: about 3 ms of client work per query (httpx's request building and URL parsing, "
        "the answer's checks) and the history's writes, measured at load average 25 (the quick run: 131 of "
        "300 on time, 2.29×). At 1,000 tasks due at once (the full run, same load: 0 of 2,000) the loop "
        "builds every one of the 1,000 requests (about 9 ms each at that load) before the first connection is "
        "made, so the first query reached the service 9.5 s after the start, and the batch of 1,000 answers "
        "took 12 s to commit (SQLAlchemy's work per row, sharing the interpreter with the loop). On a quiet "
        "machine: 2,556 of 5,000 on time at load 1.8 (2 December at 11:12, the latest 2.27 s late), 4,194 at "
        "load 0.9 (this page's run), so the miss is the loop's own CPU, not the machine's load. What stops "
        "it, measured on 3 December with `python -m bench.first_wave` (1,000 queries started at once at this "
        "service, each way alone in the process): the follower's `AsyncViduClient` 1.65–1.98 ms of CPU a "
        "query (py-spy: httpcore's and anyio's connect, cancel scopes and stream reads and writes; none of it "
        "the app's own), 0 to 308 of 1,000 within 1 s, the last after 1.10–1.33 s; a bare `httpx.AsyncClient` "
        "with its own pool 27–47 ms a query (its pool looks at every waiting request each time one starts or "
        "ends), none within 1 s; raw asyncio sockets writing the same request 0.39 ms a query, all within "
        "0.34 s. So 1,000 queries due in the same second need an HTTP client below httpx's cost. On 4 December "
        "(a script timing each wave of this row apart): the first wave had none on time, its first query "
        "reaching the service 1.15–1.4 s after the start with all the others, the next four waves every query "
        "but the tail of the fifth. Two fixes since. The answers of a commit are written with one read of their "
        "rows and one `executemany` (`Changes.statuses`): 0.085 ms of the store thread's CPU an answer against "
        "0.5–0.9 ms, which had held the interpreter while the loop sent the next wave (the later waves' latest "
        "0.14–0.47 s late, was 0.6–1.06 s). And `AsyncViduClient` sends in turns of 32 (each ends when httpcore "
        "reports the request written): started all at once, asyncio ran each query's every step in turn, so "
        "none was written before all were nearly ready; now the first wave leaves in order, the first query "
        "after 0.15–0.2 s, 680–870 of its 1,000 within the second, and its early answers free connections for "
        "the rest (about 400 opened, not 1,000). What is still late is the first wave's tail: sending 1,000 "
        "requests and reading the first answers costs the loop more than a second of CPU. Two more fixes on 4 "
        "December: a client works out its key's spellings once (each answer was redacted with a fresh set of "
        "them: 93 µs an answer, 10 µs since), and the worker and the page leave what their start built out of "
        "Python's full collections (`heap.settle`, which this row does as the worker does: three full "
        "collections during the first wave took 0.12–0.14 s of its first 1.2 s, 0.03 s since). On a quiet "
        "machine (load 0.4, the script above): the first wave's last query 0.99–1.03 s after the start, 960 "
        "to 1,000 of its 1,000 on time (1.08–1.24 s and 800–928 before these two), the row 4,960–5,000 of "
        "5,000 in three runs. What holds the wave at a second: py-spy of the loop's thread over it, 95% in "
        "`AsyncViduClient.query`, about half of that httpcore's connection (writing the request, reading the "
        "answer's head, anyio's locks and cancel scopes), a third httpx around it (the request and its URL, "
        "the cookie jar, reading the body): 1.05–1.2 ms of CPU a query in `python -m bench.first_wave`, "
        "against 0.18 ms for raw asyncio sockets. httpx is the HTTP client the project is built on. Tried and "
        "dropped: "
        "httpcore's network backend written on asyncio's streams instead of anyio's (about 10% less CPU a "
        "query in `bench.first_wave`, 5% in the follower: within the noise, for a hand-written copy of "
        "httpcore's own).",
        accepted=4.0,
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
SQLite history, a scripted service and a fake clock. The follower's threads, whatever the number of tasks: the
event loop that runs every query, the store's thread beside it, the download workers (idle with videos off) and
at most two for host-name lookups; its test allows 1 + 1 + 2 + 2. Measured (2026-12-02, load average about
25): **2 threads** beyond the test's own and **+8.5 MB** resident memory (the test prints `following 1000 tasks:
2 threads, RSS +8.5 MB`; one client's 1,000 coroutines and answers), in 175 s; 3,000 queries, each made once.
Before this round (4 query threads and a scheduler): 5 threads, +2.0 to +3.5 MB, about 4 minutes.
The follower keeps a task's whole state in its row (due time, job, lease), so memory grows little with the
tasks followed, and several processes share them. The answers are written in batches (each with its task's
lease release, in one commit), no longer four `synchronous=FULL` commits a query.
"""
"""A section about a figure another test measures; ``report.markdown`` appends it after the notes."""
