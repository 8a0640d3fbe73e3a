"""Secrets and exposure: where an API key could leak, searched for with canary keys.

Two app processes run as ``app.py`` runs (``python -m tests.support.exposure``: ``Settings.from_env()``,
``app.build_app``, the launch options of ``app.py``), each with logging at DEBUG on stderr (captured to a file),
its own data folder and its own Gradio upload folder (``GRADIO_TEMP_DIR``): one with ``VIDU_API_KEY`` set to a
canary, one without a key, where a visitor types another canary. Each talks to its own in-process simulator that
accepts only that canary, and gets the simulator's signed callbacks.

The success, failure (the task fails), refusal (401) and fault (500: outcome unknown) paths run in a real
Chromium (every response body recorded through Playwright's ``requestfinished``), through ``gradio_client``
(outputs and error messages) and through ``httpx`` (the raw ``/gradio_api/call`` event streams); then the
public documents, the logs, the history databases, the data and upload folders and the browser's storage are
searched. For the visitor's key, the app process is also asked (on its stdin, never over HTTP) whether its Gradio
session store or its runtime still holds the key after the page closed; and the file route, the upload limit
and, with ``--auth``, every route without a session are tried.

``run_exposure`` does all of it and returns what it found; ``tests/test_secrets.py`` asserts on that run, and
``render`` writes the "Secrets and exposure" section of ``docs/reliability.md`` from it
(``tests/support/report.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import secrets as random_tokens
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

import app
from tests.images import photo, write
from tests.support.apps import (
    PUBLIC,
    arguments,
    file_requests,
    forbidden_files,
    launched,
    routes,
)
from vidu_ui.messages import EN
from vidu_ui.settings import Settings
from vidu_ui.simulator import Fault, Simulator
from vidu_ui.studio import StudioBlocks, launch_options
from vidu_ui.studio.runtime import DEEP_LINK_PATH

ROOT = Path(__file__).resolve().parents[2]
if TYPE_CHECKING:
    from playwright.sync_api import Browser

READY = "EXPOSURE-READY "
ANSWER = "EXPOSURE-ANSWER "
PUBLIC_DOCUMENTS = ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/openapi.json")
UPLOAD_LIMIT: int = launch_options()["max_file_size"]
"""The app's upload limit: 50 MiB, which Gradio's browser check prints as "50.0 Mb"."""
TIMEOUT_MS = 30_000
KNOWN_ISSUES = {
    "session-retention": (
        "Gradio keeps every session's input values in memory (`SessionState.config_values`) after the session "
        "ends: `delete_state` clears only `gr.State` values, and a session is dropped only when 10,000 newer "
        "ones push it out. The visitor's key, an input of Generate, stays there, and "
        "`GET /gradio_api/deep_link?session_hash=…` (open to anyone who knows the session id when sign-in is "
        "off) writes those values to `GRADIO_TEMP_DIR/deep_links/…/state.json`. The app blanks the key's stored "
        "value once each event has read it (`StudioBlocks.preprocess_data`) and answers 404 at "
        "`/gradio_api/deep_link` (the page has no deep-link button): a hit here means that guard broke."
    ),
}


# --- searching --------------------------------------------------------------------------------------------------


def count(text: str | bytes, needles: Iterable[str]) -> int:
    """Occurrences of any of ``needles`` in ``text``."""
    if isinstance(text, bytes):
        return sum(text.count(n.encode()) for n in needles)
    return sum(text.count(n) for n in needles)


_SKIP_MODULES = ("threading", "asyncio", "concurrent", "uvicorn", "starlette", "fastapi", "sqlite3", "anyio", "_thread")
_SKIP_ATTRIBUTES = {"parent", "rendered_in", "_parent", "blocks", "root_block", "app", "server"}


def find_secret(root: object, needle: str, *, limit: int = 400_000) -> list[str]:
    """Where inside ``root`` a string holds ``needle``: dict items, sequences, objects' attributes, ``SecretStr``
    revealed, bound methods' objects. Pages, apps, servers, threads and a component's parents are not followed
    (they are not per-session state). Returns the paths found."""
    from gradio.blocks import BlockContext, Blocks

    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(root, "")]
    raw = needle.encode()
    while stack and len(seen) < limit:
        obj, path = stack.pop()
        if isinstance(obj, str):
            if needle in obj:
                found.append(path)
            continue
        if isinstance(obj, (bytes, bytearray)):
            if raw in obj:
                found.append(path)
            continue
        if obj is None or isinstance(obj, (bool, int, float, complex, type, types.ModuleType, types.FunctionType)):
            continue
        if id(obj) in seen or (isinstance(obj, (Blocks, BlockContext)) and obj is not root):
            continue
        seen.add(id(obj))
        if type(obj).__module__.split(".")[0] in _SKIP_MODULES:
            continue
        if isinstance(obj, SecretStr):
            if needle in obj.get_secret_value():
                found.append(path + "<SecretStr>")
        elif isinstance(obj, Mapping):
            stack += [(v, f"{path}[{k!r}]") for k, v in list(obj.items())]
            stack += [(k, f"{path}<key>") for k in list(obj)]
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(list(obj))]
        elif isinstance(obj, types.MethodType):
            stack.append((obj.__self__, path + ".__self__"))
        else:
            attributes = dict(getattr(obj, "__dict__", {}))
            for name in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, name):
                    attributes[name] = getattr(obj, name)
            name = type(obj).__name__
            stack += [(v, f"{path}.{name}.{k}") for k, v in attributes.items() if k not in _SKIP_ATTRIBUTES]
    return found


def files_under(folder: Path) -> Iterator[Path]:
    if folder.exists():
        yield from (path for path in sorted(folder.rglob("*")) if path.is_file())


def search_files(folder: Path, needles: Iterable[str]) -> tuple[int, int, int]:
    """(files, bytes, hits) for every file under ``folder``."""
    files = size = hits = 0
    for path in files_under(folder):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        files, size, hits = files + 1, size + len(data), hits + count(data, needles)
    return files, size, hits


def dump_database(path: Path) -> str:
    """Every row of every table of the history, as text (read-only)."""
    if not path.exists():
        return ""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return "\n".join(db.iterdump())


# --- the app process --------------------------------------------------------------------------------------------


def serve() -> None:
    """The app process: ``app.py``'s settings, page and launch options, logging at DEBUG on stderr, on a port of
    the OS's choosing (announced on stdout). Commands on stdin (never over HTTP, so no route is added):
    ``find <text>`` answers where the Gradio session store and the runtime hold that text; ``sessions`` how many
    sessions there are and how many Gradio saw close."""
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    def build(port: int) -> StudioBlocks:
        os.environ["VIDU_UI_PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # where the simulator's callbacks go
        return app.build_app(Settings.from_env())

    with launched(build) as (page, url):
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # launch set them to WARNING
            logging.getLogger(name).setLevel(logging.DEBUG)
            logging.getLogger(name).propagate = True
        print(READY + url.rstrip("/"), flush=True)
        answer_commands(page)
        page.runtime.stop()


def answer_commands(page: StudioBlocks) -> None:
    for line in sys.stdin:
        command, _, argument = line.rstrip("\n").partition(" ")
        sessions = page.state_holder.session_data
        if command == "find":
            handlers = [fn.fn for fn in page.fns.values()]
            answer: dict[str, Any] = {
                "sessions": find_secret(dict(sessions), argument),
                "runtime": find_secret([page.runtime, handlers], argument),
            }
        elif command == "sessions":
            closed = [s for s in sessions.values() if s.is_closed]
            answer = {
                "sessions": len(sessions),
                "closed": len(closed),
                "state_values_left": sum(len(s.state_data) for s in closed),
            }
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(ANSWER + json.dumps(answer), flush=True)


@dataclass
class AppProcess:
    """One app process, its folders and what it printed."""

    name: str
    data_dir: Path
    temp_dir: Path
    log: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    answers: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    url: str = ""
    """Known once the app is ready (it picks its port)."""
    _ready: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, name: str, folder: Path, environ: Mapping[str, str]) -> AppProcess:
        data_dir, temp_dir, log = folder / "data", folder / "gradio", folder / "app.log"
        temp_dir.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "GRADIO_"))}
        env.update(
            VIDU_UI_DATA_DIR=str(data_dir),
            GRADIO_TEMP_DIR=str(temp_dir),
            VIDU_POLL_INTERVAL="0.1",
            VIDU_POLL_MAX_INTERVAL="0.3",
            VIDU_UI_SETTLE_SECONDS="0",  # a create without an answer is settled at the first look at the task list
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONUNBUFFERED="1",
            **environ,
        )
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.exposure"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=ROOT,
            )
        running = cls(name, data_dir, temp_dir, log, process)
        threading.Thread(target=running._read, args=(process.stdout,), daemon=True).start()
        return running

    def _read(self, stream: IO[str] | None) -> None:
        for line in stream or ():
            self.output.append(line)
            if line.startswith(ANSWER):
                self.answers.put(json.loads(line[len(ANSWER) :]))
            elif line.startswith(READY):
                self.url = line[len(READY) :].strip()
                self._ready.set()

    def wait_ready(self, timeout: float = 300) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the {self.name} app did not start: {self.log.read_text()[-2000:]}")

    def ask(self, command: str, timeout: float = 30) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the {self.name} app did not answer {command.split()[0]!r}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# --- what the run found -----------------------------------------------------------------------------------------


@dataclass
class Place:
    """One place searched for the canaries."""

    place: str
    where: str
    searched: str
    hits: int
    key: str = ""
    """A name for tests to find it by."""
    known: str | None = None
    """The key of ``KNOWN_ISSUES`` this place shows (when it has hits)."""
    note: str = ""


@dataclass
class Check:
    """One route or limit tried, with what it must answer and what it did."""

    name: str
    expected: str
    got: str
    ok: bool


@dataclass(frozen=True)
class Flow:
    """One path that ran: which app, through what, which case, how it ended, and what the user saw."""

    side: str
    """``server`` or ``visitor``."""
    channel: str
    """``browser``, ``gradio_client`` or ``httpx event stream``."""
    label: str
    """The case: ``success``, ``task fails``, ``401``, ``500``, ``invalid seed``."""
    outcome: str
    """How it ended: ``task`` (a task id came back), ``refused`` (the validator's 422), ``error`` (an error event),
    a ``gradio_client`` exception's class name, or in the browser the state the page showed."""
    shown: str

    def line(self) -> str:
        return f"{self.side} · {self.channel} · {self.label}: {self.shown}"

    def ended(self, side: str, channel: str) -> dict[str, str]:
        return {self.label: self.outcome} if (self.side, self.channel) == (side, channel) else {}


@dataclass
class Exposure:
    places: list[Place] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    """What each path showed (shortened), to show the paths really ran."""
    seconds: float = 0.0
    browser: bool = True
    event_streams: dict[str, int] = field(default_factory=dict)
    """Per app: how many of the responses the browser recorded were server-sent event streams."""
    sessions_closed: int = 0
    """Sessions of the visitor's app that Gradio saw close (the page's heartbeat ended)."""
    loggers: dict[str, Counter[str]] = field(default_factory=dict)
    """Per app: lines its log holds per top-level logger."""

    def add(self, place: str, where: str, texts: Iterable[str | bytes], needles: list[str], key: str = "") -> Place:
        texts = list(texts)
        size = sum(len(t) for t in texts)
        found = Place(place, where, f"{len(texts)} item{'s' * (len(texts) != 1)}, {_size(size)}", 0, key)
        found.hits = sum(count(t, needles) for t in texts)
        self.places.append(found)
        return found

    def place(self, key: str, where: str) -> Place:
        return next(p for p in self.places if p.key == key and p.where == where)


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} KB" if n >= 1000 else f"{n} bytes"


