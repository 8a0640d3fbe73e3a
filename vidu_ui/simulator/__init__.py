"""A local Vidu-compatible service for tests, the demo mode and the ``simulator`` command.

It implements the contract in ``shared/vidu-api.md``: the create, query, cancel, credits and list calls with
the service's checks and error bodies, states that advance with the clock, real (small) MP4 results behind
signed, expiring links, signed callbacks, and injectable faults. See :class:`Simulator` and :func:`serve`.
"""

from .faults import Fault
from .log import RequestRecord
from .server import Simulator, serve
from .tasks import Relay
from .video import crossfade_mp4

__all__ = ["Fault", "Relay", "RequestRecord", "Simulator", "crossfade_mp4", "serve"]
