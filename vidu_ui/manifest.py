"""A batch's files: the manifest read in (CSV with a header row, or JSON lines) and the manifest written out
(``manifest.json``/``manifest.csv`` beside the videos: each job's settings, task id, state, credits and file).

A manifest's columns are ``COLUMNS``: the two frames, then every option of the create call by its field name
(``request.FIELDS``), never a second list. ``start``, ``end`` and ``prompt`` are required; frame paths are relative
to the manifest's folder; an http(s) URL is kept as it is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .batch import JobSpec, JobStatus
from .errors import ViduError
from .messages import Lang, say
from .request import BY_NAME, NAMES, is_web_url

__all__ = [
    "COLUMNS",
    "MANIFEST_FIELDS",
    "REQUIRED",
    "ManifestError",
    "local_video",
    "manifest_csv",
    "manifest_json",
    "manifest_rows",
    "read_manifest",
    "video_name",
]

REQUIRED = ("start", "end", "prompt")
COLUMNS: tuple[str, ...] = ("start", "end", *NAMES)
"""A manifest's columns: the two frames, then every option of the create call (``request.FIELDS``)."""


# --- manifests --------------------------------------------------------------------------------------------------


class ManifestError(ViduError):
    """The manifest cannot be read as a batch: each problem names its line and column."""

    def __init__(self, problems: list[tuple[int, str, str, dict[str, Any]]]) -> None:
        self.problems = problems
        super().__init__("; ".join(self.lines("en")))

    def lines(self, lang: Lang = "en") -> list[str]:
        return [
            say(lang, "batch_manifest_at", line=line, column=column, problem=say(lang, key, **values))
            for line, column, key, values in self.problems
        ]


def _resolve(value: str, folder: Path) -> str:
    if is_web_url(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder / path)


def _rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line, values, a JSON error) for each row of a CSV (header first) or JSONL manifest."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield number, None, str(exc)
                continue
            yield (number, value, None) if isinstance(value, dict) else (number, None, "not a JSON object")
        return
    reader = csv.DictReader(io.StringIO(text), restkey="\0extra")
    yield 1, {name: "" for name in reader.fieldnames or []}, None
    for row in reader:
        yield reader.line_num, row, None


def read_manifest(path: Path) -> list[JobSpec]:
    """The jobs of a CSV (with a header row) or JSONL manifest. Columns: ``start``, ``end``, ``prompt`` required,
    any option of the create call by its field name; frame paths relative to the manifest's folder.
    Raises ``ManifestError`` naming the line and column of each problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError([(0, str(path), "batch_manifest_unreadable", {"error": str(exc)})]) from None
    folder = path.resolve().parent
    problems: list[tuple[int, str, str, dict[str, Any]]] = []
    specs: list[JobSpec] = []
    is_csv = path.suffix.lower() not in (".jsonl", ".ndjson", ".json")
    for number, row, error in _rows(path, text):
        if row is None:
            problems.append((number, "-", "batch_manifest_not_json", {"error": error}))
            continue
        if "\0extra" in row:
            problems.append((number, "-", "batch_manifest_extra_values", {}))
            continue
        unknown = [str(k) for k in row if k not in COLUMNS]
        for column in unknown:
            problems.append((number, column, "batch_manifest_unknown_column", {"columns": ", ".join(COLUMNS)}))
        if is_csv and number == 1:
            for column in REQUIRED:
                if column not in row:
                    problems.append((1, column, "batch_manifest_missing_column", {}))
            continue
        for column in REQUIRED:
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                problems.append((number, column, "batch_manifest_missing_value", {}))
        for column in ("start", "end"):
            if row.get(column) is not None and not isinstance(row.get(column), str):
                problems.append((number, column, "batch_manifest_not_text", {}))
        if problems and problems[-1][0] == number:
            continue
        options = {k: v for k, v in row.items() if k in BY_NAME and not (isinstance(v, str) and not v.strip())}
        specs.append(JobSpec(_resolve(row["start"], folder), _resolve(row["end"], folder), options, f"line {number}"))
    if not specs and not problems:
        problems.append((1, "-", "batch_manifest_empty", {}))
    if problems:
        raise ManifestError(problems)
    return specs


# --- results ----------------------------------------------------------------------------------------------------

MANIFEST_FIELDS = ("job", "key", "label", "start", "end", *NAMES, "task_id", "state", "err_code", "credits", "file")
"""The columns of a finished batch's manifest (``manifest.json``/``manifest.csv``): each job's settings by field
name, then its task id, state, credits and video file name."""


def video_name(status: JobStatus) -> str:
    """The file name of a job's video in an output folder or a zip: its position, then its task id."""
    return f"{status.position + 1:03d}-{status.task_id}.mp4"


def local_video(status: JobStatus, link: Callable[[str], str | None] | None = None) -> Path | str | None:
    """Where a job's saved video can be read: its file (directory storage), or a link to it (a bucket's presigned
    URL, through ``link``); None while it is not saved."""
    location = status.video_path
    if not location:
        return None
    if location.startswith("s3://"):
        return link(location) if link is not None else None
    path = Path(location)
    return path if path.is_file() else None


def manifest_rows(statuses: Iterable[JobStatus], files: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per job (``MANIFEST_FIELDS``); ``files`` names each job's video by key (absent: not saved)."""
    rows = []
    for status in statuses:
        row: dict[str, Any] = {
            "job": status.position + 1,
            "key": status.key,
            "label": status.label,
            "start": status.start,
            "end": status.end,
            **{name: status.options.get(name) for name in NAMES},
            "task_id": status.task_id,
            "state": status.hold if status.outcome == "held" else status.state,
            "err_code": status.err_code,
            "credits": status.credits,
            "file": (files or {}).get(status.key),
        }
        rows.append(row)
    return rows


def manifest_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def manifest_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2, default=str)
