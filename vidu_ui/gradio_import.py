"""Gradio's import without its type-stub writer: installed by ``vidu_ui/__init__.py``, so before any process of the
app (the page, the command line, the tests) first imports Gradio.

Every class Gradio's ``ComponentMeta`` makes (its own forty-odd components, at ``import gradio``) goes through
``gradio.component_meta.create_or_modify_pyi``, which reads the class's source file, parses it whole with ``ast``
(twice: the ``.py`` and its ``.pyi``) and writes the ``.pyi`` back when the stub it derives differs. That keeps
the stubs of a component being written in a checkout of Gradio in step; in an installed Gradio it finds the stubs
as they are, and costs a third of ``import gradio``: 1.5 s of CPU of 4.6 s on this machine, more under a tracer
(coverage, a profiler), in every process that imports Gradio. ``install`` makes the module's function do nothing,
through an import hook that runs once, when ``gradio.component_meta`` is first imported; a Gradio already
imported is left as it is.

Only this module and ``vidu_ui/studio/gradio_guard.py`` reach into Gradio's private parts;
``tests/test_gradio_guard.py`` asserts that the function is still there, still called for every component class,
and skipped once this is installed, so an upgrade of Gradio that changes it fails there first.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def skip_stubs(*args: Any, **kwargs: Any) -> None:
    """What ``gradio.component_meta.create_or_modify_pyi`` becomes: nothing written, nothing parsed."""


class _SkipStubs(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as Python would, and replaces its function once its body has run (before
    any component class is made: the components' modules import it first)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)  # once: the module is imported once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if not isinstance(loader, importlib.machinery.SourceFileLoader):
            return spec  # not a source file (an unusual install): left as it is
        run_body = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run_body(module)
            if hasattr(module, FUNCTION):
                setattr(module, FUNCTION, skip_stubs)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Skip the stub writer in this process, unless Gradio is imported already (then its classes are made)."""
    if MODULE in sys.modules or any(isinstance(finder, _SkipStubs) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubs())


def installed() -> bool:
    """Whether the imported Gradio skips its stub writer."""
    module = sys.modules.get(MODULE)
    return module is not None and getattr(module, FUNCTION, None) is skip_stubs
