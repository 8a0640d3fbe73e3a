"""The benchmark: ``python -m bench`` (``--quick`` for CI). See ``docs/benchmarks.md``, which it writes.

Every figure is a ratio against a floor measured in the same run, on the same machine, so a shared and noisy
machine slows both alike. Each case is a module with ``run(ctx) -> list[Row]``; notes on misses are in
``bench/notes.py``, never in the generated document.
"""
