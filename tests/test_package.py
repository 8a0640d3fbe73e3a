"""The installable package: pyproject.toml agrees with requirements.txt and the source tree, the console commands
exist, and (slow tier) ``pip install .`` into a fresh virtual environment gives commands that work from any folder.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.support.machine import os_port
from vidu_ui import __version__, serve

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
COMMANDS = {"vidu-ui": "vidu_ui.cli:run", "vidu-ui-studio": "vidu_ui.serve:main"}


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_dependencies_are_requirements_txt_pinned() -> None:
    project, setuptools = PYPROJECT["project"], PYPROJECT["tool"]["setuptools"]
    assert "dependencies" not in project and "dependencies" in project["dynamic"]
    assert setuptools["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    pins = requirement_lines()
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+(\[[a-z,]+\])?==[0-9][A-Za-z0-9.]*", line) for line in pins)
    assert "gradio[mcp]==6.31.0" in pins  # the Space's sdk_version, with the MCP server
    front_matter = (ROOT / "README.md").read_text(encoding="utf-8").split("---")[1]
    assert re.search(r"^sdk_version: 6\.31\.0$", front_matter, re.MULTILINE)


def test_the_python_version_is_one_fact() -> None:
    front_matter = (ROOT / "README.md").read_text(encoding="utf-8").split("---")[1]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert re.search(r'^python_version: "3\.11"$', front_matter, re.MULTILINE)
    assert PYPROJECT["tool"]["mypy"]["python_version"] == "3.11"
    assert sys.version_info >= (3, 11)


def test_the_console_commands_name_real_functions() -> None:
    assert PYPROJECT["project"]["scripts"] == COMMANDS
    for target in COMMANDS.values():
        module, name = target.split(":")
        assert callable(getattr(importlib.import_module(module), name))


def test_every_package_folder_is_listed() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "vidu_ui").rglob("__init__.py")} | {
        "vidu_ui.examples"
    }
    assert set(setuptools["packages"]) == found
    assert setuptools["package-dir"] == {"vidu_ui.examples": "examples"}
    shipped = setuptools["package-data"]["vidu_ui.examples"]
    examples = [p.name for p in (ROOT / "examples").iterdir()]
    assert examples and all(any(Path(name).match(pattern) for pattern in shipped) for name in examples)


def run_elsewhere(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run from a folder that is not the repository, finding the package through PYTHONPATH only."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(args, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)


def test_python_dash_m_vidu_ui_version_exits_0(tmp_path: Path) -> None:
    done = run_elsewhere([sys.executable, "-m", "vidu_ui", "--version"], tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, __version__)


def test_app_py_is_the_studio_command(tmp_path: Path) -> None:
    done = run_elsewhere([sys.executable, str(ROOT / "app.py"), "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Usage: python app.py" in done.stdout and "--demo" in done.stdout


def test_the_studio_commands_help_loads_no_page(tmp_path: Path) -> None:
    """``--help`` (or a refused flag) answers without Gradio, the page, the history or the simulator: they are
    seconds of imports, loaded when a page is built."""
    script = "import sys, app; app.cli(['--help'], standalone_mode=False); print(sorted(sys.modules))"
    done = run_elsewhere([sys.executable, "-c", script], tmp_path)
    assert done.returncode == 0, done.stderr
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert "typer" in loaded and "vidu_ui.serve" in loaded
    assert loaded.isdisjoint({"gradio", "vidu_ui.studio", "vidu_ui.store", "vidu_ui.simulator", "sqlalchemy"})


def page(share: bool = False, mcp_error: str | None = None) -> Any:
    """What ``launch_lines`` reads of a launched page."""
    return SimpleNamespace(local_url="http://127.0.0.1:7860/", share=share, mcp_error=mcp_error, space_id=None)


def test_the_console_speaks_of_the_commands_flags() -> None:
    lines = "\n".join(serve.launch_lines(page(), serve.ServeOptions()))
    assert "http://127.0.0.1:7860/" in lines and "--share" in lines and "--mcp" in lines
    assert "share=True" not in lines and "launch()" not in lines
    shared = "\n".join(serve.launch_lines(page(share=True), serve.ServeOptions(share=True, mcp=True)))
    assert "--share" not in shared and "--mcp" not in shared
    failed = serve.launch_lines(page(mcp_error="mcp is missing"), serve.ServeOptions(mcp=True))
    assert any("mcp is missing" in line for line in failed)


# --- slow: a real install --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1800)  # pip downloads and installs gradio and the rest: minutes on a loaded machine
def test_pip_install_gives_commands_that_work_from_any_folder(tmp_path: Path) -> None:
    """A fresh virtual environment (no system packages), ``pip install <repo>``, then the commands from elsewhere."""
    env_dir, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    venv.create(env_dir, with_pip=True)
    binaries = env_dir / "bin"
    installed = subprocess.run(
        [str(binaries / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-4000:]
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binaries / args[0]), *args[1:]], cwd=elsewhere, env=clean, capture_output=True, text=True, timeout=120
        )

    assert command("vidu-ui", "--version").stdout.strip() == __version__
    helped = command("vidu-ui", "--help")
    assert helped.returncode == 0 and "Usage: vidu-ui" in helped.stdout and "<bool>" not in helped.stdout
    models = command("vidu-ui", "models")
    assert models.returncode == 0 and "viduq3-pro" in models.stdout
    assert command("vidu-ui-studio", "--help").returncode == 0

    port = os_port()
    studio_env = {**clean, "VIDU_UI_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    studio = subprocess.Popen(
        [str(binaries / "vidu-ui-studio"), "--demo", "--mcp", "--host", "127.0.0.1", "--port", str(port)],
        cwd=elsewhere,
        env=studio_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert studio.stdout is not None
        seen = []
        for line in studio.stdout:  # the console says where it runs once it listens
            seen.append(line)
            if line.startswith("Running on"):
                break
        console = "".join(seen)
        assert f"Running on http://127.0.0.1:{port}" in console, console
        assert "/gradio_api/mcp/" in console and "share=True" not in console
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).text == "ok"
        examples = httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).text
        assert "sunrise-start.jpg" in examples  # the package carries its examples
    finally:
        studio.terminate()
        studio.wait(timeout=60)
