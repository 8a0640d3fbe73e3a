"""The web page: a thin Gradio layer over the core (``submit``, ``options``, ``frames``, ``client``) and the
task history (``store``, ``tracker``, ``callbacks``)."""

from .form import FORM_FIELDS, Form, SessionGuard
from .handlers import Studio
from .history import History
from .page import I18N, build_studio, launch_options
from .results import Results, Watching
from .runtime import Runtime, StudioBlocks

__all__ = [
    "FORM_FIELDS",
    "I18N",
    "Form",
    "History",
    "Results",
    "Runtime",
    "SessionGuard",
    "Studio",
    "StudioBlocks",
    "Watching",
    "build_studio",
    "launch_options",
]
