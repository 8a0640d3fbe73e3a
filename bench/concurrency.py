"""Concurrency: many ``gradio_client`` users pressing Generate at once on ``python app.py``, the service taking 1 s
to answer each create, against one user alone. Nobody should wait behind anybody else."""

from __future__ import annotations

import functools
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradio_client import Client, handle_file

from vidu_ui.studio.form import SAMPLE_VALUES

from .images import photo, write_jpeg
from .measure import Timings, compare, seconds
from .procs import AppProcess, Service, SimulatorProcess, pinned
from .results import Context, Row

LATENCY = 1.0
"""Seconds the simulator waits before answering each create (carried out first, then answered)."""


FORM: dict[str, Any] = SAMPLE_VALUES
"""Generate's values other than the two frames: a valid viduq1 request (``vidu_ui.studio.form``)."""


def arguments(start: Path | str, end: Path | str, **changes: Any) -> dict[str, Any]:
    """Generate's inputs by name, as an API user sends them (frames as files ``gradio_client`` uploads);
    ``changes`` replace any of them."""
    return {"start_image": handle_file(str(start)), "end_image": handle_file(str(end)), **FORM, **changes}


def generate_endpoint(client: Client) -> str:
    """The page's Generate endpoint, found by name in the API description."""
    info = client.view_api(print_info=False, return_format="dict")
    names = [name for name in info["named_endpoints"] if "generate" in name]
    if len(names) != 1:
        raise LookupError(f"expected one generate endpoint, found {sorted(info['named_endpoints'])}")
    name: str = names[0]
    return name


CLIENT_TIMEOUT = 120.0
"""Seconds a ``gradio_client`` request may take: its default (a few seconds) timed out connecting to the page on
a machine at load 30 (the full run's concurrency row, issue 15)."""


def client(url: str) -> Client:
    """A connected API user of the page at ``url``, as patient as a person on a loaded machine."""
    return Client(url, verbose=False, httpx_kwargs={"timeout": CLIENT_TIMEOUT})


class Users:
    """``count`` connected API users of one page (clients built before timing, as open browser tabs are)."""

    def __init__(self, url: str, count: int, start: Path, end: Path) -> None:
        self.clients = [client(url) for _ in range(count)]
        self.endpoint = generate_endpoint(self.clients[0])
        self.start, self.end = start, end

    def generate(self, client: Client, frames: tuple[Path, Path] | None = None) -> str:
        """One Generate through the API, as a user sends it (files uploaded, then the event); its task id."""
        start, end = frames or (self.start, self.end)
        result = client.predict(**arguments(start, end), api_name=self.endpoint)
        task_id: str = result[0]
        if not task_id.isdigit():
            raise RuntimeError(f"Generate gave no task id: {result!r}")
        return task_id

    def alone(self, simulator: SimulatorProcess) -> list[str]:
        simulator.delay_creates(LATENCY, 1)
        return [self.generate(self.clients[0])]

    def together(self, simulator: SimulatorProcess) -> list[str]:
        return crowd([functools.partial(self.generate, client) for client in self.clients], simulator)


@dataclass
class Anatomy:
    """One crowd run looked into: who used the CPU, and whether the creates overlapped."""

    cpu_app: float
    cpu_simulator: float
    cpu_clients: float
    in_flight: int  # most creates waiting on the service at once
    spread: float  # seconds between the first create's arrival and the last's


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def anatomy(users: Users, app: Service, simulator: SimulatorProcess) -> Anatomy:
    since = time.time()
    before = (app.cpu_seconds(), simulator.cpu_seconds(), _own_cpu())
    task_ids = users.together(simulator)
    after = (app.cpu_seconds(), simulator.cpu_seconds(), _own_cpu())
    simulator.wait_finished(task_ids)
    arrivals = simulator.arrivals("create", since)
    in_flight = max(sum(1 for other in arrivals if at <= other < at + LATENCY) for at in arrivals)
    app_cpu, simulator_cpu, clients_cpu = (b - a for a, b in zip(before, after, strict=True))
    return Anatomy(app_cpu, simulator_cpu, clients_cpu, in_flight, arrivals[-1] - arrivals[0])


