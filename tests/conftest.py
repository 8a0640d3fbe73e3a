"""Fixtures shared by the whole suite: the simulator, a launched app, Chromium and its pages, frames drawn with
Pillow, a fake clock, a uvicorn receiver, and real PostgreSQL and S3 servers. The helpers they use live in
``tests/support``.

Ports always come from the OS (bound to port 0 and read back). Nothing here sleeps to wait for something: a
server's socket listens before its thread starts, and the browser waits with Playwright's ``expect``. Each test
process has its own Gradio upload folder (``GRADIO_TEMP_DIR``), and Hypothesis runs without deadlines (derandomized
under ``CI=true``).

Markers that configure a fixture (registered in ``pyproject.toml``):

- ``@pytest.mark.simulator(**kwargs)``: the ``sim`` fixture's ``Simulator`` arguments (its key, task times…).
- ``@pytest.mark.app(**kwargs)``: the module's ``running`` app (see :class:`AppConfig`).

``--reliability-doc PATH`` writes ``docs/reliability.md`` from the reliability tests' results at the end of the
session (``tests/support/report.py``); ``--hostile-doc PATH`` writes ``docs/hostile.md`` from the figures of the
decoding, limits and fuzzing tests (``tests/support/findings.py``); ``--flow-recording PATH`` writes the README's
animation of the flow from the screen recording of ``tests/test_recording.py`` (``tests/support/recording.py``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.images import photo, write
from tests.support.machine import CHROMIUM, CHROMIUM_ARGS, in_ci, need_chromium
from tests.support.servers import new_database, postgres_server, s3_server
from vidu_ui import gradio_import

gradio_import.install()  # done by importing vidu_ui, and here said so: before any test module imports Gradio

# The rest (Gradio, the app, the simulator, uvicorn…) is imported by the fixtures that use it: pytest-xdist's
# controller reads this file too, before it starts the workers, and needs none of it.
if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Page

    from tests.fakes import FakeTime
    from tests.support.apps import Running
    from tests.support.findings import Findings
    from tests.support.report import Reliability
    from vidu_ui.settings import Settings
    from vidu_ui.simulator import Simulator

SIMULATOR_DEFAULTS: dict[str, Any] = {"queue_seconds": 0.05, "process_seconds": 0.2}
"""The ``sim`` fixture's task times unless a test names its own (its key: ``tests.support.apps.CANARY``)."""
CHROMIUM_GROUPS = 2
"""How many processes drive Chromium (``pytest_collection_modifyitems``), each with its own."""
BROWSER_TIMEOUT_MS = 30_000
"""How long Playwright waits for anything (its actions and ``expect``): a loaded machine is slow, never wrong."""


# Property tests check meaning, never time: no per-example deadline (a loaded machine or coverage makes an example
# slow, never wrong), and under CI the same examples every run (``derandomize``), so a run cannot fail by chance.
hypothesis_settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("ci", parent=hypothesis_settings.get_profile("suite"), derandomize=True)
hypothesis_settings.load_profile("ci" if in_ci() else "suite")

