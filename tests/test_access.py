"""Who a request is: a visitor's key as the page or an API call sends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vidu_ui.settings import Settings
from vidu_ui.studio.access import Viewer


@pytest.mark.parametrize("api_key", [None, "", "   ", ["k"], {"k": 1}, 7, True])
def test_a_missing_or_non_text_key_is_no_key(tmp_path: Path, api_key: Any) -> None:
    viewer = Viewer.of(Settings.build(data_dir=tmp_path), None, api_key)
    assert viewer.user is None and not viewer.owner.can_query


def test_a_visitor_key_is_the_visitor_s_own(tmp_path: Path) -> None:
    viewer = Viewer.of(Settings.build(data_dir=tmp_path), None, "  visitor-key  ")
    assert viewer.user is not None and viewer.owner.can_query and "visitor-key" not in viewer.user
