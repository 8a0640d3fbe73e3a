"""The web studio's launch: ``vidu-ui-studio`` (or ``python app.py``; settings from VIDU_* variables), with
``--demo`` on the built-in simulator (no real service).

Nothing is launched at import time: ``build_app`` returns the page (with its own history and tracker, started
when the server starts), ``main`` parses the flags and launches it. The top-level ``app.py`` (a Hugging Face
Space's entry point) only calls ``main``.
"""

from __future__ import annotations

import importlib.util
import secrets
import signal
import socket
import warnings
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr

from .heap import return_large_blocks, settle
from .settings import Paths, Settings, SettingsError

# Gradio, the page and the history are loaded when a page is built, not for ``--help`` or a flag refused (seconds
# of imports); the simulator (and PyAV, which draws its videos) in demo mode only.
if TYPE_CHECKING:
    import gradio as gr

    from .simulator import Simulator
    from .studio import Runtime, StudioBlocks

MAX_QUEUE = 64
"""Requests waiting at most; more are refused with "queue full" rather than piling up."""
DEMO_QUEUE_SECONDS = 2.0
DEMO_PROCESS_SECONDS = 6.0
EXIT_USAGE = 2


def build_app(
    settings: Settings, *, demo: bool = False, max_queue: int = MAX_QUEUE, runtime: Runtime | None = None
) -> StudioBlocks:
    """The studio page for ``settings``, with a bounded queue. ``demo`` only changes the banner.

    Opens the history in ``settings.data_dir`` (unless ``runtime`` is given); the tracker starts with the
    server (``launch``), resumes the tasks the last run left unfinished, and stops with it.
    """
    from .studio import build_studio

    return build_studio(settings, demo=demo, runtime=runtime, max_queue=max_queue)


def start_simulator(api_key: str | None = None) -> tuple[Simulator, str]:
    """The built-in simulator on a free local port, with short task times; its key is random unless given."""
    from .simulator import Simulator

    key = api_key or f"demo-{secrets.token_urlsafe(24)}"
    simulator = Simulator(
        api_key=key, port=0, queue_seconds=DEMO_QUEUE_SECONDS, process_seconds=DEMO_PROCESS_SECONDS
    ).start()
    return simulator, key


def demo_settings(settings: Settings, simulator: Simulator, api_key: str, *, public_url: str | None = None) -> Settings:
    """``settings`` pointed at the simulator: its URL, its key, the default paths; timeouts and the rest kept.

    ``public_url`` is where the simulator's signed callbacks reach this app (its own loopback address).
    """
    values = settings.model_dump()
    values.update(
        api_key=SecretStr(api_key),
        base_url=simulator.base_url,
        auth_scheme="Bearer",
        paths=Paths(),
        demo=True,
        public_url=public_url,
    )
    return Settings.build(**values)


def free_port(host: str, start: int = 7860, tries: int = 100) -> int:
    """The first port from ``start`` that ``host`` can listen on (Gradio's own default range)."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {start}–{start + tries - 1} on {host}")


def own_url(host: str | None, port: int) -> str:
    """This app's address as seen from the same machine (a wildcard listen address means loopback)."""
    if not host or host in ("0.0.0.0", "::", "localhost"):  # noqa: S104 - comparing, not binding
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def parse_auth(value: str) -> tuple[str, str]:
    """``user:password`` (the password may contain colons). The error never repeats the value."""
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise typer.BadParameter("give user:password, both parts non-empty")
    return user.strip(), password


