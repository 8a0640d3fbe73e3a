"""Hostile and broken input against the launched app: frames, options and raw bodies, sent the way any HTTP client
could send them, bypassing the page.

Each case calls the app's ``generate`` event twice: through ``POST /gradio_api/call/generate`` (then its event
stream) and through ``POST /gradio_api/queue/join`` (then ``/gradio_api/queue/data``), the route the page itself
uses. Gradio runs the page's validator on both before anything is queued. A few cases call a private event (the
URL box's summary) through ``queue/join``, as the page does. Per case the harness records the HTTP statuses, the
message a client reads, whether it names the field, whether a create reached the simulator (its request log),
whether ``/healthz`` still answers, whether a traceback showed, and the time to the final answer. The last cases
are valid requests: the process still serves them.

``CASES`` is the corpus (defined only here; ``tests/test_hostile.py`` runs each case as a test), ``Harness``
launches the app twice on one in-process simulator (with a server key, and without one, for the visitor's key
field), ``violations`` says what a result breaks, and ``render`` writes the "Hostile input" section of
``docs/reliability.md`` from the results the tests recorded (``tests/support/report.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import re
import secrets
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import httpx

import app
from tests.corpus import animated_webp, make_bad, one_bit_png
from tests.images import encode, photo
from tests.support.apps import arguments, launched
from vidu_ui.settings import Settings
from vidu_ui.simulator import Simulator
from vidu_ui.studio import StudioBlocks

KEY = "sk-hostile-sim-key"
CALL = "/gradio_api/call/generate"
JOIN = "/gradio_api/queue/join"
SLOW = 2.0
"""Seconds an answer should take at most: recorded for every case (the tests assert a far looser bound)."""
BIG = 60_000_000
"""Characters of the oversized data: URLs."""
Where = Literal["frames", "options", "raw API"]
Outcome = Literal["refused", "task", "shown"]
CORPUS = {
    "gif": "a GIF",
    "bmp": "a BMP",
    "svg": "an SVG drawing (XML text)",
    "tiff-named-png": "a TIFF named .png",
    "text": "a text file named .jpg",
    "binary": "random bytes named .webp",
    "heic": "a HEIC photo (ftyp header)",
    "empty": "an empty file (0 bytes)",
    "truncated-jpeg": "a JPEG cut at 60 %",
    "truncated-png": "a PNG cut at 60 %",
    "bad-crc": "a PNG with a bad IDAT checksum",
    "bomb": "a PNG bomb: 30000×30000 header, one row of data",
    "webp-bomb": "a WebP header claiming 16383×16383",
}
"""Every kind of ``tests.corpus.make_bad``, described."""
KNOWN_ISSUES = {
    "gradio-refusal": (
        "Gradio refuses these itself, before the page's validator runs (HTTP 400), in its own words: the path it "
        "will not move into its cache (which also shows the server's working directory), the component's data "
        "model (`ImageData`), or its internal input list with object addresses. Nothing is read, fetched or sent "
        "and the process carries on, but the message does not name the field (`start_image`)."
    ),
}


# --- the corpus -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file uploaded through ``/gradio_api/upload`` before the call; ``kind`` names a maker in ``FILES``."""

    kind: str


@dataclass(frozen=True)
class At:
    """A value computed when the case runs (it may need the harness: an upload's path, the data folder)."""

    make: Callable[[Harness], Any]


@dataclass(frozen=True)
class Case:
    """One hostile (or, with ``outcome="task"``, valid) input.

    ``outcome``: ``refused`` (a 4xx, or an error event, whose message names ``field``, and nothing sent);
    ``task`` (a valid input: exactly one create, whose logged body passes ``sent``); ``shown`` (a private event
    that answers with text: it must contain ``shows`` and none of ``hides``).
    """

    key: str
    label: str
    where: Where
    field: str | None
    values: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    """Changes to a valid call's values (``Upload``, ``At`` resolved when it runs)."""
    outcome: Outcome = "refused"
    body: At | None = None
    """A whole raw body for ``path`` instead of ``values`` (sent through that one route only)."""
    path: str = CALL
    visitor: bool = False
    """Sent to the app without a server key, whose form has the key field."""
    event: Literal["generate", "summary"] = "generate"
    """``summary``: the start URL box's summary event (private: the page calls it through ``queue/join``)."""
    handler: bool = False
    """Refused by the handler when it sends, not by the validator: ``queue/join`` queues it, then it fails."""
    sent: Callable[[dict[str, Any]], bool] | None = None
    shows: str = ""
    hides: tuple[str, ...] = ()
    known: str | None = None
    """A key of ``KNOWN_ISSUES``: a shortcoming this case shows, reported rather than hidden."""
    note: str = ""


def _corpus(kind: str) -> Callable[[Path], tuple[str, bytes]]:
    def make(folder: Path) -> tuple[str, bytes]:
        path = make_bad(folder, kind)
        return path.name, path.read_bytes()

    return make


