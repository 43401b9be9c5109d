"""The `doc2slm` command: one entry point, one module per subcommand under commands/.

The CLI only parses arguments, shows progress and calls library code or gRPC clients. A failed call
exits non-zero with `STATUS_NAME: reason` on one line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

import grpc
from doc2slm_common.config import ConfigError
from doc2slm_common.errors import DomainError

from doc2slm_cli import commands
from doc2slm_cli.shutdown import Stopped, stop_on_signals


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doc2slm", description="Turn PDF documents into a domain-specific small language model.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # No model may come from a hub at run time unless the user opts in by setting these themselves.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            return int(args.func(args) or 0)
    except grpc.RpcError as error:
        code = error.code()
        details = (error.details() or "").replace("\n", " ")
        print(f"{code.name if code else 'UNKNOWN'}: {details}", file=sys.stderr)
        return 1
    except DomainError as error:
        print(f"{error.code_name}: {error.message}", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"doc2slm: {error}", file=sys.stderr)
        return 2
    except Stopped as stopped:
        print(f"{stopped.status}: doc2slm {args.command} {stopped}", file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
