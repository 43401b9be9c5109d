"""Send the compiled pipeline to a Kubeflow Pipelines endpoint (`doc2slm pipeline submit`).

The committed YAML is what runs, so what was reviewed is what a cluster executes; parameters are the
pipeline's own (see `doc2slm pipeline compile` output header), given as NAME=VALUE with JSON values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from doc2slm_common.errors import InvalidInput, UpstreamUnavailable

from doc2slm_pipelines.pipeline import COMPILED_PATH

TOKEN_ENV = "DOC2SLM_KFP_TOKEN"
MAX_TOKEN_FILE_BYTES = 64 * 1024


@dataclass
class SubmitOptions:
    host: str
    namespace: str = "kubeflow"
    experiment: str = "doc2slm"
    run_name: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    package_path: Path = COMPILED_PATH
    existing_token: str | None = None  # a bearer token, when the endpoint is behind auth


def resolve_token(token: str | None = None, token_file: str | None = None,
                  environ: dict[str, str] | None = None) -> str | None:
    """The KFP bearer token from exactly one of: a file (a mounted Secret, `--token-file`), the
    environment (DOC2SLM_KFP_TOKEN), or `--token`. A token on the command line is visible to every user
    of the machine (ps, /proc/PID/cmdline) and lands in shell history, so the other two come first."""
    env_token = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip()
    given = [name for name, value in (("--token-file", token_file), (TOKEN_ENV, env_token), ("--token", token))
             if value]
    if len(given) > 1:
        raise InvalidInput(f"give the token one way, not {' and '.join(given)}")
    if token_file:
        path = Path(token_file).expanduser()
        try:
            if path.stat().st_size > MAX_TOKEN_FILE_BYTES:
                raise InvalidInput(f"{path} is larger than {MAX_TOKEN_FILE_BYTES} bytes; it is not a token file")
            text = path.read_text().strip()
        except OSError as error:
            raise InvalidInput(f"token file {path}: {error.strerror}") from None
        if not text:
            raise InvalidInput(f"token file {path} is empty")
        return text
    return env_token or token or None


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs; VALUE is read as JSON when it parses (numbers, objects, lists), else a string."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(f"parameter {pair!r} is not NAME=VALUE")
        try:
            parameters[name] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[name] = raw
    return parameters


def pipeline_inputs(package_path: Path) -> set[str]:
    # The package holds the pipeline spec, then the Kubernetes platform spec, as two YAML documents.
    spec = next(yaml.safe_load_all(package_path.read_text()))
    return set(spec["root"]["inputDefinitions"]["parameters"])


def check_parameters(parameters: dict[str, Any], package_path: Path) -> None:
    unknown = sorted(set(parameters) - pipeline_inputs(package_path))
    if unknown:
        raise InvalidInput(f"the pipeline has no parameter(s) {', '.join(unknown)}")


def submit(options: SubmitOptions) -> str:
    """Create a run from the package; returns the run id."""
    import kfp
    import urllib3
    from kfp_server_api.exceptions import ApiException

    if not options.package_path.exists():
        raise InvalidInput(f"{options.package_path} does not exist; run `doc2slm pipeline compile` first")
    check_parameters(options.parameters, options.package_path)
    try:
        kfp_client = kfp.Client(host=options.host, namespace=options.namespace,
                                existing_token=options.existing_token)
        run = kfp_client.create_run_from_pipeline_package(
            str(options.package_path), arguments=options.parameters, experiment_name=options.experiment,
            run_name=options.run_name or None, namespace=options.namespace)
    except (OSError, urllib3.exceptions.HTTPError) as error:
        raise UpstreamUnavailable(f"Kubeflow Pipelines at {options.host} is unreachable: "
                                  f"{type(error).__name__}") from None
    except ApiException as error:
        raise UpstreamUnavailable(f"Kubeflow Pipelines at {options.host} refused the run: "
                                  f"{error.status} {error.reason}") from None
    return str(run.run_id)
