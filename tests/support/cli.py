"""The command line run in this process (typer's ``CliRunner``) against a simulator: its key and environment."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vidu_ui.cli import app
from vidu_ui.simulator import Simulator

CANARY = "sk-CANARY-cli-7f3a9"
"""The command line tests' key: it must never appear in what they print."""


def run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``python -m vidu_ui *args`` with ``env``: exit code, standard output, standard error."""
    result = CliRunner().invoke(app, args, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def env_for(sim: Simulator, tmp_path: Path, key: str = CANARY) -> dict[str, str]:
    """The environment of a command talking to ``sim`` with ``key``, its history under ``tmp_path``, quick polls."""
    return {
        "VIDU_BASE_URL": sim.base_url,
        "VIDU_API_KEY": key,
        "VIDU_UI_DATA_DIR": str(tmp_path / "data"),
        "VIDU_POLL_INTERVAL": "0.05",
        "VIDU_POLL_MAX_INTERVAL": "0.2",
        "VIDU_POLL_MAX_WAIT": "30",
        "LC_ALL": "",
        "LC_MESSAGES": "",
        "LANG": "en_US.UTF-8",
        "VIDU_UI_SETTLE_SECONDS": "0",
    }
