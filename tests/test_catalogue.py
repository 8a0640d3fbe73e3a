from __future__ import annotations

import pytest

from vidu_ui import catalogue
from vidu_ui.catalogue import MODELS, get_model, models_with


def test_every_contract_model_is_listed_once() -> None:
    names = [m.name for m in MODELS]
    assert len(names) == len(set(names))
    seed = {"viduq3-pro", "viduq3-turbo", "viduq2", "viduq1"}
    official = {"viduq2-pro", "viduq2-turbo", "viduq2-pro-fast", "viduq1-classic", "vidu2.0"}
    assert set(names) == seed | official
    assert names[:4] == ["viduq3-pro", "viduq3-turbo", "viduq2", "viduq1"]


@pytest.mark.parametrize(
    ("name", "durations", "default", "resolutions", "default_resolution"),
    [
        ("viduq3-pro", (1, 16), 5, ("540p", "720p", "1080p"), "720p"),
        ("viduq3-turbo", (1, 16), 5, ("540p", "720p", "1080p"), "720p"),
        ("viduq2-pro-fast", (1, 8), 5, ("720p", "1080p"), "720p"),
        ("viduq2-pro", (1, 8), 5, ("540p", "720p", "1080p"), "720p"),
        ("viduq2", (1, 10), 5, ("540p", "720p", "1080p"), "720p"),
        ("viduq1", (5, 5), 5, ("1080p",), "1080p"),
        ("viduq1-classic", (5, 5), 5, ("1080p",), "1080p"),
    ],
)
def test_contract_table(
    name: str, durations: tuple[int, int], default: int, resolutions: tuple[str, ...], default_resolution: str
) -> None:
    model = get_model(name)
    assert model is not None
    assert model.duration_range == durations
    assert model.default_duration == default
    for d in model.durations:
        assert model.resolutions_for(d) == resolutions
        assert model.default_resolution_for(d) == default_resolution


def test_vidu20_resolutions_depend_on_duration() -> None:
    model = get_model("vidu2.0")
    assert model is not None
    assert model.durations == (4, 8)
    assert model.describe_durations() == "4 or 8"
    assert model.resolutions_for(4) == ("360p", "720p", "1080p")
    assert model.default_resolution_for(4) == "360p"
    assert model.resolutions_for(8) == ("720p",)
    assert model.default_resolution_for(8) == "720p"
    assert model.resolutions_for(None) == model.resolutions_for(4)


def test_option_applicability() -> None:
    assert set(models_with("audio")) == {"viduq3-pro", "viduq3-turbo"}
    assert not set(models_with("bgm")) & {"viduq3-pro", "viduq3-turbo"}
    assert set(models_with("movement_amplitude")) == {"viduq1", "viduq1-classic", "vidu2.0"}


def test_estimates_match_the_public_figures() -> None:
    q1 = get_model("viduq1")
    assert q1 is not None
    assert q1.estimate_credits(5, "1080p") == 80  # the seed's example
    assert q1.estimate_credits(5, "1080p", is_rec=True) == 90
    assert get_model("viduq2") is not None and get_model("viduq2").estimate_credits(5, "720p") is None  # type: ignore[union-attr]


def test_unknown_model() -> None:
    assert get_model("sora") is None
    assert catalogue.DEFAULT_MODEL == "viduq3-pro"
