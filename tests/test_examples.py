"""The example pairs in ``examples/``: small, valid for the service, and offered on the page."""

from __future__ import annotations

import json
from pathlib import Path

from vidu_ui.messages import EN, ZH
from vidu_ui.request import PROMPT_MAX, TaskOptions
from vidu_ui.settings import Settings
from vidu_ui.studio import build_studio
from vidu_ui.studio import examples as page_examples
from vidu_ui.submit import prepare

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 300_000
"""The examples' files together stay under 300 KB: they are committed and shipped in the package."""


def test_the_examples_are_a_few_small_pairs_with_prompts() -> None:
    where = page_examples.folder()
    assert where is not None and where.resolve() == (ROOT / "examples").resolve()
    pairs = page_examples.load()
    listed = json.loads((where / page_examples.MANIFEST).read_text(encoding="utf-8"))
    assert 2 <= len(pairs) == len(listed) <= 3
    assert sum(f.stat().st_size for f in where.iterdir()) < BUDGET
    for pair in pairs:
        assert pair.start != pair.end
        assert 0 < len(pair.prompt) <= PROMPT_MAX


def test_every_example_pair_passes_the_checks_as_it_is() -> None:
    for pair in page_examples.load():
        request = prepare(pair.start, pair.end, TaskOptions(model="viduq3-pro", prompt=pair.prompt))
        assert not request.changes
        assert request.body["prompt"] == pair.prompt


def test_a_missing_folder_offers_no_examples(tmp_path: Path) -> None:
    (tmp_path / page_examples.MANIFEST).write_text(
        json.dumps([{"name": "gone", "start": "a.jpg", "end": "b.jpg", "prompt": "p"}]), encoding="utf-8"
    )
    assert page_examples.load(tmp_path) == []


def test_the_page_offers_the_examples_outside_its_api(tmp_path: Path) -> None:
    page = build_studio(Settings.build(data_dir=tmp_path))
    config = page.get_config_file()
    datasets = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "vu-examples"]
    assert len(datasets) == 1
    samples = datasets[0]["props"]["samples"]
    assert len(samples) == len(page_examples.load())
    assert getattr(datasets[0]["props"]["label"], "key", None) == "examples"  # its title in the reader's language
    assert EN["examples"] != ZH["examples"]
    prompts = {row[2] for row in samples}
    assert prompts == {pair.prompt for pair in page_examples.load()}
    example_events = [d for d in config["dependencies"] if d.get("api_name") == "load_example"]
    assert example_events and all(d["api_visibility"] == "private" for d in example_events)
