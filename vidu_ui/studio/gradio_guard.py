"""The one place this app reaches into Gradio's private parts; ``tests/test_gradio_guard.py`` fails when they
change.

Gradio builds its uvicorn server itself (``gradio.http_server.start_server``) from a fixed ``uvicorn.Config``:
no way to choose the HTTP protocol or its limits through ``launch()``. uvicorn, left alone, waits forever for a
request's headers and accepts connections until the process runs out of file descriptors. ``install`` makes
Gradio's server use ``limits.GuardedH11Protocol`` (a header time limit, a connection cap) by handing
``gradio.http_server`` a ``uvicorn`` whose ``Config`` sets ``http=`` to it; everything else is uvicorn's own.
"""

from __future__ import annotations

import types
from typing import Any

import gradio.http_server as http_server
import uvicorn

from .limits import GuardedH11Protocol

__all__ = ["install", "installed"]


class _GuardedConfig(uvicorn.Config):
    """uvicorn's Config, serving HTTP/1.1 with ``GuardedH11Protocol``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["http"] = GuardedH11Protocol
        super().__init__(*args, **kwargs)


def installed() -> bool:
    """Whether Gradio's server is built with the guarded protocol."""
    return getattr(getattr(http_server, "uvicorn", None), "Config", None) is _GuardedConfig


def install() -> None:
    """Make every server Gradio starts from now on use ``GuardedH11Protocol``. Safe to call again."""
    if installed():
        return
    if not isinstance(getattr(http_server, "uvicorn", None), types.ModuleType):
        raise RuntimeError("gradio.http_server no longer uses uvicorn as this app expects; see gradio_guard.py")
    shim = types.ModuleType("uvicorn", "uvicorn, with Config serving HTTP through limits.GuardedH11Protocol")
    shim.__dict__.update({k: v for k, v in vars(uvicorn).items() if not k.startswith("__")})
    shim.Config = _GuardedConfig  # type: ignore[attr-defined]
    http_server.uvicorn = shim  # type: ignore[attr-defined]
