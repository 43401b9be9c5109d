"""`doc2slm serve [--adapter NAME=PATH ...] [--base-model ...] [--http-port 8080 --grpc-port 8081]`.

Runs the KServe predictor in the foreground: the base model and every adapter over the OpenAI API
(`http://HOST:8080/openai/v1`), KServe v1/v2 REST and v2 gRPC. SIGTERM or Ctrl-C stops it. Every
flag also has a DOC2SLM_* environment variable (DOC2SLM_ADAPTERS is comma-separated NAME=PATH).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any


def register(subparsers: Any) -> None:
    from doc2slm_serving.__main__ import add_serving_arguments

    parser = subparsers.add_parser("serve", help="serve the base model and LoRA adapters (OpenAI, KServe)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_serving_arguments(parser)
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from doc2slm_serving.__main__ import run, settings_from_args

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = settings_from_args(args)  # a ConfigError is printed by doc2slm's main
    print(f"doc2slm serve: loading {settings.base_model or 'the bundled base model'} "
          f"and {len(settings.adapters)} adapter(s); OpenAI API at "
          f"http://127.0.0.1:{settings.http_port}/openai/v1 once ready", flush=True)
    return run(settings)
