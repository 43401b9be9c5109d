"""python -m doc2slm_serving: the predictor process (local `doc2slm serve` and the KServe image).

kserve parses sys.argv when `kserve.model_server` is imported; our flags are parsed first and the
argument list is cleared before kserve is imported, so its parser sees only its defaults.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from doc2slm_common.config import ConfigError, load_settings
from doc2slm_common.errors import DomainError

from doc2slm_serving.onnx_export import PRECISIONS
from doc2slm_serving.settings import ServingSettings


def add_serving_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags shared by `python -m doc2slm_serving` and `doc2slm serve`."""
    parser.add_argument("--base-model", help="bundled (default), a local directory, s3://... or a hub id")
    parser.add_argument("--adapter", action="append", metavar="NAME=PATH",
                        help="serve a LoRA adapter under NAME (repeatable; PATH may be s3://...)")
    parser.add_argument("--served-name", help="the base model's name in requests")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 in the image)")
    parser.add_argument("--http-port", type=int, help="HTTP port (default 8080)")
    parser.add_argument("--grpc-port", type=int, help="v2 gRPC port (default 8081)")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--max-batch-size", type=int, help="requests decoded together")
    parser.add_argument("--max-queue", type=int, help="waiting requests before 429")
    parser.add_argument("--torch-threads", type=int, help="engine CPU threads (0: default)")
    parser.add_argument("--engine", choices=["transformers", "onnx"],
                        help="generation engine: transformers (default, CPU or GPU) or onnx (fast CPU)")
    parser.add_argument("--onnx-precision", choices=PRECISIONS,
                        help="weights of the onnx engine's model (default int8)")
    parser.add_argument("--models-dir", help="KServe storage directory scanned for adapters")
    parser.add_argument("--max-body-bytes", type=int, help="largest request body (413 above; default 4 MiB)")
    parser.add_argument("--max-prompt-chars", type=int, help="prompt characters per request (400 above)")
    parser.add_argument("--max-tokens-limit", type=int, help="the most max_tokens a request may ask (400 above)")
    parser.add_argument("--request-timeout-s", type=float, help="seconds per request (408 after; default 300)")


def settings_from_args(args: argparse.Namespace) -> ServingSettings:
    return load_settings(
        ServingSettings, base_model=args.base_model, adapters=args.adapter or None,
        served_name=args.served_name, host=args.host, http_port=args.http_port, grpc_port=args.grpc_port,
        device=args.device, max_batch_size=args.max_batch_size, max_queue=args.max_queue,
        torch_threads=args.torch_threads, models_dir=args.models_dir, max_body_bytes=args.max_body_bytes,
        max_prompt_chars=args.max_prompt_chars, max_tokens_limit=args.max_tokens_limit,
        request_timeout_s=args.request_timeout_s, engine=args.engine, onnx_precision=args.onnx_precision)


def run(settings: ServingSettings) -> int:
    sys.argv = sys.argv[:1]
    from doc2slm_serving.server import prepare, serve

    try:
        prepared = prepare(settings)
    except DomainError as error:  # the CLI's convention: STATUS_NAME: one-line reason
        print(f"{error.code_name}: {error.message}", file=sys.stderr)
        return 1
    except ValueError as error:  # a refused adapter or adapter name
        print(f"INVALID_ARGUMENT: {error}", file=sys.stderr)
        return 1
    serve(prepared)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_serving", description=__doc__)
    add_serving_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = settings_from_args(args)
    except ConfigError as error:
        print(f"doc2slm serving: {error}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
