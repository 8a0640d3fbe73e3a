"""The processes the cases drive: the simulator and the app, each a separate process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from vidu_ui.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_FINISHED = ("success", "failed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any VIDU_* or GRADIO_* setting of the person running it, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "GRADIO_"))}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(values)
    return env


def wait_until_ok(url: str, process: subprocess.Popen[Any], timeout: float = 300.0) -> float:
    """Poll ``url`` every 20 ms until it answers 200; the time that took. Raises if the process ends first, or
    after ``timeout`` (a bound for a process that hangs: on a loaded machine a start can take a minute)."""
    started = time.perf_counter()
    with httpx.Client(timeout=httpx.Timeout(2.0)) as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(url).status_code == 200:
                    return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")
            time.sleep(0.02)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Service:
    """A child process serving HTTP on a port of 127.0.0.1; stopped (by its own pid) on exit."""

    ready_path = "/"

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.args, self.env, self.port, self.log_path = args, env, port, log
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Service:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log, stderr=self._log)
        try:
            wait_until_ok(self.url + self.ready_path, self.process)
        except Exception as exc:
            self.__exit__(None, None, None)
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}; the end of its output:\n{tail}") from exc
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            stop(self.process)
        if self._log is not None:
            self._log.close()

    # --- memory, from /proc (psutil is not a dependency) ---------------------------------------------------

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise LookupError(field)

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return self._status("VmRSS")

    def peak_rss(self) -> int:
        """The resident high-water mark since start or since ``reset_peak``, in bytes."""
        return self._status("VmHWM")

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> bool:
        """Reset the high-water mark to the current RSS (Linux ``clear_refs`` 5); False when not allowed."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True


class SimulatorProcess(Service):
    """``python -m vidu_ui simulator`` in its own process, with the admin calls the cases use."""

    ready_path = "/_sim/health"

    def __init__(self, log: Path, *, queue_seconds: float = 0.0, process_seconds: float = 0.0) -> None:
        port = free_port()
        args = [sys.executable, "-m", "vidu_ui", "simulator", "--port", str(port), "--api-key", KEY]
        args += ["--queue-seconds", str(queue_seconds), "--process-seconds", str(process_seconds)]
        super().__init__(args, clean_env(), port, log)
        self.settings = Settings.build()

    def __enter__(self) -> SimulatorProcess:
        super().__enter__()
        self.settings = Settings.build(api_key=KEY, base_url=self.url, auth_scheme="Bearer")
        self.admin("POST", "credits", {"credits": 10**12})  # never the limit, however many runs
        return self

    def admin(self, method: str, name: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sim/{name}", json=body, timeout=_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def delay_creates(self, seconds: float, times: int) -> None:
        """The next ``times`` create calls are carried out, then answered ``seconds`` later."""
        self.admin("POST", "faults", {"call": "create", "delay": seconds, "times": times})

    def requests(self, call: str) -> int:
        """How many API calls of this kind the simulator has answered since it started."""
        return len(self.arrivals(call))

    def arrivals(self, call: str, since: float = 0.0) -> list[float]:
        """When each API call of this kind arrived (Unix time), oldest first."""
        records = self.admin("GET", "requests")
        return sorted(r["time"] for r in records if r.get("call") == call and r["time"] >= since)

    def wait_finished(self, task_ids: list[str], timeout: float = 120.0) -> None:
        """Wait until every task is finished, so the simulator's video encoding never overlaps a timed run."""
        deadline = time.monotonic() + timeout
        path = self.settings.paths.query
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=_TIMEOUT) as http:
            for task_id in task_ids:
                while http.get(path.format(task_id=task_id)).json().get("state") not in _FINISHED:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"task {task_id} did not finish within {timeout:.0f} s")
                    time.sleep(0.02)


class AppProcess(Service):
    """``python app.py`` in its own process, pointed at the simulator process."""

    def __init__(self, simulator: SimulatorProcess, data_dir: Path, log: Path) -> None:
        port = free_port()
        env = clean_env(VIDU_BASE_URL=simulator.url, VIDU_API_KEY=KEY, VIDU_UI_DATA_DIR=str(data_dir))
        args = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)]
        super().__init__(args, env, port, log)


def _threads(pid: int) -> list[int]:
    """Every thread of a process (Linux pins a thread, not a process: threads made later inherit their maker's)."""
    try:
        return [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


@contextlib.contextmanager
def pinned(places: dict[int, set[int]]) -> Iterator[bool]:
    """Each process (by pid; 0 is this one) runs on its set of CPUs within the block, every thread of it; their
    CPUs are given back after. Yields False, changing nothing, where the machine does not allow it."""
    if not hasattr(os, "sched_setaffinity"):
        yield False
        return
    before: dict[int, set[int]] = {}
    origin = {pid: os.sched_getaffinity(pid) for pid in places}
    try:
        for pid, cpus in places.items():
            for thread in _threads(pid or os.getpid()):
                before[thread] = os.sched_getaffinity(thread)
                os.sched_setaffinity(thread, cpus)
    except OSError:
        _restore(before)
        yield False
        return
    try:
        yield True
    finally:
        for pid in places:
            for thread in _threads(pid or os.getpid()):
                before.setdefault(thread, origin[pid])  # a thread made within the block
        _restore(before)


def _restore(before: dict[int, set[int]]) -> None:
    for thread, cpus in before.items():
        with contextlib.suppress(OSError):  # a thread that has ended since
            os.sched_setaffinity(thread, cpus)