@functools.cache
def _polyglot_bytes() -> bytes:
    """Made once per process: the noise in the picture differs from one drawing to the next."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.txt", "a ZIP archive after the JPEG's end marker\n")
    return encode(photo(640, 360, 12), "JPEG", quality=90) + archive.getvalue()


def _polyglot(folder: Path) -> tuple[str, bytes]:
    return "polyglot.jpg", _polyglot_bytes()


FILES: dict[str, Callable[[Path], tuple[str, bytes]]] = {
    "start": lambda _: ("start.png", encode(photo(640, 360, 11), "PNG")),
    "end": lambda _: ("end.jpg", encode(photo(640, 360, 12), "JPEG", quality=90)),
    "polyglot": _polyglot,
    "png-20000": lambda _: ("huge.png", one_bit_png(20_000, 20_000, rows=1)),
    "animated-webp": lambda _: ("anim.webp", animated_webp(3)),
    "tall": lambda _: ("tall.png", encode(photo(100, 500, 13), "PNG")),
    "wide-big": lambda _: ("wide.png", encode(photo(1400, 700, 14), "PNG")),
    "png-named-jpg": lambda _: ("really-a-png.jpg", encode(photo(640, 360, 15), "PNG")),
    **{kind: _corpus(kind) for kind in CORPUS},
}


def _file_data(path: str | None, url: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"path": path, "meta": {"_type": "gradio.FileData"}}
    if url is not None:
        value["url"] = url
    return value


def _big_data_url() -> str:
    prefix = "data:image/png;base64,iVBORw0KGgo"
    return prefix + "A" * (BIG - len(prefix))


def _history_db(h: Harness) -> str:
    return str(h.data_dir / "history.sqlite3")


_SCREENSHOT = str(Path(__file__).resolve().parents[2] / "docs" / "screenshot.png")
_NO_FIT = MappingProxyType({"auto_fit": False})


def _frames() -> Iterator[Case]:
    for role in ("start", "end"):
        for kind, what in CORPUS.items():
            yield Case(
                f"{role}-{kind}", f"{role} frame: {what}", "frames", f"{role}_image", {f"{role}_image": Upload(kind)}
            )
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "png-20000",
            "PNG whose header says 20000×20000, one row of data",
            "start_image",
            {"start_image": Upload("png-20000")},
        ),
        (
            "animated-webp",
            "animated WebP (3 frames), auto-fit off",
            "start_image",
            {"start_image": Upload("animated-webp"), **_NO_FIT},
        ),
        ("tall", "start frame 100×500 (1:5), auto-fit off", "start_image", {"start_image": Upload("tall"), **_NO_FIT}),
        (
            "pair",
            "end frame with 4× the start frame's pixels, auto-fit off",
            "end_image",
            {"end_image": Upload("wide-big"), **_NO_FIT},
        ),
        ("no-frames", "no frames at all", "start_image", {"start_image": None, "end_image": None}),
        ("no-end", "no end frame", "end_image", {"end_image": None}),
    ]
    for key, label, name, values in cases:
        yield Case(key, label, "frames", name, values)
    urls: list[tuple[str, str, Any]] = [
        ("server-path", "/etc/passwd (a path on the server)", "/etc/passwd"),
        ("server-image", "a PNG's path on the server (docs/screenshot.png)", _SCREENSHOT),
        ("server-db", "the history database's path", At(_history_db)),
        ("file-url", "file:///etc/passwd", "file:///etc/passwd"),
        ("js-url", "javascript:alert(1)", "javascript:alert(1)"),
        ("cred-url", "https://user:pw@… (credentials)", "https://user:pw@example.com/a.png"),
        ("long-url", "a 10,000-character URL", "https://example.com/" + "a" * 9_981),
        ("ftp-url", "ftp://…", "ftp://example.com/a.png"),
        ("space-url", "a URL with a space", "https://exa mple.com/a.png"),
        ("crlf-url", "a URL with CR LF and a header after it", "https://example.com/a.png\r\nX-Injected: 1"),
        ("data-url-60mb", "a 60 MB data: URL", At(lambda h: _big_data_url())),
    ]
    for key, label, url in urls:
        yield Case(f"url-{key}", f"URL box: {label}", "frames", "start_url", {"start_image": None, "start_url": url})

    def image(at: int, kind: str) -> Callable[[dict[str, Any]], bool]:
        return lambda body: str(body["images"][at]).startswith(f"data:image/{kind};base64,")

    def whole_polyglot(body: dict[str, Any]) -> bool:
        """The end image is the polyglot file byte for byte, its ZIP included (the log keeps the URI's length)."""
        size = len(_polyglot_bytes())
        length = len("data:image/jpeg;base64,") + 4 * ((size + 2) // 3)
        return image(1, "jpeg")(body) and str(body["images"][1]).endswith(f"({length} chars)")

    yield Case(
        "polyglot",
        "polyglot: a JPEG with a ZIP archive appended",
        "frames",
        None,
        {"end_image": Upload("polyglot")},
        "task",
        sent=whole_polyglot,
        note="accepted, as it should be: the picture decodes (decoders stop at its end marker); sent byte for byte",
    )
    yield Case(
        "animated-fit",
        "animated WebP, auto-fit on",
        "frames",
        None,
        {"start_image": Upload("animated-webp")},
        "task",
        note="accepted: auto-fit sends the first frame and says so",
    )
    yield Case(
        "png-named-jpg",
        "a PNG named .jpg",
        "frames",
        None,
        {"end_image": Upload("png-named-jpg")},
        "task",
        sent=image(1, "png"),
        note="accepted: judged from the bytes, sent as image/png",
    )


_URL_TRICKS: list[tuple[str, str, str]] = [
    ("file", "file:///etc/passwd", "file:///etc/passwd"),
    ("js", "javascript:alert(1)", "javascript:alert(1)"),
    ("cred", "https://user:secret@host/… (credentials)", "https://user:secret@example.com/hook"),
    ("10k", "10,000 characters", "https://example.com/" + "a" * 9_981),
    ("nohost", "https:///path (no host)", "https:///path"),
    ("crlf", "CR LF and a header after it", "https://example.com/a\r\nX-Injected: 1"),
]
_Q3 = MappingProxyType({"model": "viduq3-pro", "resolution": "720p"})
_VIDU2 = MappingProxyType({"model": "vidu2.0", "resolution": "720p"})


def _options() -> Iterator[Case]:
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("prompt-empty", "prompt: empty", "prompt", {"prompt": ""}),
        ("prompt-blank", "prompt: spaces and line breaks only", "prompt", {"prompt": "   \n\t "}),
        ("prompt-2001", "prompt: 2001 characters", "prompt", {"prompt": "x" * 2001}),
        ("prompt-nul", "prompt: a NUL character", "prompt", {"prompt": "a\x00b"}),
        ("prompt-ansi", "prompt: BEL and ESC (an ANSI colour)", "prompt", {"prompt": "a\x07b \x1b[31mred\x1b[0m"}),
        ("prompt-c1", "prompt: DEL and a C1 control (U+0085)", "prompt", {"prompt": "a\x7fb\x85c"}),
        ("prompt-number", "prompt: a number instead of text", "prompt", {"prompt": 12345}),
        ("prompt-list", "prompt: a JSON array", "prompt", {"prompt": ["a", "b"]}),
        ("seed-1e9-text", 'seed: "1e9"', "seed", {"seed": "1e9"}),
        ("seed-minus-1", "seed: -1", "seed", {"seed": -1}),
        ("seed-abc", 'seed: "abc"', "seed", {"seed": "abc"}),
        ("seed-2.5", "seed: 2.5", "seed", {"seed": 2.5}),
        ("seed-2^31", "seed: 2147483648", "seed", {"seed": 2_147_483_648}),
        ("seed-1e10", "seed: 1e10 (a JSON number)", "seed", {"seed": 1e10}),
        ("seed-true", "seed: true", "seed", {"seed": True}),
        ("duration-8-q1", "duration 8 on viduq1 (only 5)", "duration", {"duration": 8}),
        ("duration-0", "duration 0", "duration", {"duration": 0}),
        ("duration-17-q3", "duration 17 on viduq3-pro (1–16)", "duration", {**_Q3, "duration": 17}),
        (
            "duration-9-q2pro",
            "duration 9 on viduq2-pro (1–8)",
            "duration",
            {**_Q3, "model": "viduq2-pro", "duration": 9},
        ),
        ("duration-6-vidu2", "duration 6 on vidu2.0 (4 or 8)", "duration", {**_VIDU2, "duration": 6}),
        ("duration-5.5", "duration 5.5", "duration", {"duration": 5.5}),
        ("duration-text", 'duration "five"', "duration", {"duration": "five"}),
        ("res-720-q1", "resolution 720p on viduq1 (only 1080p)", "resolution", {"resolution": "720p"}),
        (
            "res-1080-vidu2-8",
            "resolution 1080p on vidu2.0 at 8 s (only 720p)",
            "resolution",
            {**_VIDU2, "duration": 8, "resolution": "1080p"},
        ),
        ("res-360-q3", "resolution 360p on viduq3-pro", "resolution", {**_Q3, "duration": 5, "resolution": "360p"}),
        (
            "res-540-q2fast",
            "resolution 540p on viduq2-pro-fast",
            "resolution",
            {"model": "viduq2-pro-fast", "resolution": "540p"},
        ),
        ("res-4k", "resolution 4k", "resolution", {"resolution": "4k"}),
        ("model-unknown", 'model "sora"', "model", {"model": "sora"}),
        ("model-empty", "model: empty", "model", {"model": ""}),
        ("model-list", "model: a JSON array", "model", {"model": ["viduq1"]}),
        ("amplitude-huge", 'movement amplitude "huge"', "movement_amplitude", {"movement_amplitude": "huge"}),
        ("is-rec-maybe", 'is_rec: "maybe"', "is_rec", {"is_rec": "maybe"}),
        ("off-peak-2", "off_peak: 2", "off_peak", {"off_peak": 2}),
        ("watermark-list", "watermark: a JSON array", "watermark", {"watermark": [True]}),
        ("wm-position-5", "watermark position 5", "wm_position", {"watermark": True, "wm_position": 5}),
        ("wm-position-0", "watermark position 0", "wm_position", {"watermark": True, "wm_position": 0}),
        ("wm-position-text", 'watermark position "top"', "wm_position", {"watermark": True, "wm_position": "top"}),
        ("meta-array", "meta_data: a JSON array", "meta_data", {"meta_data": "[1, 2, 3]"}),
        ("meta-invalid", "meta_data: invalid JSON", "meta_data", {"meta_data": "{Label: x"}),
        ("meta-string", 'meta_data: a JSON string ("x")', "meta_data", {"meta_data": '"x"'}),
        ("meta-number", "meta_data: a number (not text)", "meta_data", {"meta_data": 5}),
        ("payload-object", "payload: a JSON object instead of text", "payload", {"payload": {"x": 1}}),
        ("payload-1mb", "payload: 1,048,577 characters", "payload", {"payload": "p" * 1_048_577}),
    ]
    for name, short, extra in (("wm_url", "watermark URL", {"watermark": True}), ("callback_url", "callback URL", {})):
        for key, label, url in _URL_TRICKS:
            cases.append((f"{name}-{key}", f"{short}: {label}", name, {**extra, name: url}))
    for key, label, name, values in cases:
        yield Case(key, label, "options", name, values)
    rtl = "מצלמה נעה לאט\nالكاميرا تتحرك ببطء"
    valid: list[tuple[str, str, dict[str, Any], Callable[[dict[str, Any]], bool], str]] = [
        (
            "prompt-rtl",
            "prompt: Hebrew and Arabic (right to left)",
            {"prompt": rtl},
            lambda b: b["prompt"] == rtl,
            "accepted: valid text, sent as typed",
        ),
        (
            "prompt-2000",
            "prompt: exactly 2000 characters",
            {"prompt": "y" * 2000},
            lambda b: len(b["prompt"]) == 2000,
            "accepted: the limit itself",
        ),
        (
            "seed-1e9-number",
            "seed: 1e9 (a JSON number)",
            {"seed": 1e9},
            lambda b: b["seed"] == 10**9,
            "accepted: the whole number 1,000,000,000",
        ),
        (
            "is-rec-text",
            'is_rec: "false" (as text)',
            {"is_rec": "false"},
            lambda b: "is_rec" not in b,
            "accepted as false: not sent",
        ),
        (
            "amplitude-q2",
            "movement amplitude large on viduq2",
            {"model": "viduq2", "resolution": "720p", "movement_amplitude": "large"},
            lambda b: "movement_amplitude" not in b,
            "accepted, left out: the control is hidden for viduq2, as on the page",
        ),
    ]
    for key, label, values, sent, note in valid:
        yield Case(key, label, "options", None, values, "task", sent=sent, note=note)


def _raw_cases() -> Iterator[Case]:
    gradio = "gradio-refusal"
    images: list[tuple[str, str, Any, str | None]] = [
        ("filedata-passwd", "FileData pointing at /etc/passwd", _file_data("/etc/passwd"), gradio),
        ("filedata-db", "FileData pointing at the history database", At(lambda h: _file_data(_history_db(h))), gradio),
        ("filedata-dotdot", "FileData ../../../../etc/passwd", _file_data("../../../../etc/passwd"), gradio),
        (
            "filedata-walk",
            "FileData: an upload's path + /../../../../etc/passwd",
            At(lambda h: _file_data(h.uploaded("start") + "/../../../../etc/passwd")),
            gradio,
        ),
        ("filedata-file-url", "FileData with url file:///etc/passwd", _file_data("x", "file:///etc/passwd"), gradio),
        (
            "filedata-metadata",
            "FileData whose path is http://169.254.169.254/… (cloud metadata)",
            _file_data("http://169.254.169.254/latest/meta-data/"),
            gradio,
        ),
        (
            "filedata-loopback",
            "FileData whose path is the simulator's loopback URL",
            At(lambda h: _file_data(h.sim.base_url + "/_sim/requests")),
            gradio,
        ),
        (
            "filedata-url-only",
            "FileData with only a url (cloud metadata), no path",
            _file_data(None, "http://169.254.169.254/latest/meta-data/"),
            None,
        ),
        (
            "filedata-data-url",
            "FileData whose url is a 60 MB data: URL",
            At(lambda h: _file_data(None, _big_data_url())),
            None,
        ),
        ("image-string", "a plain string, /etc/passwd", "/etc/passwd", gradio),
        ("image-data-url", "a 60 MB data: URL string", At(lambda h: _big_data_url()), None),  # the body cap: 413
    ]
    for key, label, value, known in images:
        yield Case(key, f"start image as {label}", "raw API", "start_image", {"start_image": value}, known=known)
    bodies: list[tuple[str, str, str, Callable[[Harness], bytes], str, str | None]] = [
        ("arity-short", "3 values instead of 21", "data", lambda h: h.body(h.values()[:3]), CALL, gradio),
        ("arity-long", "24 values instead of 21", "data", lambda h: h.body([*h.values(), 1, 2, 3]), CALL, gradio),
        ("not-json", "a body that is not JSON", "body", lambda h: b'{"data": [', CALL, None),
        ("data-string", '"data" is a string', "data", lambda h: b'{"data": "x"}', CALL, None),
        ("body-array", "the body is a JSON array", "body", lambda h: b"[1, 2]", CALL, None),
        ("no-data", 'no "data" at all', "data", lambda h: b"{}", CALL, None),
        (
            "unknown-endpoint",
            "an endpoint that does not exist (/call/nope)",
            "nope",
            lambda h: h.body(h.values()),
            "/gradio_api/call/nope",
            None,
        ),
        (
            "join-no-session",
            "queue/join without a session hash",
            "session hash",
            lambda h: h.body(h.values(full=True), fn_index=h.fn_index),
            JOIN,
            None,
        ),
    ]
    for key, label, name, make, path, known in bodies:
        yield Case(key, label, "raw API", name, body=At(make), path=path, known=known)
    keys: list[tuple[str, str, Any, bool]] = [
        ("key-empty", "visitor key: empty", "", False),
        ("key-number", "visitor key: a number", 12345, False),
        ("key-crlf", "visitor key with CR LF and a header after it", "sk-abc\r\nX-Injected: 1", True),
        ("key-unicode", "visitor key with non-ASCII letters", "ключ-доступа", True),
    ]
    for key, label, value, handler in keys:
        yield Case(key, label, "raw API", "api_key", {"api_key": value}, visitor=True, handler=handler)
    # The URL box's summary (a private event the page calls as you type) must not describe a file of the server.
    hides = ("text file", "not found", "PNG ·", "cannot be read", "SQLite")
    summaries: list[tuple[str, str, Any]] = [
        ("summary-passwd", "URL box summary (private event): /etc/passwd", "/etc/passwd"),
        ("summary-image", "URL box summary (private event): a PNG's path on the server", _SCREENSHOT),
        ("summary-missing", "URL box summary (private event): a path that does not exist", "/nonexistent/x.png"),
        ("summary-db", "URL box summary (private event): the history database", At(_history_db)),
    ]
    for key, label, url in summaries:
        yield Case(
            key,
            label,
            "raw API",
            None,
            {"start_url": url},
            "shown",
            event="summary",
            shows="not an http:// or https:// URL",
            hides=hides,
        )


def _final() -> Iterator[Case]:
    yield Case("valid-after", "a valid request after all of the above (server key)", "options", None, outcome="task")
    yield Case("valid-after-visitor", "the same with a visitor's key", "options", None, outcome="task", visitor=True)


CASES: tuple[Case, ...] = (*_frames(), *_options(), *_raw_cases(), *_final())
CASES_BY_KEY = {case.key: case for case in CASES}
assert len(CASES_BY_KEY) == len(CASES), "case keys must be unique"


# --- running a case ---------------------------------------------------------------------------------------------

_TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+')


@dataclass
class Answer:
    """What one route answered: the status, the message a client reads, and the inputs it was attached to."""

    status: int
    message: str
    names: frozenset[str] = frozenset()
    """Inputs the validator marked invalid (Gradio's ``parameter_name``s)."""
    task_id: str | None = None
    error: bool = False
    """The event stream ended in an error."""
    text: str = ""
    """Everything the client received, for the traceback check."""
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        return 400 <= self.status < 500 or (self.status == 200 and self.error)


@dataclass
class Result:
    case: Case
    call: Answer
    join: Answer | None
    """The same values through ``/gradio_api/queue/join`` (and ``/gradio_api/queue/data``)."""
    creates: int
    """Creates the simulator received during the case."""
    sent: dict[str, Any] | None
    """The last create's body as the simulator logged it (images cut short), for ``task`` cases."""
    healthz: int

    @property
    def answers(self) -> list[Answer]:
        return [self.call] + ([self.join] if self.join is not None else [])

    def names(self, answer: Answer) -> bool:
        wanted = self.case.field
        if wanted is None:
            return True
        if answer.status == 413:  # the body cap refused it before anything was parsed: no field to name
            return True
        spelled = re.escape(wanted).replace("_", "[_ ]")
        return wanted in answer.names or re.search(rf"\b{spelled}\b", answer.message, re.IGNORECASE) is not None

    @property
    def named(self) -> bool:
        return all(self.names(answer) for answer in self.answers)

    @property
    def traceback(self) -> bool:
        return any(_TRACEBACK.search(answer.text) for answer in self.answers)

    @property
    def seconds(self) -> float:
        return max(answer.seconds for answer in self.answers)


def violations(result: Result) -> list[str]:
    """What ``result`` breaks. A refusal: refused on every route, naming its field, nothing sent. A valid input:
    exactly one task, with the body ``sent`` expects. A shown text: what it must show and nothing it must hide.
    Always: ``/healthz`` answers 200 afterwards and no traceback reaches the client. Time is recorded, not judged."""
    case, out = result.case, []
    if case.outcome == "task":
        if result.call.task_id is None:
            out.append(f"not accepted (HTTP {result.call.status}): {result.call.message}")
        if result.creates != 1:
            out.append(f"{result.creates} creates reached the simulator, not 1")
        elif case.sent is not None and (result.sent is None or not case.sent(result.sent)):
            out.append("the body sent is not the one expected")
    elif case.outcome == "shown":
        for answer in result.answers:
            if case.shows not in answer.message:
                out.append(f"does not say {case.shows!r}")
            out += [f"shows {word!r}" for word in case.hides if word in answer.message]
        if result.creates:
            out.append(f"{result.creates} create(s) reached the simulator")
    else:
        for route, answer in zip(("/call", "queue/join"), result.answers, strict=False):
            if not answer.refused:
                out.append(
                    f"{route}: not refused (HTTP {answer.status}{', task ' + answer.task_id if answer.task_id else ''})"
                )
            elif not result.names(answer):
                out.append(f"{route}: the message does not name {case.field}")
        if result.creates:
            out.append(f"{result.creates} create(s) reached the simulator")
    if result.healthz != 200:
        out.append(f"/healthz answered {result.healthz}")
    if result.traceback:
        out.append("a traceback reached the client")
    return out


@dataclass
class Target:
    """One launched app and what calling its events takes."""

    url: str
    page: StudioBlocks
    params: list[str]
    """The generate API's parameter names, in order (``/gradio_api/info``)."""
    states: list[bool]
    """For each input of the generate event: whether it is a ``gr.State`` (sent as null through queue/join)."""
    fn_index: int
    summary_fn: int
    """The start URL box's summary event (private)."""


class Harness:
    """The app with a server key and the app without one, on one in-process simulator whose tasks never finish
    (accepted cases cost no video encoding). Use as a context manager."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data_dir = folder / "data"
        self.sim = Simulator(api_key=KEY, queue_seconds=3600, process_seconds=1)
        self.http = httpx.Client(timeout=60)
        self.server: Target | None = None
        self.visitor: Target | None = None
        self._uploads: dict[str, str] = {}
        self._pages = contextlib.ExitStack()

    def __enter__(self) -> Harness:
        self.sim.start()
        try:
            base = Settings.build(data_dir=self.data_dir)
            self.server = self._target(lambda _: app.build_app(app.demo_settings(base, self.sim, KEY), demo=True))
            visitor = Settings.build(base_url=self.sim.base_url, data_dir=self.folder / "visitor")
            self.visitor = self._target(lambda _: app.build_app(visitor))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._pages.close()
        self.http.close()
        self.sim.stop()

    def _target(self, build: Callable[[int], StudioBlocks]) -> Target:
        page, url = self._pages.enter_context(launched(build))
        url = url.rstrip("/")
        info = self.http.get(f"{url}/gradio_api/info").json()
        params = [p["parameter_name"] for p in info["named_endpoints"]["/generate"]["parameters"]]
        config = self.http.get(f"{url}/config").json()
        kinds = {c["id"]: c["type"] for c in config["components"]}
        by_elem = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
        generate = next(d for d in config["dependencies"] if d.get("api_name") == "generate")
        summary = next(
            d
            for d in config["dependencies"]
            if d["outputs"] == [by_elem["vu-start-summary"]] and d["targets"][0][0] == by_elem["vu-start-url"]
        )
        states = [kinds[i] == "state" for i in generate["inputs"]]
        return Target(url, page, params, states, generate["id"], summary["id"])

    # -- values ------------------------------------------------------------------------------------------------

    def uploaded(self, kind: str) -> str:
        """The server path of ``FILES[kind]`` uploaded through ``/gradio_api/upload`` (once per kind)."""
        if kind not in self._uploads:
            name, data = FILES[kind](self.folder)
            target = self.server or _missing()
            answer = self.http.post(f"{target.url}/gradio_api/upload", files=[("files", (name, data))])
            answer.raise_for_status()
            path: str = answer.json()[0]
            deadline = time.monotonic() + 30  # Gradio moves the upload into place just after it answers
            while time.monotonic() < deadline and not (Path(path).is_file() and Path(path).stat().st_size == len(data)):
                time.sleep(0.01)
            self._uploads[kind] = path
        return self._uploads[kind]

    def values(
        self, changes: Mapping[str, Any] | None = None, *, visitor: bool = False, full: bool = False
    ) -> list[Any]:
        """The generate call's data: valid values with ``changes``; ``full`` adds the State inputs (queue/join)."""
        target = (self.visitor if visitor else self.server) or _missing()
        named = arguments(self.uploaded("start"), self.uploaded("end"))
        if visitor:
            named["api_key"] = KEY
        for name, value in (changes or {}).items():
            named[name] = self._resolve(value)
        data = [named[name] for name in target.params]
        if not full:
            return data
        given = iter(data)
        return [None if state else next(given) for state in target.states]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Upload):
            return _file_data(self.uploaded(value.kind))
        if isinstance(value, At):
            return value.make(self)
        return value

    @property
    def fn_index(self) -> int:
        return (self.server or _missing()).fn_index

    @staticmethod
    def body(data: list[Any], **extra: Any) -> bytes:
        return json.dumps({"data": data, **extra}).encode()

    def creates(self) -> list[dict[str, Any]]:
        return [r.body for r in self.sim.log.snapshot() if r.call == "create"]

    # -- running -----------------------------------------------------------------------------------------------

    def run(self, case: Case) -> Result:
        target = (self.visitor if case.visitor else self.server) or _missing()
        before = len(self.creates())
        join = None
        if case.event == "summary":
            data = [None, self._resolve(case.values["start_url"])]
            call = self._join(target, self.body(data, fn_index=target.summary_fn, session_hash=secrets.token_hex(8)))
        elif case.body is not None:
            call = self._send(target, case.path, case.body.make(self))
        else:
            call = self._send(target, CALL, self.body(self.values(case.values, visitor=case.visitor)))
            if case.outcome != "task":  # a valid input would make a second task
                full = self.values(case.values, visitor=case.visitor, full=True)
                join = self._join(target, self.body(full, fn_index=target.fn_index, session_hash=secrets.token_hex(8)))
        creates = self.creates()[before:]
        return Result(case, call, join, len(creates), creates[-1] if creates else None, self._healthz(target))

    def _healthz(self, target: Target) -> int:
        """``/healthz``'s status; a kept-alive connection the server dropped after an error is retried once."""
        try:
            return self.http.get(f"{target.url}/healthz").status_code
        except httpx.TransportError:
            return self.http.get(f"{target.url}/healthz").status_code

    def _send(self, target: Target, path: str, body: bytes) -> Answer:
        if path == JOIN:
            return self._join(target, body)
        started = time.perf_counter()
        answer = self.http.post(target.url + path, content=body, headers={"Content-Type": "application/json"})
        if answer.status_code == 200:
            stream = self.http.get(f"{target.url}{path}/{answer.json()['event_id']}")
            result = _from_call_stream(stream.text)
            result.text = answer.text + stream.text
        else:
            result = _from_refusal(answer)
        result.seconds = time.perf_counter() - started
        return result

    def _join(self, target: Target, body: bytes) -> Answer:
        """``queue/join``, then the session's ``queue/data`` stream up to that event's end."""
        started = time.perf_counter()
        answer = self.http.post(target.url + JOIN, content=body, headers={"Content-Type": "application/json"})
        if answer.status_code != 200:
            result = _from_refusal(answer)
        else:
            event_id = answer.json()["event_id"]
            session = json.loads(body)["session_hash"]
            with self.http.stream("GET", f"{target.url}/gradio_api/queue/data", params={"session_hash": session}) as s:
                lines = []
                for line in s.iter_lines():
                    lines.append(line)
                    message = json.loads(line[6:]) if line.startswith("data: ") else {}
                    if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                        break
            result = _from_join_stream(message)
            result.text = answer.text + "\n".join(lines)
        result.seconds = time.perf_counter() - started
        return result


