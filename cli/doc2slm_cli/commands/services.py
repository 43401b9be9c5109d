"""`doc2slm services up`: the four gRPC services on 127.0.0.1:50051-50054, in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from doc2slm_common.config import ConfigError
from doc2slm_common.contracts import ALL_SERVICES
from doc2slm_common.local_services import LocalServices

SERVICE_NAMES = [contract.short_name for contract in ALL_SERVICES]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("services", help="run the gRPC services locally")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the four services in the foreground; SIGTERM or Ctrl-C stops all")
    up.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    up.add_argument("--port", action="append", default=[], metavar="NAME=PORT",
                    help="move one service off its contract port, e.g. qagen=60052 (repeatable)")
    up.add_argument("--log-dir", type=Path, default=None,
                    help="write each service's log to DIR/NAME.log (default: print its lines prefixed by its name)")
    up.set_defaults(func=services_up)


def services_up(args: argparse.Namespace) -> int:
    try:
        ports = {name: int(port) for name, port in (item.split("=", 1) for item in args.port)}
    except ValueError:
        raise ConfigError("--port takes NAME=PORT, e.g. qagen=60052") from None
    width = max(len(name) for name in SERVICE_NAMES)
    lock = threading.Lock()

    def echo(name: str, line: str) -> None:
        # Like `docker compose up`: one stream, each line prefixed by the service it came from.
        with lock:
            sys.stdout.write(f"{name:<{width}} | {line}\n")
            sys.stdout.flush()

    services = LocalServices(host=args.host, log_dir=args.log_dir, ports=ports,
                             echo=None if args.log_dir else echo)
    # Stop on a signal from the waiting loop below, so the services drain and the exit code is 0.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        print("starting extraction, qagen, embedding, scoring ...", flush=True)
        for name, address in services.start().items():
            print(f"  {name:<11} {address}  SERVING" + (f"  log {args.log_dir / (name + '.log')}"
                                                       if args.log_dir else ""), flush=True)
        print("ready; Ctrl-C or SIGTERM stops all", flush=True)
        while not stop.wait(0.5):
            dead = services.exited()
            if dead:
                names = ", ".join(f"{s.name} (exit {s.process.returncode})" for s in dead)
                print(f"stopping: {names} exited", flush=True)
                return 1
        print("stopping ...", flush=True)
        return 0
    finally:
        services.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
