"""The example frame pairs (``examples/``, drawn by ``scripts/make_examples.py``) offered on the page.

In a checkout they are the repository's ``examples/`` folder; an installed package carries the same files as
``vidu_ui/examples`` (see ``pyproject.toml``). Where neither is present the page simply has no examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

MANIFEST = "examples.json"
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Example:
    """One pair: the two frames' files and the prompt that goes with them."""

    name: str
    start: Path
    end: Path
    prompt: str


def folder() -> Path | None:
    """Where the examples are: the installed package's copy first, then the checkout's folder."""
    for candidate in (_PACKAGE / "examples", _PACKAGE.parent / "examples"):
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def load(where: Path | None = None) -> list[Example]:
    """The pairs listed in the manifest whose two files exist, in its order."""
    where = where or folder()
    if where is None:
        return []
    entries = json.loads((where / MANIFEST).read_text(encoding="utf-8"))
    pairs = [Example(e["name"], where / e["start"], where / e["end"], e["prompt"]) for e in entries]
    return [p for p in pairs if p.start.is_file() and p.end.is_file()]


def offer(start: gr.Image, end: gr.Image, prompt: gr.Textbox, label: str | I18nData) -> int:
    """The examples under the form, titled ``label``: a click fills the two frames and the prompt (nothing is
    sent). Returns how many pairs are offered."""
    pairs = load()
    if pairs:
        shown = gr.Examples(
            [[str(p.start), str(p.end), p.prompt] for p in pairs],
            [start, end, prompt],
            label=label,
            cache_examples=False,
            api_visibility="private",
            elem_id="vu-examples",
        )
        # The table's headers would be the inputs' labels, which the browser does not translate there (it would
        # show their raw translation keys): the pictures and the prompt speak for themselves.
        shown.dataset.headers = []
    return len(pairs)
