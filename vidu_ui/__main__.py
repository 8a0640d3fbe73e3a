from .cli import run

run("python -m vidu_ui")
