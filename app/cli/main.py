"""The `tamagitto` command and its subcommands.

`serve`, `worker` and `migrate` live here; `init`, `replay`, `rotate-keys`, `keys new` and
`jobs failed|retry` are registered by their own modules in `app/cli/` (`extra_commands`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence

from app.cli.common import EXIT_UNAVAILABLE, preflight, settings_or_exit
from app.core.config import Settings

log = logging.getLogger("tamagitto")

EXIT_USAGE = 2


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available: the webhook path is mostly event-loop overhead."""
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()


def _serve_one(settings: Settings, port: int, reuse_port: bool) -> None:
    """Run one web process until it is told to stop."""
    from aiohttp import web

    from app.core.logs import configure
    from app.entities.images import log_startup
    from app.web.factory import init_app

    configure(settings)
    log_startup(settings)
    app = init_app(settings)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    web.run_app(
        app,
        host=settings.host,
        port=port,
        reuse_port=reuse_port,
        print=None,
        loop=loop,
        access_log=None,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app (embedded mode also runs jobs and cron in-process)."""
    settings = settings_or_exit()
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    port = settings.port
    if args.workers > 1 and settings.embedded:
        print(
            "tamagitto: --workers > 1 needs REDIS_URL (embedded mode runs jobs in one process)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    preflight(settings)
    mode = "embedded (SQLite, in-process jobs)" if settings.embedded else "production"
    print(
        f"tamagitto: serving on http://{settings.host}:{port} in {mode} mode "
        f"with {args.workers} process(es); public URL {settings.public_url}",
        file=sys.stderr,
    )
    from app.web.setup_wizard import next_step

    print(next_step(settings), file=sys.stderr)
    if args.workers == 1:
        _serve_one(settings, port, False)
        return 0
    return _serve_many(settings, port, args.workers)


DRAIN_SECONDS = 15.0
PR_SET_PDEATHSIG = 1


def _serve_many(settings: Settings, port: int, workers: int) -> int:
    """Several processes on one port with SO_REUSEPORT: the kernel spreads connections evenly
    across them (a shared accept socket lets one busy process take most of them).

    SIGTERM or SIGINT drains every child (aiohttp finishes requests in flight) and exits; a
    child that dies takes the others down with it, so a supervisor sees one failure and
    restarts the whole; and a child never outlives this process, even after a `kill -9`.
    """
    ctx = multiprocessing.get_context("fork")
    parent = os.getpid()
    from app.web.webhook_proxy import for_process

    procs = [
        ctx.Process(
            target=_serve_child, args=(for_process(settings, i), port, parent), daemon=False
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    while not stopping and all(p.is_alive() for p in procs):
        multiprocessing.connection.wait([p.sentinel for p in procs], timeout=0.5)
    if not stopping:
        log.error("a web process exited; stopping the others")
    _drain(procs)
    if stopping:
        return 0
    return max((p.exitcode or 0) for p in procs) or EXIT_UNAVAILABLE


def _drain(procs: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM every child, wait up to DRAIN_SECONDS for them, then SIGKILL what is left."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + DRAIN_SECONDS
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            log.warning(
                "web process %s did not stop in %.0f s; killing it", proc.pid, DRAIN_SECONDS
            )
            proc.kill()
            proc.join(5)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGTERM this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(EXIT_UNAVAILABLE)


def _serve_child(settings: Settings, port: int, parent: int) -> None:
    """A forked web process: default signal handlers, tied to its parent's life."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL if sig == signal.SIGTERM else signal.default_int_handler)
    _die_with_parent(parent)
    _serve_one(settings, port, True)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the arq worker (production mode only)."""
    settings = settings_or_exit()
    if settings.redis_url is None:
        print(
            "tamagitto: the worker needs REDIS_URL; without it, `tamagitto serve` runs jobs "
            "itself (embedded mode)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    preflight(settings)
    from worker.settings import run_workers

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_workers(settings, burst=args.burst))
    finally:
        loop.close()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Run `alembic upgrade` to the given revision."""
    settings = settings_or_exit()
    preflight(settings)
    from app.core import db
    from app.core.db import redact_url

    db.upgrade(settings.database_url, args.revision)
    print(f"tamagitto: {redact_url(settings.database_url)} is at {args.revision}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """All subcommands with their help."""
    parser = argparse.ArgumentParser(
        prog="tamagitto",
        description="Tamagitto: a GitHub App that gives every repository a pet whose health "
        "follows the quality of its commits. Settings come from the environment and .env.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_serve_parser, add_worker_parser, add_migrate_parser, *extra_commands()):
        add(sub)
    return parser


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `serve [--port N] [--workers N]`."""
    serve = sub.add_parser(
        "serve",
        help="run the web app",
        description=(
            "Run the web app. Without REDIS_URL (embedded mode) it also runs jobs and cron "
            "in-process and migrates its SQLite database by itself."
        ),
    )
    serve.add_argument("--port", type=int, default=None, help="port (default: PORT or 3000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web processes sharing the port (production mode only)",
    )
    serve.set_defaults(func=cmd_serve)


def add_worker_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `worker [--burst]`."""
    work = sub.add_parser(
        "worker",
        help="run the arq job worker (needs REDIS_URL)",
        description="Run the arq worker: webhook processing, commit analysis, "
        "images and cron jobs. Requires REDIS_URL.",
    )
    work.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    work.set_defaults(func=cmd_worker)


def add_migrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `migrate [REVISION]`."""
    migrate = sub.add_parser(
        "migrate",
        help="upgrade the database schema",
        description="Run `alembic upgrade` on DATABASE_URL.",
    )
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    migrate.set_defaults(func=cmd_migrate)


def extra_commands() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """Subcommands contributed by the other modules of `app/cli/` (each adds its own parser)."""
    from app.cli.init import add_parser as init
    from app.cli.jobs import add_parser as jobs
    from app.cli.keys import add_parser as rotate_keys
    from app.cli.replay import add_replay_parser

    return [init, add_replay_parser, rotate_keys, jobs]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
