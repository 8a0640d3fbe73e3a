"""The web page: a thin Gradio layer over the core (``submit``, ``options``, ``frames``, ``client``)."""

from .form import FORM_FIELDS, Form, SessionGuard
from .handlers import Studio
from .page import I18N, build_studio, launch_options

__all__ = ["FORM_FIELDS", "I18N", "Form", "SessionGuard", "Studio", "build_studio", "launch_options"]