# --- the run ----------------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One app under test: its process, simulator, canary and everything recorded against it."""

    name: str
    key: str
    sim: Simulator
    app: AppProcess
    responses: list[bytes] = field(default_factory=list)
    """Every response body (and headers) the browser received."""
    streams: list[str] = field(default_factory=list)
    """The raw event streams of ``/gradio_api/call/generate`` (httpx)."""
    client: list[str] = field(default_factory=list)
    """What ``gradio_client`` returned or raised."""
    storage: list[str] = field(default_factory=list)
    """The browser's localStorage, sessionStorage, cookies and final page."""
    documents: list[str] = field(default_factory=list)
    session_hashes: set[str] = field(default_factory=set)
    video_url: str | None = None

    @property
    def needles(self) -> list[str]:
        return [self.key, self.key.rsplit("-", 1)[-1]]

    @property
    def visitor(self) -> bool:
        return self.name == "visitor"


def canary(kind: str) -> str:
    return f"sk-CANARY-{kind}-{random_tokens.token_hex(8)}"


def _frames(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    start = write(folder / "start.png", photo(480, 270, 31), "PNG")
    return start, write(folder / "end.jpg", photo(480, 270, 32), "JPEG")


def _wait(condition: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _finished(sim: Simulator) -> bool:
    now = time.time()
    return all(sim.store.state(task, now) in ("success", "failed") for task in sim.store.all())


def run_exposure(*, browser: Browser | None = None, auth_sweep: bool = True) -> Exposure:
    """Everything above, in a temporary folder; ``auth_sweep`` also launches the app with sign-in (in this process)
    and tries every route without a session (``tests/test_studio_routes.py`` asserts the same)."""
    started = time.monotonic()
    found = Exposure(browser=browser is not None)
    with tempfile.TemporaryDirectory(prefix="vidu-exposure-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        start, end = _frames(folder / "frames")
        sides: list[Side] = []
        for name, key in (("server", canary("srv")), ("visitor", canary("vis"))):
            sim = stack.enter_context(Simulator(api_key=key, queue_seconds=0.1, process_seconds=0.3))
            # The visitor's app runs Gradio's own clean-up of closed sessions in seconds, not an hour (see render).
            extra = {"VIDU_API_KEY": key} if name == "server" else {"GRADIO_IS_E2E_TEST": "1"}
            environ = {"VIDU_BASE_URL": sim.base_url, **extra}
            process = AppProcess.start(name, folder / name, environ)
            stack.callback(process.stop)
            sides.append(Side(name, key, sim, process))
        server, visitor = sides

        def api_flows(side: Side) -> list[Flow]:
            side.app.wait_ready()
            _documents(side)
            flows: list[Flow] = []
            _client_flows(side, start, end, flows)
            _stream_flows(side, start, end, flows)
            return flows

        # Both sides at once (each its own app and simulator, so one's faults never reach the other's flows);
        # their flows are reported in side order.
        with ThreadPoolExecutor(len(sides), thread_name_prefix="exposure") as pool:
            for flows in pool.map(api_flows, sides):
                found.flows += flows
        if browser is not None:
            for side in sides:
                _browser_side(browser, side, start, end, found)
        _wait(lambda: all(_finished(side.sim) for side in sides))
        _upload_limit(server, found)
        _file_route(server, found)
        _session_store(visitor, found)
        for side in sides:
            _search_side(side, found)
        _deep_link(visitor, found)
        for side in sides:
            side.app.stop()
            log = side.app.log.read_text(errors="replace")
            place = found.add(
                "logs at DEBUG (stderr) and stdout",
                side.name,
                [log, "".join(side.app.output)],
                _all_needles(sides),
                key="logs",
            )
            found.loggers[side.name] = loggers(log)
            place.note = ", ".join(f"{name} {n}" for name, n in found.loggers[side.name].most_common())
        if auth_sweep:
            _auth_sweep(server, folder / "auth", found)
    found.seconds = time.monotonic() - started
    return found


def _all_needles(sides: list[Side]) -> list[str]:
    return [n for side in sides for n in side.needles]


def _documents(side: Side) -> None:
    with httpx.Client(base_url=side.app.url, timeout=30) as http:
        for path in PUBLIC_DOCUMENTS:
            answer = http.get(path)
            side.documents.append(f"{path} {answer.status_code}\n{answer.headers}\n{answer.text}")


def _client_flows(side: Side, start: Path, end: Path, flows: list[Flow]) -> None:
    """Success, a failing task, a 401 refusal, a 500 (outcome unknown) and a validation error via gradio_client."""
    from gradio_client import Client

    client = Client(side.app.url, verbose=False)
    key = {"api_key": side.key} if side.visitor else {}
    cases: list[tuple[str, Callable[[], None], dict[str, Any]]] = [
        ("success", lambda: None, {}),
        ("task fails", lambda: side.sim.fail_next("CreationPolicyViolation"), {}),
        ("401", lambda: side.sim.inject(Fault(call="create", status=401)), {}),
        ("500", lambda: side.sim.inject(Fault(call="create", status=500)), {}),
        ("invalid seed", lambda: None, {"seed": "abc"}),
    ]
    for label, prepare, changes in cases:
        prepare()
        try:
            result = client.predict(**arguments(start, end, **changes, **key), api_name="/generate")
            outcome, shown = "task", f"task {result[0]}"
            side.client.append(repr(result))
        except Exception as exc:  # AppError, ValidationError: what a client user reads
            outcome, shown = type(exc).__name__, f"{type(exc).__name__}: {exc}"
            side.client.append(shown)
        flows.append(Flow(side.name, "gradio_client", label, outcome, shown))


def _upload(http: httpx.Client, path: Path) -> dict[str, Any]:
    answer = http.post("/gradio_api/upload", files=[("files", (path.name, path.read_bytes()))])
    answer.raise_for_status()
    uploaded = answer.json()[0]
    _wait(lambda: Path(uploaded).is_file(), 5)
    return {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": path.name}


def _stream_flows(side: Side, start: Path, end: Path, flows: list[Flow]) -> None:
    """The raw ``/gradio_api/call/generate`` event streams of success, a 500 and a validation error (httpx)."""
    with httpx.Client(base_url=side.app.url, timeout=60) as http:
        info = http.get("/gradio_api/info").json()
        params = [p["parameter_name"] for p in info["named_endpoints"]["/generate"]["parameters"]]
        values = arguments(start, end, start_image=_upload(http, start), end_image=_upload(http, end))
        values["api_key"] = side.key
        for label, fault, changes in (("success", None, {}), ("500", 500, {}), ("invalid seed", None, {"seed": "x"})):
            if fault is not None:
                side.sim.inject(Fault(call="create", status=fault))
            data = [{**values, **changes}[name] for name in params]
            posted = http.post("/gradio_api/call/generate", json={"data": data})
            text = f"{posted.status_code} {posted.text}"
            if posted.status_code == 200:
                text += http.get(f"/gradio_api/call/generate/{posted.json()['event_id']}").text
            side.streams.append(text)
            if posted.status_code == 422:  # the validator's answer: the messages of the inputs it refused
                refused = [d["message"] for d in posted.json()["detail"] if not d["is_valid"]]
                outcome, shown = "refused", f"HTTP 422 {'; '.join(refused)}"
            else:
                events = re.findall(r"^event: (\w+)", text, re.MULTILINE)
                outcome = {"complete": "task", "error": "error"}.get(events[-1] if events else "", "none")
                shown = text.strip().splitlines()[-1] if text.strip() else ""
            flows.append(Flow(side.name, "httpx event stream", label, outcome, shown[:160]))


SESSION_IN_URL = r"(?:session_hash=|/heartbeat/)([\w-]+)"
"""A Gradio session's hash in a request's URL (its event stream's query, its heartbeat's path)."""


def _browser_side(chromium: Browser, side: Side, start: Path, end: Path, found: Exposure) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    finished: list[Any] = []
    tab.on("requestfinished", lambda request: finished.append(request))
    # The page's sessions, from every request as it starts: its event stream and heartbeat may still be open (a
    # follow loop still running) when the flows end, so they need not have finished.
    tab.on("request", lambda request: side.session_hashes.update(re.findall(SESSION_IN_URL, request.url)))
    tab.goto(side.app.url)
    tab.wait_for_selector("#vu-generate")
    if side.visitor:
        tab.locator("#vu-api-key input").fill(side.key)
    for role, path in (("start", start), ("end", end)):
        tab.locator(f"#vu-{role}-image input[type=file]").set_input_files(str(path))
        expect(tab.locator(f"#vu-{role}-summary")).to_contain_text("480×270")
    tab.locator("#vu-prompt textarea").fill("The light moves across the room")
    status = tab.locator("#vu-status")
    task_id = tab.locator("#vu-task-id input, #vu-task-id textarea").first
    flows: list[tuple[str, Callable[[], None], str]] = [
        # What the page shows, by message key (the status line's state, the error toast's title).
        ("success", lambda: None, EN["state_success"]),
        ("task fails", lambda: side.sim.fail_next("CreationPolicyViolation"), EN["state_failed"]),
        ("500", lambda: side.sim.inject(Fault(call="create", status=500)), EN["title_not_created"]),
    ]
    if not side.visitor:
        flows.append(("401", lambda: side.sim.inject(Fault(call="create", status=401)), "Unauthorized"))
    for label, prepare, wanted in flows:
        prepare()
        before = task_id.input_value()
        tab.locator("#vu-generate").click()
        if wanted in (EN["state_success"], EN["state_failed"]):
            expect(task_id).not_to_have_value(before)
            expect(status).to_contain_text(wanted, timeout=TIMEOUT_MS)
            if wanted == EN["state_success"] and side.video_url is None:
                expect(tab.locator("#vu-video video")).to_have_attribute("src", re.compile(r"\.mp4$"))
                side.video_url = tab.locator("#vu-video video").get_attribute("src")
        else:
            expect(tab.get_by_text(wanted).first).to_be_visible()
        expect(tab.locator("#vu-generate")).to_be_enabled()
        found.flows.append(Flow(side.name, "browser", label, wanted, f"{wanted!r} shown"))
    side.storage.append(
        tab.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    )
    side.storage += [json.dumps(context.cookies()), tab.content()]
    for request in finished:
        response = request.response()
        if response is None:
            continue
        head = f"{request.method} {request.url} {response.status}\n{response.headers}\n".encode()
        try:
            side.responses.append(head + response.body())
        except Exception:  # a body Chromium no longer holds (a large video): its headers still count
            side.responses.append(head)
    context.close()  # the page closes: Gradio's heartbeat ends and it marks the session closed


def _upload_limit(side: Side, found: Exposure) -> None:
    with httpx.Client(base_url=side.app.url, timeout=120) as http:
        for size, expected in ((UPLOAD_LIMIT + 1, 413), (UPLOAD_LIMIT, 200)):
            answer = http.post("/gradio_api/upload", files=[("files", ("big.png", b"\0" * size))])
            found.checks.append(
                Check(
                    f"POST /gradio_api/upload, {size:,} bytes",
                    str(expected),
                    str(answer.status_code),
                    answer.status_code == expected,
                )
            )


def _file_route(side: Side, found: Exposure) -> None:
    """The file route refuses the history, the videos, a ``.env`` beside the data folder (holding the canary),
    system files and ``../`` walks; it serves the published video."""
    env = side.app.data_dir.parent / ".env"
    env.write_text(f"VIDU_API_KEY={side.key}\n")
    published = side.video_url.split("/gradio_api/file=", 1)[-1] if side.video_url else None
    videos = sorted((side.app.data_dir / "videos").glob("*.mp4"))
    statuses: list[int] = []
    with httpx.Client(base_url=side.app.url, timeout=30) as http:
        for path in forbidden_files(side.app.data_dir, published=published, video=str(videos[0]) if videos else None):
            for request in file_requests(path):
                answer = http.get(request)
                statuses.append(answer.status_code)
                side.responses.append(f"GET {request} {answer.status_code}\n".encode() + answer.content)
        served = http.get(f"/gradio_api/file={published}").status_code if published else None
    refused = sum(1 for s in statuses if s in (403, 404))
    found.checks.append(
        Check(
            f"/gradio_api/file= for the database, .env, /etc/passwd, ../ walks ({len(statuses)} requests)",
            "403 or 404",
            f"{refused} refused, others: {sorted(set(statuses) - {403, 404}) or 'none'}",
            refused == len(statuses),
        )
    )
    if served is not None:
        found.checks.append(Check("/gradio_api/file= for the published video", "200", str(served), served == 200))


def _session_store(side: Side, found: Exposure) -> None:
    """Ask the visitor's app process, once Gradio saw the page close and its clean-up ran (the closed-session TTL
    of 1 s, then its once-a-second sweep), where its session store and its runtime still hold the key."""
    _wait(lambda: bool(side.app.ask("sessions")["closed"]), 20)
    _wait(lambda: not side.app.ask(f"find {side.key}")["sessions"], 20)  # the clean-up sweeps once a second
    sessions = side.app.ask("sessions")
    found.sessions_closed = sessions["closed"]
    where = side.app.ask(f"find {side.key}")
    hits = where["sessions"]
    searched = (
        f"{sessions['sessions']} sessions, {sessions['closed']} closed, "
        f"{sessions['state_values_left']} gr.State values left in the closed ones"
    )
    paths = "; ".join(sorted({_short_path(p) for p in hits}))
    found.places.append(
        Place(
            "Gradio's session store, after the page closed",
            side.name,
            searched,
            len(hits),
            "session-store",
            "session-retention",
            paths,
        )
    )
    found.places.append(
        Place(
            "the app's runtime (tracker, callbacks, handlers), tasks finished",
            side.name,
            "its object graph",
            len(where["runtime"]),
            "runtime",
            note="; ".join(where["runtime"][:3]),
        )
    )


def _short_path(path: str) -> str:
    return re.sub(r"^\['[^']+'\]", "[<session>]", path)


def loggers(log: str) -> Counter[str]:
    """Lines per top-level logger in a log written with ``%(levelname)s %(name)s: …``."""
    return Counter(
        m.group(1).split(".")[0] for m in re.finditer(r"^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+):", log, re.M)
    )


def _search_side(side: Side, found: Exposure) -> None:
    needles = side.needles
    where = side.name
    place = found.add("every HTTP response the browser received (bodies, headers)", where, side.responses, needles)
    streams = sum(1 for r in side.responses if b"text/event-stream" in r.split(b"\n", 2)[1])
    place.note = f"{streams} of them server-sent event streams"
    found.event_streams[where] = streams
    found.add("the raw event streams of /gradio_api/call/generate (httpx)", where, side.streams, needles)
    found.add("what gradio_client returned or raised", where, side.client, needles)
    found.add("/, /config, /gradio_api/info, the OpenAPI documents", where, side.documents, needles)
    found.add("the browser's localStorage, sessionStorage, cookies, page", where, side.storage, needles)
    found.add(
        "the history database (every row, dumped)",
        where,
        [dump_database(side.app.data_dir / "history.sqlite3")],
        needles,
    )
    for label, folder in (
        ("the data folder (database, WAL, videos)", side.app.data_dir),
        ("Gradio's upload and cache folder (GRADIO_TEMP_DIR)", side.app.temp_dir),
    ):
        files, size, hits = search_files(folder, needles)
        found.places.append(Place(label, where, f"{files} files, {_size(size)}", hits))


def _deep_link(side: Side, found: Exposure) -> None:
    """Gradio's ``/gradio_api/deep_link`` writes a session's values to its upload folder: with the retained key."""
    if not side.session_hashes:
        return
    with httpx.Client(base_url=side.app.url, timeout=30) as http:
        links = [
            http.get("/gradio_api/deep_link", params={"session_hash": h}).text for h in sorted(side.session_hashes)
        ]
    files, size, hits = search_files(side.app.temp_dir / "deep_links", side.needles)
    made = sum(1 for link in links if link.strip('"'))
    found.places.append(
        Place(
            "GRADIO_TEMP_DIR after GET /gradio_api/deep_link?session_hash=<the closed page's>",
            side.name,
            f"{files} file{'s' * (files != 1)} written, {_size(size)}",
            hits,
            "deep-link",
            "session-retention",
            f"{made} links made",
        )
    )


def _auth_sweep(side: Side, folder: Path, found: Exposure) -> None:
    """The app with sign-in on (in this process): every route but the public ones answers 401 without a session."""
    settings = Settings.build(api_key=side.key, base_url=side.sim.base_url, data_dir=folder / "data")
    with launched(lambda _: app.build_app(settings), auth=(("alice", "correct horse battery"),)) as (page, url):
        tried = unauthorized = 0
        others: list[str] = []
        deep_links: list[int] = []
        with httpx.Client(base_url=url, timeout=30) as http:
            for method, path, _checked in routes(page.app):
                if (method, path) in PUBLIC:
                    continue
                if path == DEEP_LINK_PATH:  # refused to everyone, with a session or without
                    deep_links.append(http.request(method, path).status_code)
                    continue
                concrete = re.sub(r"\{[^}]+\}", "x", path).replace("=x", "=/etc/passwd")
                status = http.request(method, concrete).status_code
                tried += 1
                if status == 401:
                    unauthorized += 1
                else:
                    others.append(f"{method} {path} {status}")
            health = http.get("/healthz").status_code
    found.checks.append(
        Check(
            f"with --auth, every route but the login page's and /healthz, no session ({tried} routes)",
            "401",
            f"{unauthorized} answered 401" + (f"; {', '.join(others)}" if others else ""),
            unauthorized == tried,
        )
    )
    found.checks.append(Check("with --auth, /healthz without a session", "200", str(health), health == 200))
    found.checks.append(
        Check(
            f"{DEEP_LINK_PATH}, which would write a session's inputs to disk",
            "404",
            ", ".join(map(str, deep_links)),
            bool(deep_links) and set(deep_links) == {404},
        )
    )


# --- the document -----------------------------------------------------------------------------------------------


def render(found: Exposure) -> str:
    leaks = [p for p in found.places if p.hits and not p.known]
    known = [p for p in found.places if p.hits and p.known]
    failed = [c for c in found.checks if not c.ok]
    out = [
        "## Secrets and exposure",
        "",
        "`tests/test_secrets.py` runs two app processes as `app.py` runs them (settings from the environment, the "
        "same page and launch options), each with logging at DEBUG on stderr, its own data folder and its own "
        "`GRADIO_TEMP_DIR`: one whose `VIDU_API_KEY` is a canary, one without a key, where a visitor types another "
        "canary. Each talks to a simulator that accepts only its canary and sends signed callbacks. The success, "
        "failure (the task fails), refusal (401) and fault (500: outcome unknown) paths ran "
        + ("in Chromium (every response recorded), " if found.browser else "(Chromium missing: not in a browser), ")
        + "through `gradio_client` and as raw `httpx` event streams; then every place below was searched for both "
        "canaries (the whole key, and its random part alone); its tests assert on that run.",
        "",
        "How Gradio 6.31 forgets a session: the page's heartbeat stream ending marks the session closed; a loop "
        "then deletes, every second, `gr.State` values older than their `time_to_live`, which for a closed "
        "session is 3600 s (1 s under `GRADIO_IS_E2E_TEST`, which the visitor's app sets so that the run sees the "
        "clean-up happen; it also shortens the heartbeat to 0.25 s). Only values an event wrote are on that "
        "list: a `gr.State` only ever read (this app's per-session guards) stays, and so do the other components' "
        "values (`config_values`); the `SessionState` itself goes only when 10,000 newer sessions push it out. "
        "`delete_cache` (not set by this app) is about files, not state. The app process answers on its stdin, "
        "never over HTTP, where its session store and its runtime still hold the key.",
        "",
        f"- **Hits**: {sum(p.hits for p in found.places if not p.known)} outside the known issue"
        + (f" ({'; '.join(f'{p.place} ({p.where}): {p.hits}' for p in leaks)})" if leaks else "")
        + f"; {sum(p.hits for p in known)} in it.",
        f"- **Routes and limits**: {sum(1 for c in found.checks if c.ok)} of {len(found.checks)} as required"
        + (f" (not: {'; '.join(c.name for c in failed)})" if failed else "")
        + f". The run took {found.seconds:.0f} s.",
    ]
    if known:
        out.append(f"- **Known issue** (marked *known*): {KNOWN_ISSUES['session-retention']}")
    out += [
        "",
        "| Place searched | App | Searched | Hits | Notes |",
        "|---|---|---|---|---|",
        *(
            f"| {p.place} | {'server key' if p.where == 'server' else 'visitor key'} | {_cell(p.searched)} | "
            f"{p.hits}{' (known issue)' if p.hits and p.known else ''} | {_cell(p.note, 160)} |"
            for p in found.places
        ),
        "",
        "| Route or limit | Must answer | Answered | |",
        "|---|---|---|---|",
        *(f"| {_cell(c.name)} | {c.expected} | {_cell(c.got)} | {'✓' if c.ok else '✗'} |" for c in found.checks),
        "",
        "What each path showed (so the paths really ran):",
        "",
        *(f"- {_cell(flow.line())}" for flow in found.flows),
    ]
    return "\n".join(out)


def _cell(text: str, limit: int = 200) -> str:
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", " ".join(text.split()))
    text = re.sub(r"\b[0-9a-f]{32}\b", "…", re.sub(r"\b[0-9]{15,20}\b", "<task id>", text))
    text = re.sub(r"sk-CANARY-\w+-[0-9a-f]+", "<canary>", text)
    return (text[: limit - 1] + "…" if len(text) > limit else text).replace("|", "\\|")


if __name__ == "__main__":
    serve()
