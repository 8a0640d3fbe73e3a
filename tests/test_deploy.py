"""``deploy/``: the nginx configuration passes ``nginx -t`` (Debian's nginx), and the compose file names every
setting the app reads (``settings.environment_names``), for every replica, behind the same upstreams."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from vidu_ui.settings import environment_names

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APP_ONLY = ("VIDU_UI_AUTH_FILE",)
"""Read by the launch (``vidu_ui/serve.py``: sign-in), not by ``Settings``."""


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def test_the_nginx_configuration_passes_nginx_t(tmp_path: Path) -> None:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (Debian's nginx-light)")
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    # The replicas' names resolve only inside compose's network: point them at this machine to check the rest.
    checked = re.sub(r"server app(\d):7860", r"server 127.0.0.1:786\1", text)
    checked = checked.replace("pid /tmp/nginx-vidu.pid;", f"pid {tmp_path}/nginx.pid;")
    assert checked.count("127.0.0.1:786") == 3
    conf = tmp_path / "nginx.conf"
    conf.write_text(checked)
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_the_compose_file_names_every_setting_for_every_replica() -> None:
    spec = compose()
    replicas = sorted(name for name in spec["services"] if re.fullmatch(r"app\d+", name))
    assert len(replicas) == 3
    for name in replicas:
        environment = spec["services"][name]["environment"]
        missing = [var for var in (*environment_names(), *APP_ONLY) if var not in environment]
        assert missing == [], f"{name} does not name {missing}"
        assert environment["VIDU_UI_DATABASE_URL"].startswith("postgresql://")
        assert environment["VIDU_UI_STORAGE_URL"].startswith("s3://")
        assert "AWS_ENDPOINT_URL" in environment
    upstreams = re.findall(r"server (app\d+):7860", (ROOT / "deploy" / "nginx.conf").read_text())
    assert sorted(upstreams) == replicas  # nginx sends to exactly the replicas compose runs
    assert "nginx.conf" in str(spec["services"]["nginx"]["volumes"])


def test_the_deployment_guide_names_its_files() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert "deploy/compose.yaml" in guide and "deploy/nginx.conf" in guide
    for setting in ("VIDU_UI_DATABASE_URL", "VIDU_UI_STORAGE_URL", "VIDU_UI_LEASE_SECONDS", "VIDU_UI_FOLLOWER"):
        assert setting in guide
