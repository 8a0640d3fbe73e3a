"""The names the studio and older callers use for following tasks; the work is ``vidu_ui.follower``'s.

``Tracker`` is ``follower.Follower``: tasks are followed from the rows of the store (with leases, so several
processes share the work), no longer from a heap of threads in one process.
"""

from __future__ import annotations

from .follower import ClientFactory, Downloader, KeyOwner, MissingKey, UnknownTask, default_client_factory
from .follower import Follower as Tracker

__all__ = [
    "ClientFactory",
    "Downloader",
    "KeyOwner",
    "MissingKey",
    "Tracker",
    "UnknownTask",
    "default_client_factory",
]
