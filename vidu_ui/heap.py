"""Large blocks of memory given back to the system once freed, so a long-running app returns to its idle size
after a 20 MB request.

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
