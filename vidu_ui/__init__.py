"""vidu-ui: a browser studio and command line for Vidu's start–end frame video generation."""

from vidu_ui import gradio_import

__version__ = "0.1.0"

gradio_import.install()  # before any module of the app imports Gradio (vidu_ui/gradio_import.py says why)
