"""The console script: help, clear errors for missing Redis and an unreachable database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "replay", "rotate-keys"])
def test_help(command: str, tmp_path: Path) -> None:
    proc = _run(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert f"usage: tamagitto {command}" in proc.stdout


def test_worker_requires_redis(tmp_path: Path) -> None:
    proc = _run("worker", cwd=tmp_path)
    assert proc.returncode == 2
    assert "REDIS_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_database_is_named_without_password(tmp_path: Path) -> None:
    proc = _run(
        "migrate", env={"DATABASE_URL": "postgresql://bob:hunter22@127.0.0.1:1/tg"}, cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "cannot reach the database at postgresql+asyncpg://bob:***@127.0.0.1:1/tg" in proc.stderr
    assert "hunter22" not in proc.stderr and "Traceback" not in proc.stderr


def test_migrate_postgres(tmp_path: Path, fresh_pg_url: str) -> None:
    proc = _run("migrate", env={"DATABASE_URL": fresh_pg_url}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "is at head" in proc.stderr


def test_serve_refuses_many_workers_in_embedded_mode(tmp_path: Path) -> None:
    proc = _run("serve", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 2
    assert "REDIS_URL" in proc.stderr


def test_serve_many_workers_in_production(tmp_path: Path, pg_url: str, redis_db: int) -> None:
    """`serve --workers 2`: two processes answer on one port, and stop together."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": pg_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline, answers = time.monotonic() + 60, 0
        while time.monotonic() < deadline and answers < 20:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    answers += r.status == 200
            except OSError:
                time.sleep(0.2)
        assert answers == 20
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        assert len(children.stdout.split()) >= 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_building_the_parser_loads_no_heavy_package() -> None:
    """Every command (replay, --help) pays for what the parser imports: keep it light."""
    script = (
        "import sys; from app.cli.main import build_parser; build_parser(); "
        "print(','.join(m for m in ('sqlalchemy', 'google.genai', 'aiohttp', 'app.web.api') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_module_docstring_names_every_subcommand() -> None:
    """`app/cli/main.py`'s docstring lists the commands, so it must follow the parser."""
    import argparse

    from app.cli import main as cli_main
    from app.cli.main import build_parser

    actions = build_parser()._actions
    commands = next(a for a in actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) >= {"serve", "worker", "migrate", "init", "replay", "jobs"}
    for name in commands.choices:
        assert f"`{name}" in (cli_main.__doc__ or ""), name