RELIABILITY = pytest.StashKey["Reliability"]()
FINDINGS = pytest.StashKey["Findings"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-doc",
        metavar="PATH",
        type=Path,
        help="write docs/reliability.md from the reliability tests of this run (tests/support/report.py)",
    )
    parser.addoption(
        "--hostile-doc",
        metavar="PATH",
        type=Path,
        help="write docs/hostile.md from the hostile-input tests of this run (tests/support/findings.py)",
    )
    parser.addoption(
        "--flow-recording",
        metavar="PATH",
        type=Path,
        help="write the README's animation of the flow (docs/flow.webp) from tests/test_recording.py's recording",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Gradio's upload folder, one per test process: an app that closes deletes the files it cached, and two apps
    # caching the same frame share one path there (named by its content), so an app in the other xdist worker
    # would lose its uploads under a running test. Apps launched as processes inherit it.
    uploads = tempfile.mkdtemp(prefix="vidu-ui-tests-gradio-")
    os.environ["GRADIO_TEMP_DIR"] = uploads
    config.add_cleanup(lambda: shutil.rmtree(uploads, ignore_errors=True))
    # No test reaches a TLS server (everything is on 127.0.0.1 over plain HTTP), but httpx builds a TLS context for
    # every client it makes (``httpx.get`` too, and gradio_client makes one per request), loading the whole CA
    # bundle each time: 30 ms of CPU, hundreds of times a run. An empty CA folder makes that free. Apps launched
    # as processes inherit it.
    no_authorities = tempfile.mkdtemp(prefix="vidu-ui-tests-no-ca-")
    os.environ.pop("SSL_CERT_FILE", None)
    os.environ["SSL_CERT_DIR"] = no_authorities
    config.add_cleanup(lambda: shutil.rmtree(no_authorities, ignore_errors=True))
    for option in ("--reliability-doc", "--hostile-doc"):
        if config.getoption(option) is not None and config.getoption("numprocesses", default=0):
            raise pytest.UsageError(f"{option} collects the results in this process: add -n 0")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules that drive Chromium run first, in two groups (``CHROMIUM_GROUPS``: their modules in turn, by
    name), each group whole in one process, one module after another, with one Chromium; each other module runs
    whole in one process. pytest-xdist (``--dist loadgroup``, ``--no-loadscope-reorder`` in ``pyproject.toml``)
    hands them out in this order: two workers start on the Chromium groups while the third runs the rest, and all
    three share the rest once done, so the waits of each (tasks, polls, processes starting) overlap the others'
    work. With one group of them all, its worker ran half a minute alone at the end of the run (270 s against 240 s
    for the other two, this machine, 3 December); as whole files handed out in turn, two or three workers drove
    Chromium at once, then waited on the rest with a core often idle (no test needs an answer within less than
    5 s: ``tests/support/faults.py``, ``SHORT_TIMEOUTS``)."""
    chromium = sorted({item.nodeid.split("::")[0] for item in items if "browser" in getattr(item, "fixturenames", ())})
    group = {module: f"chromium-{index % CHROMIUM_GROUPS}" for index, module in enumerate(chromium)}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in group)
    for item in items:
        module = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group.get(module, module)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (Gradio, the project, every test module: about a million objects) lives to the end
    of the process: frozen out of the garbage collector, whose full passes would otherwise walk it all again, some
    twenty times a process and five more at its end (pytest's own cleanup)."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--reliability-doc")
    if path is not None:
        _reliability(session.config).write(path)
    path = session.config.getoption("--hostile-doc")
    if path is not None:
        _findings(session.config).write(path)


def _reliability(config: pytest.Config) -> Reliability:
    from tests.support.report import Reliability

    return config.stash.setdefault(RELIABILITY, Reliability())


def _findings(config: pytest.Config) -> Findings:
    from tests.support.findings import Findings

    return config.stash.setdefault(FINDINGS, Findings())


@pytest.fixture(scope="session")
def reliability(pytestconfig: pytest.Config) -> Reliability:
    """Where the reliability tests leave their results for the document."""
    return _reliability(pytestconfig)


@pytest.fixture(scope="session")
def findings(pytestconfig: pytest.Config) -> Findings:
    """Where the hostile-input tests (decoding, limits, fuzzing) leave their figures for ``docs/hostile.md``."""
    return _findings(pytestconfig)


# --- the simulator ----------------------------------------------------------------------------------------------


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """The Vidu simulator on a free local port; ``@pytest.mark.simulator(...)`` sets its key and task times."""
    from tests.support.apps import CANARY
    from vidu_ui.simulator import Simulator

    marker = request.node.get_closest_marker("simulator")
    options = {"api_key": CANARY, **SIMULATOR_DEFAULTS, **(marker.kwargs if marker else {})}
    with Simulator(**options) as simulator:
        yield simulator


# --- a launched app ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The module's app; ``pytestmark = pytest.mark.app(...)`` (the fields of :class:`AppConfig`) configures it."""
    import app
    from tests.support.apps import AppConfig, Running, launched
    from vidu_ui.settings import Settings
    from vidu_ui.simulator import Simulator
    from vidu_ui.studio import StudioBlocks

    marker = request.node.get_closest_marker("app")
    config = AppConfig(**(marker.kwargs if marker else {}))
    data_dir = tmp_path_factory.mktemp("app") / "data"
    with Simulator(config.api_key, queue_seconds=config.queue_seconds, process_seconds=config.process_seconds) as sim:
        base = Settings.build(data_dir=data_dir, **config.settings)

        def build(port: int) -> StudioBlocks:
            settings = app.demo_settings(base, sim, config.api_key, public_url=app.own_url("127.0.0.1", port))
            return app.build_app(settings, demo=True)

        with launched(build, **config.serve) as (page, url):
            yield Running(url, page, sim, data_dir)


@pytest.fixture
def launch_app() -> Iterator[Callable[..., str]]:
    """Launch one more app: ``launch_app(settings, **serve_options)`` returns its URL; it closes after the test."""
    import app
    from tests.support.apps import launched

    with contextlib.ExitStack() as stack:

        def start(settings: Settings, **options: Any) -> str:
            _, url = stack.enter_context(launched(lambda _port: app.build_app(settings), **options))
            return url

        yield start


# --- Chromium ---------------------------------------------------------------------------------------------------


class _Chromium:
    """One Playwright and one Chromium for a test process, kept across the modules that use them, one after another
    (they run first, see ``pytest_collection_modifyitems``): a launch costs some 2.5 s of CPU."""

    def __init__(self) -> None:
        self.stack: contextlib.ExitStack | None = None
        self.browser: Browser | None = None

    def get(self) -> Browser:
        if self.browser is None or not self.browser.is_connected():
            self.close()
            from playwright.sync_api import expect, sync_playwright

            expect.set_options(timeout=BROWSER_TIMEOUT_MS)
            with contextlib.ExitStack() as stack:
                playwright = stack.enter_context(sync_playwright())
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                stack.callback(browser.close)
                self.stack, self.browser = stack.pop_all(), browser
        return self.browser

    def close(self) -> None:
        stack, self.stack, self.browser = self.stack, None, None
        if stack is not None:
            stack.close()


_CHROMIUM = _Chromium()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Chromium closes once the tests that use it are done in this process: Playwright's sync API runs an event
    loop in this thread while it is open, which ``asyncio.run`` in other tests must not meet."""
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in getattr(nextitem, "fixturenames", ()):
            _CHROMIUM.close()


@pytest.fixture(scope="module")
def browser() -> Browser:
    """Debian's Chromium driven by Playwright (``playwright install`` is never run), shared by the modules that run
    one after another in this process (``_Chromium``); every page opens in a fresh context."""
    need_chromium()
    return _CHROMIUM.get()


@pytest.fixture
def open_page(browser: Browser, launch_app: Callable[..., str]) -> Iterator[Callable[..., Page]]:
    """``open_page(url, locale="en-US")``: a tab in a fresh browser context, at ``url``; closed after the test,
    before the apps ``launch_app`` started (see ``device``)."""
    contexts: list[Any] = []

    def open_(url: str, *, locale: str = "en-US") -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(BROWSER_TIMEOUT_MS)
        tab.goto(url)
        return tab

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def device(browser: Browser, launch_app: Callable[..., str]) -> Iterator[Callable[..., Page]]:
    """``device(url, viewport=PHONE, locale="en-US", login=None)``: a tab of that size and language in a fresh
    context (signed in first with ``login=(user, password)``), at ``url`` once the page is ready; closed after the
    test.

    It asks for ``launch_app`` so that its tabs close first: an app closed under a tab's open event stream waits
    5 s for it (Gradio's ``Server.close``)."""
    from playwright.sync_api import expect

    from tests.support.pages import PHONE

    contexts: list[Any] = []

    def open_(
        url: str,
        viewport: dict[str, int] | None = None,
        locale: str = "en-US",
        login: tuple[str, str] | None = None,
    ) -> Page:
        context = browser.new_context(viewport=viewport or PHONE, locale=locale)
        contexts.append(context)
        if login is not None:  # Gradio's sign-in, as its login form posts it; the session cookie stays in the context
            answer = context.request.post(
                url.split("?")[0].rstrip("/") + "/login", form={"username": login[0], "password": login[1]}
            )
            assert answer.ok
        tab = context.new_page()
        tab.set_default_timeout(BROWSER_TIMEOUT_MS)
        tab.goto(url)
        expect(tab.locator("#vu-generate")).to_be_visible()
        return tab

    yield open_
    for context in contexts:
        context.close()


# --- real servers: PostgreSQL and S3 ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    """A PostgreSQL server from Debian's binaries for the session (each xdist worker its own); yields its base
    URL ``postgresql://postgres@127.0.0.1:<port>``. Skips the test where the binaries are missing."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_base: str) -> str:
    """A fresh empty database on the session's PostgreSQL server."""
    return new_database(postgres_base)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """The test runs on each engine: None for SQLite (the app's own file in its data folder), else a fresh database
    on the session's PostgreSQL server (its URL)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server (its own process) for the session; yields its endpoint URL."""
    with s3_server() as url:
        yield url


# --- frames, time, a receiver -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Photo-like frames drawn with Pillow: a 16:9 pair (PNG start, JPEG end), a square, a 2:1 picture, and a
    small 16:9 pair (quick to send many times)."""
    folder = tmp_path_factory.mktemp("frames")
    return {
        "start": write(folder / "start.png", photo(1280, 720, 21), "PNG"),
        "end": write(folder / "end.jpg", photo(1280, 720, 22), "JPEG", quality=92),
        "square": write(folder / "square.png", photo(1000, 1000, 23), "PNG"),
        "wide": write(folder / "wide.png", photo(1400, 700, 24), "PNG"),
        "small_start": write(folder / "small_start.png", photo(320, 180, 25), "PNG"),
        "small_end": write(folder / "small_end.png", photo(320, 180, 26), "PNG"),
    }


@pytest.fixture
def fake_time() -> FakeTime:
    """A clock that moves only when the code under test sleeps on it (``clock=fake_time.clock, sleep=...``)."""
    from tests.fakes import FakeTime

    return FakeTime()


@pytest.fixture
def receiver() -> Iterator[tuple[FastAPI, str]]:
    """A FastAPI app served by uvicorn on 127.0.0.1 in a thread, and its URL; the test adds its routes.

    The socket listens before the server thread starts, so a request made at once waits in the backlog."""
    import uvicorn
    from fastapi import FastAPI

    web = FastAPI()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield web, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
