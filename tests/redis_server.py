"""A private `redis-server` on a free loopback port, for tests and benches that kill Redis.

It runs with the persistence production uses (append-only file, fsync on every write), in its
own folder, so `kill()` (SIGKILL) then `start()` on the same port shows what a crash keeps.
Only this process is ever killed, never the machine's shared Redis.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

# What deploy/compose.yaml runs: every acknowledged write is on disk before Redis answers.
DURABLE_ARGS = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """Start, kill -9 and restart one redis-server; `url(db)` for clients."""

    def __init__(self, folder: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Run redis-server and wait until it answers PING (it replays its AOF first)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--protected-mode",
            "no",
            *(DURABLE_ARGS if self.durable else ("--appendonly", "no", "--save", "")),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ping():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no flush beyond what appendfsync already did."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """Kill it at the end of a test (its data folder belongs to the test)."""
        self.kill()
