"""The studio for ``python app.py`` and Hugging Face Spaces (which run this file). The launch lives in the package,
``vidu_ui.serve``, also installed as the ``vidu-ui-studio`` command; the names below are re-exported for scripts
that build the page themselves."""

from vidu_ui.serve import (
    MAX_QUEUE,
    ServeOptions,
    build_app,
    cli,
    demo_settings,
    free_port,
    main,
    own_url,
    parse_auth,
    read_auth_file,
    start_simulator,
)

__all__ = [
    "MAX_QUEUE",
    "ServeOptions",
    "build_app",
    "cli",
    "demo_settings",
    "free_port",
    "main",
    "own_url",
    "parse_auth",
    "read_auth_file",
    "start_simulator",
]

if __name__ == "__main__":
    main("python app.py")
