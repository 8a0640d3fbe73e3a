from __future__ import annotations

import pytest

from vidu_ui.settings import Settings, SettingsError


def test_defaults_use_kkiai_and_bearer() -> None:
    s = Settings.from_env({})
    assert s.base_url == "https://www.kkiai.com"
    assert s.auth_scheme == "Bearer"
    assert s.api_key is None
    assert s.paths.create == "/ent/v2/start-end2video"
    assert not s.demo


@pytest.mark.parametrize("host", ["https://api.vidu.cn", "https://api.vidu.com"])
def test_vidu_hosts_default_to_token(host: str) -> None:
    assert Settings.from_env({"VIDU_BASE_URL": host}).auth_scheme == "Token"


def test_scheme_and_paths_can_be_overridden() -> None:
    s = Settings.from_env(
        {
            "VIDU_BASE_URL": "https://api.vidu.com",
            "VIDU_AUTH_SCHEME": "Bearer",
            "VIDU_PATH_QUERY": "/v9/tasks/{task_id}",
            "VIDU_DEMO": "1",
            "VIDU_READ_TIMEOUT": "5",
        }
    )
    assert s.auth_scheme == "Bearer"
    assert s.paths.query == "/v9/tasks/{task_id}"
    assert s.paths.create == "/ent/v2/start-end2video"
    assert s.demo
    assert s.read_timeout == 5


def test_key_never_prints() -> None:
    s = Settings.from_env({"VIDU_API_KEY": "sk-CANARY-settings"})
    assert s.api_key is not None and s.api_key.get_secret_value() == "sk-CANARY-settings"
    assert "sk-CANARY" not in repr(s) + str(s) + s.model_dump_json()
    other = s.with_key("sk-CANARY-visitor")
    assert "sk-CANARY" not in repr(other)
    assert s.api_key.get_secret_value() == "sk-CANARY-settings"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"VIDU_AUTH_SCHEME": "Basic"}, "auth_scheme"),
        ({"VIDU_DEADLINE": "soon"}, "deadline"),
        ({"VIDU_READ_TIMEOUT": "-1"}, "read_timeout"),
        ({"VIDU_BASE_URL": "ftp://example.com"}, "base_url"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], field: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert [p.field for p in info.value.problems] == [field]


def test_a_bad_key_setting_does_not_echo_the_value() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.build(api_key=["sk-CANARY-list"])
    assert "sk-CANARY" not in str(info.value)
