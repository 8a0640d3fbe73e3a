"""How the page shows a result without opening the data folder to the web.

Gradio serves a file at ``/gradio_api/file=<path>`` only from its own cache folder (and ``allowed_paths``, which
this app never sets). The history database and the videos live in ``data_dir``, outside it, so none of them can
be fetched by path. A video is shown by ``VideoStage.publish``, called only after the handler checked that the
user may see the task: it hard-links (or, across file systems, copies) that one file into a folder of Gradio's
cache whose name is an HMAC of the file under a secret of this process, so the link cannot be guessed from a
task id, and Gradio then serves just that file.

Until the video is saved locally (or when keeping videos is off), the service's own signed URL is shown. The
events that show a task skip Gradio's postprocessing (``postprocess=False``) and return ``file_value``s: Gradio
then leaves an http(s) URL for the browser to load, where ``gr.Video``/``gr.Image`` would fetch it on the
server into the cache (and refuse a loopback address such as the demo's).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from gradio.utils import get_upload_folder

__all__ = ["VideoStage", "file_value", "is_url"]


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def file_value(location: str, name: str, mime_type: str) -> dict[str, Any]:
    """What a Video, Image or DownloadButton shows, without postprocessing: a published path or an http(s) URL."""
    value: dict[str, Any] = {
        "path": location,
        "orig_name": name,
        "mime_type": mime_type,
        "meta": {"_type": "gradio.FileData"},
    }
    if is_url(location):
        value["url"] = location
    return value


class VideoStage:
    """Puts single files where Gradio serves them: ``<Gradio cache>/vidu-ui-<random>/<hmac>/<name>``.

    One per app; ``clear`` removes what it published (at shutdown).
    """

    def __init__(self, root: Path | None = None) -> None:
        base = Path(root) if root is not None else Path(get_upload_folder())
        self.root = base / f"vidu-ui-{secrets.token_hex(8)}"
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def publish(self, source: Path | str) -> str | None:
        """A servable path for ``source`` (the same one while the file is unchanged); None if it is gone."""
        path = Path(source)
        try:
            stat = path.stat()
        except OSError:
            return None
        mark = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
        folder = self.root / hmac.new(self._secret, mark, hashlib.sha256).hexdigest()[:32]
        target = folder / path.name
        with self._lock:
            if target.exists():
                return str(target)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except FileExistsError:
                pass
            except OSError:  # another file system, or links not allowed: copy, then rename into place
                fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
                os.close(fd)
                try:
                    shutil.copyfile(path, staging)
                    os.chmod(staging, 0o600)
                    os.replace(staging, target)
                except BaseException:
                    Path(staging).unlink(missing_ok=True)
                    raise
        return str(target)

    def clear(self) -> None:
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)
