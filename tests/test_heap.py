"""``heap``: a long-running page fixes glibc's mmap threshold, so large request bodies go back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_threshold_is_set_on_glibc() -> None:
    probe = "from vidu_ui.heap import return_large_blocks as r; print(r(), r())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["True", "True"]  # set, and asking again is harmless


def test_settle_leaves_what_start_built_out_of_full_collections_and_still_collects_what_comes_after() -> None:
    """In a child process (freezing is for the whole process): garbage made before ``settle`` is collected, not
    kept for good; what was alive is frozen; a cycle made afterwards is still collected."""
    probe = """
import gc, weakref
from vidu_ui.heap import settle
class Node:
    pass
def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)
kept = [Node() for _ in range(1000)]
gc.disable()  # no collection but settle's own before it
before = cycle()
settle()
print(before() is None, gc.get_freeze_count() >= 1000)
after = cycle()
gc.collect()
print(after() is None)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["True", "True", "True"]
