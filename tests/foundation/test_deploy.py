"""Deploy files: the compose file validates with the Docker Compose client."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> list[str]:
    """`docker compose` (v2) where the plugin exists, else Debian's docker-compose."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, "no Docker Compose client: scripts/test installs Debian's docker-compose"
    return [legacy]


def test_compose_config_validates() -> None:
    proc = subprocess.run(
        [*_compose(), "-f", str(ROOT / "deploy/compose.yaml"), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for service in ("web:", "worker:", "db:", "redis:", "caddy:"):
        assert service in proc.stdout
    assert "postgres:15" in proc.stdout and "redis:7" in proc.stdout and "caddy:2" in proc.stdout


def test_caddyfile_routes_api_and_serves_site() -> None:
    text = (ROOT / "deploy/Caddyfile").read_text()
    assert "reverse_proxy web:8000" in text
    assert "handle /assets/*" in text and "file_server" in text


def test_only_caddy_is_a_trusted_proxy() -> None:
    compose = (ROOT / "deploy/compose.yaml").read_text()
    caddy_ip = compose.split("ipv4_address:", 1)[1].split()[0]
    assert f"TRUSTED_PROXIES: ${{TRUSTED_PROXIES:-{caddy_ip}}}" in compose
    # Caddy writes the header itself, so a client cannot prepend a forged hop.
    assert "header_up X-Forwarded-For {remote_host}" in (ROOT / "deploy/Caddyfile").read_text()
