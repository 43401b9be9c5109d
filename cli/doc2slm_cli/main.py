"""The `doc2slm` command: one entry point, one module per subcommand under commands/.

The CLI only parses arguments, shows progress and calls library code or gRPC clients. A failed call
exits non-zero with `STATUS_NAME: reason` on one line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

from doc2slm_cli import commands
from doc2slm_cli.shutdown import Stopped, stop_on_signals


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command (a module under commands/ of the command's name), or, when argv names a
    command, of that one alone: registering `pipeline`, `run` and `serve` imports kfp and the serving stack,
    which took a second of CPU before `doc2slm extract` started on its first page."""
    parser = argparse.ArgumentParser(
        prog="doc2slm", description="Turn PDF documents into a domain-specific small language model.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = sorted(module_info.name for module_info in pkgutil.iter_modules(commands.__path__))
    named = list(argv or [])[:1]
    for name in named if named and named[0] in names else names:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def failure_line(error: Exception) -> tuple[str, int] | None:
    """The one line and exit status of a failed call (`STATUS_NAME: reason`, 1; a bad setting, 2), or None
    for a bug. Imported here, not at start: grpc and pydantic are a quarter of a second of CPU that
    `doc2slm extract` spends while its worker processes start."""
    import grpc
    from doc2slm_common.config import ConfigError
    from doc2slm_common.errors import DomainError

    if isinstance(error, grpc.RpcError):
        code = error.code()
        details = (error.details() or "").replace("\n", " ")
        return f"{code.name if code else 'UNKNOWN'}: {details}", 1
    if isinstance(error, DomainError):
        return f"{error.code_name}: {error.message}", 1
    if isinstance(error, ConfigError):
        return f"doc2slm: {error}", 2
    return None


def exit_now(code: int) -> NoReturn:
    """End this process without tearing down the interpreter: unloading grpc and pydantic took 30-60 ms
    after `doc2slm extract` had written its file (a tenth of a small run). Everything a command writes is
    closed by then; only the standard streams and logging handlers may hold buffered output."""
    import logging  # here: 10-20 ms of every command's start otherwise (the extraction library has it loaded)

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    # No model may come from a hub at run time unless the user opts in by setting these themselves.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    own_process = argv is None  # the command line of this process (the console script), not a caller's call
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    code = _run(args)
    # A command that has nothing left to release at exit says so (set_defaults(exit_at_once=True)).
    if own_process and getattr(args, "exit_at_once", False):
        exit_now(code)
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        with stop_on_signals():
            return int(args.func(args) or 0)
    except Exception as error:
        failure = failure_line(error)
        if failure is None:
            raise
        print(failure[0], file=sys.stderr)
        return failure[1]
    except Stopped as stopped:
        print(f"{stopped.status}: doc2slm {args.command} {stopped}", file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
