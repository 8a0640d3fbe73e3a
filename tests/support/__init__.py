"""Helpers the test modules share (the fixtures built on them are in ``tests/conftest.py``).

Test modules import from here, never from each other; nothing here imports ``scripts/`` or ``bench/``.
"""
