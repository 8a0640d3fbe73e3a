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
