"""`doc2slm pipeline compile|run-local|submit`: the Kubeflow pipeline as a file, here, or on a cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from doc2slm_pipelines.components.images import DEFAULT_REGISTRY, DEFAULT_TAG
    from doc2slm_pipelines.pipeline import COMPILED_PATH

    parser = subparsers.add_parser("pipeline", help="compile, run locally, or submit the Kubeflow pipeline")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    compile_ = actions.add_parser("compile", help="write the pipeline YAML (the committed one by default)")
    compile_.add_argument("--output", type=Path, default=COMPILED_PATH, help=f"default {COMPILED_PATH}")
    compile_.add_argument("--registry", default=DEFAULT_REGISTRY, help=f"image registry (default {DEFAULT_REGISTRY})")
    compile_.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    compile_.set_defaults(func=compile_command)

    local = actions.add_parser("run-local", help="run the pipeline with kfp.local against running services "
                               "(`doc2slm services up`); `doc2slm run` also starts them")
    local.add_argument("--docs", required=True, help="folder or s3:// prefix of PDFs")
    local.add_argument("--out", default="out/pipeline", help="work folder (default out/pipeline)")
    local.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a pipeline parameter (JSON values), e.g. max_chunks=8")
    local.set_defaults(func=run_local_command)

    submit = actions.add_parser("submit", help="create a run of the compiled pipeline on Kubeflow Pipelines")
    submit.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://ml-pipeline-ui.kubeflow")
    submit.add_argument("--namespace", default="kubeflow", help="KFP namespace (default kubeflow)")
    submit.add_argument("--experiment", default="doc2slm", help="experiment name (default doc2slm)")
    submit.add_argument("--run-name", default="", help="run name (default: KFP's)")
    submit.add_argument("--package", type=Path, default=COMPILED_PATH, help=f"pipeline YAML (default {COMPILED_PATH})")
    submit.add_argument("--token-file", default=None, metavar="PATH",
                        help="file holding the bearer token when the endpoint needs one (or set DOC2SLM_KFP_TOKEN)")
    submit.add_argument("--token", default=None,
                        help="the bearer token itself (visible in ps and shell history: prefer --token-file)")
    submit.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a pipeline parameter (JSON values), e.g. docs_uri=s3://bucket/docs/")
    submit.set_defaults(func=submit_command)


def compile_command(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.pipeline import compile_pipeline

    path = compile_pipeline(args.output, registry=args.registry, tag=args.tag)
    print(f"wrote {path}")
    return 0


def run_local_command(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.local import LocalRunOptions, local_arguments, run_local, stop_local_serving
    from doc2slm_pipelines.submit import parse_parameters
    from doc2slm_pipelines.summary import format_summary, load_summary

    out = Path(args.out).resolve()
    arguments = local_arguments(args.docs, str(out), LocalRunOptions(extra=parse_parameters(args.set)))
    try:
        run_local(arguments, out / "kfp")
    except RuntimeError as error:
        print(f"doc2slm pipeline run-local: {error}", file=sys.stderr)
        return 1
    finally:
        stop_local_serving(str(out))
    print(format_summary(load_summary(str(out))))
    return 0


def submit_command(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.submit import SubmitOptions, parse_parameters, resolve_token, submit

    if args.token:
        print("doc2slm pipeline submit: --token is visible to other users (ps) and kept in shell history; "
              "use --token-file or DOC2SLM_KFP_TOKEN", file=sys.stderr)
    token = resolve_token(args.token, args.token_file)
    run_id = submit(SubmitOptions(host=args.host, namespace=args.namespace, experiment=args.experiment,
                                  run_name=args.run_name, parameters=parse_parameters(args.set),
                                  package_path=args.package, existing_token=token))
    print(f"submitted run {run_id} to {args.host} (experiment {args.experiment})")
    return 0