def read_auth_file(path: Path) -> list[tuple[str, str]]:
    """One ``user:password`` per line; blank lines and lines starting with ``#`` are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            pairs.append(parse_auth(text))
        except typer.BadParameter:
            raise typer.BadParameter(f"{path}, line {number}: give user:password, both parts non-empty") from None
    if not pairs:
        raise typer.BadParameter(f"{path} has no user:password line")
    return pairs


def mcp_available() -> bool:
    return importlib.util.find_spec("mcp") is not None


@dataclass(frozen=True)
class ServeOptions:
    """The launch flags, parsed."""

    host: str | None = None
    port: int | None = None
    share: bool = False
    auth: tuple[tuple[str, str], ...] = ()
    root_path: str | None = None
    mcp: bool = False
    demo: bool = False

    def launch_kwargs(self) -> dict[str, Any]:
        from .studio import launch_options
        from .studio.limits import SignInGuard

        return {
            **launch_options(),
            "server_name": self.host,
            "server_port": self.port,
            "share": self.share,
            "auth": SignInGuard(self.auth).check if self.auth else None,  # failures slowed per user and address
            "root_path": self.root_path,
            "mcp_server": self.mcp,
        }


def serve(options: ServeOptions) -> None:
    """Read the settings, start the simulator in demo mode, launch the page and block until stopped."""
    from .store import HISTORY_ERRORS

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        for problem in exc.problems:
            typer.echo(f"error: setting {problem}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if options.mcp and not mcp_available():
        typer.echo('error: --mcp needs the MCP extra: pip install "gradio[mcp]"', err=True)
        raise typer.Exit(EXIT_USAGE)
    if options.mcp:
        # Generate's one gr.State is its per-session guard against a double click; an MCP call needs none.
        warnings.filterwarnings("ignore", message="This MCP server includes a tool that has a gr.State input")
    return_large_blocks()  # a long-running page: large request bodies go back to the system once freed
    demo = options.demo or settings.demo
    simulator: Simulator | None = None
    if demo:
        # The port is fixed now so the simulator's callbacks can be addressed to this app before it listens.
        listen = options.host or "127.0.0.1"
        options = replace(options, port=options.port or free_port(listen))
        simulator, key = start_simulator()
        settings = demo_settings(settings, simulator, key, public_url=own_url(options.host, options.port or 0))
        typer.echo(f"Demo mode: the built-in simulator at {simulator.base_url} answers; no real service is called.")
    try:
        try:
            page = build_app(settings, demo=demo)
        except HISTORY_ERRORS as exc:
            typer.echo(f"error: the history at {settings.data_dir} cannot be opened: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        signal.signal(signal.SIGTERM, partial(_terminate, page))
        # Quiet: Gradio's own lines speak of ``launch()`` arguments; these speak of this command's flags.
        page.launch(**options.launch_kwargs(), quiet=True, prevent_thread_lock=True)
        settle()  # what start built, left out of Python's full collections (each 0.13 s of a stalled page)
        for line in launch_lines(page, options):
            typer.echo(line)
        page.block_thread()
    finally:
        if simulator is not None:
            simulator.stop()


def launch_lines(page: gr.Blocks, options: ServeOptions) -> list[str]:
    """What the console says once the page listens: where, and the flags that add a share link or MCP."""
    lines = [f"Running on {page.local_url}"]
    if not page.share and not page.space_id:  # a Space is public already (and has no share links)
        lines.append("For a temporary public link, start again with --share.")
    if page.mcp_error:
        lines.append(f"warning: MCP is off: {page.mcp_error}")
    elif not options.mcp:
        lines.append("For an MCP server (tools for AI agents), start again with --mcp.")
    return lines


def _terminate(page: StudioBlocks, signum: int, frame: FrameType | None) -> None:
    """A container's stop (SIGTERM): stop following tasks at once, then close the page, which ends its open
    streams too (a bare server stop would wait for them); ``launch`` then returns. Tasks left unfinished are
    resumed by the next start."""
    page.runtime.stop()
    page.close()


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@cli.command(help="Run the Vidu start–end studio in the browser. Settings come from VIDU_* variables (see README).")
def command(
    host: Annotated[
        str | None, typer.Option(envvar="GRADIO_SERVER_NAME", help="Address to listen on (0.0.0.0 for all)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(envvar="GRADIO_SERVER_PORT", help="Port (default 7860 or next free)")
    ] = None,
    share: Annotated[bool, typer.Option(help="Also serve through a temporary public gradio.live link")] = False,
    auth: Annotated[
        list[str] | None, typer.Option(help="Require a login: user:password (repeatable)", show_default=False)
    ] = None,
    auth_file: Annotated[
        Path | None,
        typer.Option(envvar="VIDU_UI_AUTH_FILE", help="Require a login: a file of user:password lines"),
    ] = None,
    root_path: Annotated[
        str | None, typer.Option(envvar="GRADIO_ROOT_PATH", help="URL prefix when served behind a reverse proxy")
    ] = None,
    mcp: Annotated[bool, typer.Option(help='Also serve Generate as an MCP tool (needs "gradio[mcp]")')] = False,
    demo: Annotated[
        bool, typer.Option(envvar="VIDU_DEMO", help="Use the built-in simulator: no real service, no credits")
    ] = False,
) -> None:
    pairs = [parse_auth(value) for value in auth or []]
    if auth_file is not None:
        pairs += read_auth_file(auth_file)
    serve(ServeOptions(host=host, port=port, share=share, auth=tuple(pairs), root_path=root_path, mcp=mcp, demo=demo))


def main(prog_name: str = "vidu-ui-studio") -> None:
    """The studio's command line (the ``vidu-ui-studio`` console command; ``app.py`` names itself)."""
    cli(prog_name=prog_name)


if __name__ == "__main__":
    main()
