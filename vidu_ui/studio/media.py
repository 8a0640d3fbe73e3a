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
import io
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from gradio.utils import get_upload_folder
from PIL import Image

from ..autofit import Reshape
from ..frames import DECODES, THUMBNAIL_SIDE, Frame, thumbnail_jpeg

__all__ = ["PREVIEW_DECODE_PIXELS", "VideoStage", "file_value", "is_url", "sent_picture"]

PREVIEW_DECODE_PIXELS = 16_000_000
"""The largest PNG or WebP frame decoded to draw what auto-fit sends: a JPEG is drawn from its reduced-size decode
(the check's ``Frame.thumbnail``, else a 1/8-scale draft), but a PNG or WebP has none, and a frame auto-fit re-encodes
is decoded in full again when sent. Above this, only the words are shown (never a second full decode of a 100 MP
frame); at or below it, the decode runs inside ``frames.DECODES`` like every full decode."""


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


def _reduced(frame: Frame, side: int) -> Image.Image | None:
    """The frame's picture, upright, longest side about ``side``, from the cheapest decode there is; None when
    only a full decode of a large PNG or WebP would give it."""
    if frame.data is None or frame.pixels is None:
        return None
    data = frame.thumbnail
    if data is None:
        full = frame.format != "jpeg"  # a JPEG decodes at 1/2, 1/4 or 1/8 of its size (Pillow's draft)
        if full and frame.pixels > PREVIEW_DECODE_PIXELS:
            return None
        with DECODES.hold(frame.pixels if full else frame.pixels // 64), Image.open(io.BytesIO(frame.data)) as image:
            image.draft("RGB", (side, side))
            data = thumbnail_jpeg(image, side)
    with Image.open(io.BytesIO(data)) as small:
        return small.convert("RGB")


def sent_picture(frame: Frame, reshape: Reshape, side: int = THUMBNAIL_SIDE) -> Image.Image | None:
    """A small picture of what auto-fit sends of ``frame``: the part ``reshape`` keeps, at the shape it is sent
    (longest side ``side``). None when the frame is too large to draw without a second full decode."""
    picture = _reduced(frame, side)
    if picture is None:
        return None
    scale_x, scale_y = picture.width / reshape.before[0], picture.height / reshape.before[1]
    left, top, right, bottom = reshape.box
    part = picture.crop((round(left * scale_x), round(top * scale_y), round(right * scale_x), round(bottom * scale_y)))
    width, height = reshape.after
    factor = side / max(width, height)
    return part.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.LANCZOS)