def crowd(calls: list[Callable[[], str]], simulator: SimulatorProcess) -> list[str]:
    """Every call at once (a thread each, released together), the simulator answering each create late."""
    simulator.delay_creates(LATENCY, len(calls))
    ready = threading.Barrier(len(calls))

    def one(call: Callable[[], str]) -> str:
        ready.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def bare_page(ctx: Context, start: Path, end: Path, cpus: list[int]) -> Timings:
    """The same crowd on the bare page of *app CPU per Generate* (``app_cpu.FLOOR_APP``: a handler calling
    ``prepare`` + ``submit``), pinned the same way: what Gradio itself allows."""
    from .app_cpu import FloorApp, floor_page, floor_script  # here: app_cpu builds on this module

    bare = FloorApp(floor_script(ctx), ctx.simulator, ctx.log_dir / "floor-concurrency.log")
    with bare:
        places = {bare.pid: {cpus[0]}, ctx.simulator.pid: set(cpus[1:]), 0: set(cpus[1:])} if len(cpus) > 1 else {}
        with pinned(places):
            pages = [floor_page(bare, start, end) for _ in range(ctx.profile.clients)]
            try:
                return compare(
                    lambda: crowd([page.generate for page in pages], ctx.simulator),
                    lambda: crowd([pages[0].generate], ctx.simulator),
                    runs=ctx.profile.crowd_runs,
                    settle=ctx.simulator.wait_finished,
                )
            finally:
                for page in pages:
                    page.client.close()


def run(ctx: Context) -> list[Row]:
    start = write_jpeg(ctx.work / "crowd-start.jpg", photo(1280, 720, 11))
    end = write_jpeg(ctx.work / "crowd-end.jpg", photo(1280, 720, 12))
    n = ctx.profile.clients
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    with AppProcess(ctx.simulator, ctx.work / "data", ctx.log_dir / "app-concurrency.log") as app:
        # The app on one CPU, the clients (this process) and the service on the others, where there are two.
        places = {app.pid: {cpus[0]}, ctx.simulator.pid: set(cpus[1:]), 0: set(cpus[1:])} if len(cpus) > 1 else {}
        with pinned(places) as apart:
            users = Users(app.url, n, start, end)
            timings = compare(
                lambda: users.together(ctx.simulator),
                lambda: users.alone(ctx.simulator),
                runs=ctx.profile.crowd_runs,
                settle=ctx.simulator.wait_finished,
            )
            seen = anatomy(users, app, ctx.simulator)
    floor_page_timings = bare_page(ctx, start, end, cpus)
    where = (
        f"the app pinned to CPU {cpus[0]}, the clients and the simulator to CPU {','.join(map(str, cpus[1:]))} "
        "(`os.sched_setaffinity`, every thread)"
        if apart and places
        else "nothing pinned (the machine does not allow it)"
    )
    return [
        Row(
            case="concurrency",
            measured=seconds(timings.measured_median),
            floor=seconds(timings.floor_median),
            ratio=timings.ratio,
            target=1.5,
            target_text="≤ 1.5× (no queuing)",
            detail=f"{n} `gradio_client` users calling `{users.endpoint}` at once (two 1280×720 JPEGs each, "
            f"auto-fit on) on `python app.py`, the simulator answering each create {LATENCY:g} s late: time until "
            "the last has its task id; floor: one user alone. "
            f"A further crowd run looked into: the creates reached the simulator over {seen.spread:.2f} s, at most "
            f"{seen.in_flight} of {n} in flight at once; CPU used meanwhile: app {seen.cpu_app:.2f} s, "
            f"simulator {seen.cpu_simulator:.2f} s, the {n} clients (this process) {seen.cpu_clients:.2f} s, "
            f"on {os.cpu_count()} CPUs; {where}. The same crowd on the bare page of *app CPU per Generate* (a "
            "`gr.Blocks` whose handler calls `prepare` + `submit`), pinned the same way: "
            f"{floor_page_timings.measured_median:.2f} s against {floor_page_timings.floor_median:.2f} s alone, "
            f"**{floor_page_timings.ratio:.2f}×**",
        )
    ]
