"""A long-running process's memory: large blocks given back to the system once freed, so the app returns to its
idle size after a 20 MB request (``return_large_blocks``); what start built left out of Python's full collections
(``settle``).

glibc's ``malloc`` serves a block of at least ``M_MMAP_THRESHOLD`` (128 KiB) with its own ``mmap``, unmapped on
``free``; but each time such a block is freed it raises that threshold to the block's size (up to 32 MiB), so
the next request's bodies and file bytes come from the heap, which keeps freed memory (issue 15: 243 MB
resident after a 20 MB request against 178 MB idle). ``mallopt(M_MMAP_THRESHOLD, 128 KiB)`` fixes the
threshold, which also turns the raising off (``mallopt(3)``: the same as ``MALLOC_MMAP_THRESHOLD_=131072`` in
the environment, which only a process's parent can set). Elsewhere (musl, macOS, Windows) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

M_MMAP_THRESHOLD = -3
"""``mallopt``'s parameter number for the threshold (``<malloc.h>``)."""
MMAP_THRESHOLD = 128 * 1024
"""glibc's default threshold, kept fixed."""


@functools.cache
def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process (once); whether it was set (False without glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl has mallopt, as a stub)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def settle() -> None:
    """Once a long-running process has started (the page launched, a worker's follower built): what start built
    is left out of Python's full collections from now on (``gc.freeze``), its garbage collected first so none
    is kept for good.

    A full collection walks every object the process holds, and holds the interpreter meanwhile: after the
    page's build, 269,000 objects (Gradio's, the page's), 125 ms a full collection on 4 December, during which
    no request is answered and the follower sends nothing; in a follower's process, three full collections
    during a first wave of 1,000 queries took 0.12–0.14 s of its first 1.2 s. Almost all of those objects live
    as long as the process, so walking them again finds nothing: after ``settle`` a full collection walks only
    what came after (0.03 s in that wave). Objects made later are collected as before."""
    gc.collect()
    gc.freeze()
