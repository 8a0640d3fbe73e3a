"""Notes on the rows, by case name: what limits a case and what was tried. Edited here, never in the document.

Each note is printed under the table of ``docs/benchmarks.md``; keep the before/after figures of a fix tried
in its text, so the next run of ``python -m bench`` shows whether it held. ``accepted`` marks a known miss:
CI (``--quick``) then fails the row only above 1.5× that quick-variant ratio instead of 1.5× the target, so it
still catches the row getting worse. Delete ``accepted`` once the fix lands.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    text: str
    accepted: float | None = None
    """For a known miss: the quick variant's ratio accepted until the fix lands."""


_DRAFT = (
    "decode JPEGs for the check with `image.draft(image.mode, (w // 8, h // 8))` before `load()` (libjpeg's "
    "DCT scaling still reads every byte of the entropy-coded data, so a truncated file fails exactly as before) "
    "and keep no picture on the `Frame`; `picture()` decodes at full size only when auto-fit needs pixels"
)

NOTES: dict[str, Note] = {
    "frame checks": Note(
        "Met: the checks cost one full decode of each file, as the floor does. With the draft decode proposed "
        "under *submit* (tried on a scratch copy) this row went 0.248 s → 0.132 s, 0.53× the floor."
    ),
    "submit": Note(
        "What limits it: `frames.load_frame` decodes both frames fully (`_decode` → `image.load()`, to catch "
        "truncated files) and the POST to a simulator on the same machine is fast, so the decode dominates: "
        "pyinstrument puts 0.45 s of 0.86 s (5 submits) in `ImagingDecoder.decode`, ≈45 ms per 12 MP frame, "
        "against ≈80 ms for the floor's whole submit. Over a real network the upload dominates and the ratio "
        f"tends to 1. Tried on a scratch copy: {_DRAFT}: 2.50× → 1.90× (same session), 44 → 31 ms per frame "
        "(Huffman decoding of these detailed frames is the floor of any decode). Proposed to reach 1.5×: check "
        "a JPEG's completeness by walking its markers to the EOI after the last scan (≈3 ms for a 7 MB file; "
        "libjpeg treats damaged entropy data as a warning anyway, so a decode finds nothing more), or at least "
        "decode the two frames in two threads (Pillow releases the GIL while decoding).",
        accepted=2.2,
    ),
    "concurrency": Note(
        "No queuing: every create was in flight at once (above). What limits it is CPU: on 2 cores the crowd's "
        "work — the simulator rendering a video per task, the 20 `gradio_client` users in this process, the app "
        "— takes longer than the 1 s the service waits; in production the users and the service are on other "
        "machines. The app's own share is mostly waste: py-spy puts 36% of the app's samples in "
        "`ssl.create_default_context` (`load_verify_locations`, ≈16 ms of CPU) because every `ViduClient` "
        "(`deadline.transport()` → `httpx.HTTPTransport()`), every tracker query (`default_client_factory`) and "
        "every `tracking.download` builds a new TLS context, even for http://; then the two frames decoded in "
        "full twice per Generate (validator, then Generate). Tried on a scratch copy: one context per process "
        "(`functools.cache`d `ssl.create_default_context(cafile=certifi.where())` passed as `verify=` to "
        "`httpx.HTTPTransport` and to `download`'s client): a client 16 ms → 0.05 ms of CPU, the app's CPU per "
        "crowd of 20 2.9 s → 1.2–1.5 s, the total 4.9 s → 4.6–4.7 s (the rest is the simulator and the "
        "clients). Also proposed: the draft decode under *submit*."
    ),
    "memory": Note(
        "What limits it: `load_frame` decodes each frame fully and keeps the picture on `Frame.image` "
        "(2 × 36 MB for 12 MP), in the validator and again in Generate; then `prepare` holds the file bytes "
        "(14.6 MB), the body's data-URI strings (19.4 MB) and the JSON bytes (19.4 MB) at once, plus base64 "
        "temporaries: in-process, `prepare` of these frames peaks at +153 MB, `load_frame` alone at +106 MB. "
        f"Tried on a scratch copy: {_DRAFT}: `load_frame` +106 → +15 MB, `prepare` +153 → +71 MB, the app "
        "+199 → +95 MB (10.3× → 4.9× the body, same session). Proposed next: write the base64 straight into "
        "a preallocated buffer of the exact body size (its length is known before encoding) instead of "
        "str → f-string → dict → `orjson.dumps`, and keep shortened strings in `PreparedRequest.body` (for "
        "display and the history): `prepare` would hold ≈ file bytes + body ≈ 34 MB, near 3×.",
        accepted=10.0,
    ),
    "polling (defaults, no callbacks)": Note(
        "Cannot meet both with polling alone: with at most 15 s between queries (`VIDU_POLL_MAX_INTERVAL`), a "
        "300 s task needs at least 300 ÷ 15 = 20 queries; the defaults (2 s, ×1.5, up to 15 s) make 25 and "
        "notice the end 11.4 s late. Fewer queries mean longer waits, so a later notice: only the service's "
        "callback brings both.",
        accepted=1.67,
    ),
    "polling (defaults, with callbacks)": Note(
        "Callbacks make the notice immediate (one query per callback), but the tracker keeps polling every "
        "15 s, so the count stays at 25. Proposed: when the app has a callback URL (`VIDU_UI_PUBLIC_URL` set), "
        "follow its tasks with a maximum interval of 60 s (polling then only covers a lost callback): next "
        "row, 13 queries.",
        accepted=1.67,
    ),
}