def _missing() -> Any:
    raise RuntimeError("the harness is not started: use it as a context manager")


def _from_refusal(answer: httpx.Response) -> Answer:
    try:
        detail = answer.json().get("detail", answer.text)
    except (ValueError, AttributeError):
        detail = answer.text
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and "is_valid" in d for d in detail):
        invalid = [d for d in detail if not d["is_valid"]]
        message = " / ".join(str(d["message"]) for d in invalid)
        return Answer(
            answer.status_code, message, frozenset(str(d["parameter_name"]) for d in invalid), text=answer.text
        )
    if isinstance(detail, list):  # FastAPI's own: where in the body, and what
        message = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', '')}" for d in detail)
        return Answer(answer.status_code, message, text=answer.text)
    return Answer(answer.status_code, str(detail), text=answer.text)


def _error_text(payload: Any) -> str:
    if isinstance(payload, dict) and payload.get("error"):
        title = payload.get("title")
        return f"{title}: {payload['error']}" if title else str(payload["error"])
    return "Error (Gradio's generic message: the handler failed)"


def _outputs(data: Any) -> Answer:
    if isinstance(data, list) and data and isinstance(data[0], str) and data[0].isdigit():
        return Answer(200, f"task {data[0]}", task_id=data[0])
    shown = data[0] if isinstance(data, list) and len(data) == 1 else data
    return Answer(200, str(shown))


