"""`tamagitto replay PATH`: the parser and the command, for `app/cli/main.py` to wire in.

Exit codes: 0 on success, 2 when the path is not a git repository or the
branch does not exist, 130 when interrupted (Ctrl-C). `--json` prints the
document other tools build on; otherwise a readable timeline. A progress bar
goes to stderr only on a TTY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from app.analysis.commit import SourceError
from app.jobs.replay import format_timeline, replay

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
BAR_WIDTH = 30


def _positive(text: str) -> int:
    """argparse type for `--limit` and `--jobs`: a positive integer."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_replay_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `replay` subcommand to an `argparse` subparsers object."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a local git repository's history through the pet",
        description="Replay a repository's first-parent history, oldest first, through the "
        "same analysis and pet rules as production, using each commit's own date.",
    )
    parser.add_argument("path", help="a local git repository (work tree or bare)")
    parser.add_argument("--branch", help="branch to follow (default: the checked-out one)")
    parser.add_argument("--limit", type=_positive, metavar="N", help="only the last N commits")
    parser.add_argument("--since", metavar="DATE", help="only commits after DATE (git syntax)")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.add_argument(
        "--jobs", type=_positive, metavar="N",
        help="processes analysing commits side by side (default: one per core)",
    )  # fmt: skip
    parser.set_defaults(func=run_replay)


class ProgressBar:
    """A one-line progress bar on a terminal stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, done: int, total: int) -> None:
        """Redraw the bar for `done` of `total` commits."""
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{bar} {done}/{total} commits")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run_replay(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the replay described by parsed arguments; print the result; return the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    progress = ProgressBar(err) if err.isatty() else None
    try:
        doc = asyncio.run(
            replay(args.path, branch=args.branch, limit=args.limit, since=args.since,
                   progress=progress, jobs=args.jobs)
        )  # fmt: skip
    except SourceError as error:
        err.write(f"tamagitto replay: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("\ntamagitto replay: interrupted\n")
        return EXIT_INTERRUPTED
    text = json.dumps(doc, ensure_ascii=False) if args.json else format_timeline(doc)
    try:
        out.write(text + "\n")
        out.flush()
    except BrokenPipeError:  # `tamagitto replay … | head` closed the pipe: not an error
        pass
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m app.cli.replay PATH`)."""
    parser = argparse.ArgumentParser(prog="tamagitto")
    add_replay_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["replay", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