def _from_call_stream(text: str) -> Answer:
    """The last event of a ``/gradio_api/call`` stream: ``complete`` (the outputs) or ``error``."""
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", text, flags=re.MULTILINE)
    if not events:
        return Answer(200, f"no event in the stream: {text[:200]}")
    kind, data = events[-1]
    payload = json.loads(data) if data else None
    if kind == "error":
        return Answer(200, _error_text(payload), error=True)
    return _outputs(payload)


def _from_join_stream(message: dict[str, Any]) -> Answer:
    output = message.get("output") or {}
    if not message.get("success"):
        return Answer(200, _error_text(output), error=True)
    return _outputs(output.get("data"))


# --- the document -----------------------------------------------------------------------------------------------

_PORT = re.compile(r"127\.0\.0\.1:\d+")
_TMP = re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s'\"]+")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _short(text: str, limit: int = 150) -> str:
    text = _ADDRESS.sub("", _TMP.sub("<temp>/…", _PORT.sub("127.0.0.1:PORT", text)))
    text = re.sub(r"\b\d{15,20}\b", "<task id>", " ".join(text.split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _row(number: int, result: Result) -> str:
    case, call = result.case, result.call
    statuses = " / ".join(str(a.status) + (" err" if a.error else "") for a in result.answers)
    problems = violations(result)
    verdict = "✓" if not problems else ("known: " if case.known else "✗ ") + "; ".join(problems)
    shown = f"{call.message}. {case.note}" if case.note else call.message
    sent = "yes" if result.creates else "no"
    return (
        f"| {number} | {_short(case.label, 90)} | {case.where} | {statuses} | {_short(shown)} | {sent} "
        f"| {result.healthz} | {result.seconds * 1000:.0f} | {_short(verdict, 120)} |"
    )


def render(results: list[Result]) -> str:
    refused = [r for r in results if r.case.outcome == "refused"]
    tasks = [r for r in results if r.case.outcome == "task"]
    shown = [r for r in results if r.case.outcome == "shown"]
    slowest = max(results, key=lambda r: r.seconds)
    where = {w: sum(1 for r in results if r.case.where == w) for w in ("frames", "options", "raw API")}
    broken = [(r, v) for r in results if (v := violations(r)) and not r.case.known]
    named = [r for r in refused if r.named]
    times = sorted(r.seconds for r in results)
    out = [
        "## Hostile input",
        "",
        f"{len(results)} inputs thrown at the launched app by `tests/test_hostile.py` ({where['frames']} frames, "
        f"{where['options']} options, {where['raw API']} raw API); the corpus is defined once in "
        "`tests/support/hostile.py`, and each case is a test asserting these checks. Each input is sent as any "
        "HTTP client could, bypassing the page: `POST /gradio_api/call/generate` with its event stream, and "
        "`POST /gradio_api/queue/join` with "
        "the session's `/gradio_api/queue/data` stream (the page's own route); valid inputs go through the first "
        "only. Frames are uploaded first through `/gradio_api/upload`, as the page does; options ride on two valid "
        "uploaded frames (viduq1, 5 s, 1080p). Two apps run on one in-process simulator: one with a server key, one "
        "where each visitor enters a key (the `api_key` rows).",
        "",
        f"- **Refused**: {len(refused)}. A create reached the simulator for "
        f"{sum(1 for r in refused if r.creates)} of them. The message names the field for {len(named)}; the other "
        f"{len(refused) - len(named)} are Gradio's own refusals (known issues, below).",
        f"- **Valid, accepted**: {len(tasks)}, each making exactly one task "
        f"({sum(1 for r in tasks if r.creates == 1)} did) with the body expected; the last two are valid requests "
        "after everything above. **Private event**: the URL box's summary, called directly, describes no file of "
        f"the server ({sum(1 for r in shown if not violations(r))} of {len(shown)}).",
        f"- **Process**: `/healthz` answered 200 after {sum(1 for r in results if r.healthz == 200)} of "
        f"{len(results)} cases; a traceback reached the client in {sum(1 for r in results if r.traceback)}.",
        f"- **Time** to the final answer (the slower route): median {times[len(times) // 2] * 1000:.0f} ms, max "
        f"{slowest.seconds * 1000:.0f} ms ({_short(slowest.case.label, 80)}); "
        f"{sum(1 for r in results if r.seconds > SLOW)} over {SLOW:g} s.",
    ]
    if broken:
        out.append("- **Broken**: " + "; ".join(f"{r.case.key}: {', '.join(v)}" for r, v in broken))
    for key, text in KNOWN_ISSUES.items():
        count = sum(1 for r in results if r.case.known == key)
        if count:
            out.append(f"- **Known issue** ({count} case{'s' * (count != 1)}, marked *known*): {text}")
    out += [
        "",
        "*HTTP* is `/call` / `queue/join`: 422 is the page's validator (its message shown at the input it names); "
        "400, 404 and 500 Gradio's or FastAPI's own answers; 200 a call whose event stream carried the answer "
        "(*err*: an error message; else the outputs, e.g. the task id). *Sent*: whether a create reached the "
        "simulator. *Time*: ms to the final answer, the slower route.",
        "",
        "| # | Input | Where | HTTP | Message shown (shortened) | Sent | /healthz | Time (ms) | Verdict |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_row(n, r) for n, r in enumerate(results, start=1)),
    ]
    return "\n".join(out)
