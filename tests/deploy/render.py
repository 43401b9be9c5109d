"""Rendering helpers for the deploy tests: the real helm and kubectl from tools/ (make tools)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "doc2slm"
MANIFESTS = ROOT / "manifests"
TOOLS = ROOT / "tools"
CLOUDS = ("aks", "eks", "gke")
RELEASE = "doc2slm"
NAMESPACE = "doc2slm"
# A Kubernetes release kubernetes-validate ships strict schemas for, and the oldest minor the
# chart's kubeVersion and the three managed offerings all still support (native gRPC probes: 1.27+).
KUBERNETES_VERSION = "1.33.0"

Manifest = dict[str, Any]


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make tools` (bash scripts/install_tools.sh tools)")
    return path


def run(cmd: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)


def helm_template(values: list[Path] | None = None, sets: list[str] | None = None) -> list[Manifest]:
    """`helm template` with the given values files and --set assignments; raises with helm's message."""
    cmd: list[str | Path] = [tool("helm"), "template", RELEASE, CHART, "--namespace", NAMESPACE]
    for path in values or []:
        cmd += ["-f", path]
    for assignment in sets or []:
        cmd += ["--set", assignment]
    result = run(cmd)
    if result.returncode != 0:
        raise ValueError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def helm_notes(sets: list[str] | None = None) -> str:
    """What `helm install` prints after installing (NOTES.txt), from a client-side dry run."""
    cmd: list[str | Path] = [tool("helm"), "install", RELEASE, CHART, "--namespace", NAMESPACE, "--dry-run=client"]
    for assignment in sets or []:
        cmd += ["--set", assignment]
    result = run(cmd)
    if result.returncode != 0:
        raise ValueError(result.stderr.strip())
    return result.stdout.split("\nNOTES:\n", 1)[1]


def cloud_values(cloud: str) -> Path:
    return CHART / f"values-{cloud}.yaml"


def kustomize(folder: Path) -> list[Manifest]:
    result = run([tool("kubectl"), "kustomize", folder])
    if result.returncode != 0:
        raise ValueError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def release_config(manifests: list[Manifest]) -> Manifest:
    """The chart's ConfigMap `<release>-config` (there are others: the storage policies)."""
    (config,) = [m for m in by_kind(manifests, "ConfigMap") if m["metadata"]["name"] == f"{RELEASE}-config"]
    return config


def key(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod spec of a workload (Deployment, StatefulSet, Job) or of a KServe predictor."""
    if manifest["kind"] in ("Deployment", "StatefulSet", "Job"):
        return dict(manifest["spec"]["template"]["spec"])
    if manifest["kind"] == "InferenceService":
        return dict(manifest["spec"]["predictor"])
    return None


def containers(manifest: Manifest) -> list[Manifest]:
    spec = pod_spec(manifest)
    if spec is None:
        return []
    if "model" in spec:  # a KServe runtime: the model spec is the container
        return [spec["model"]]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def load_sync_module() -> ModuleType:
    """manifests/sync_from_chart.py (not a package), for its normalisation of Helm output."""
    spec = importlib.util.spec_from_file_location("sync_from_chart", MANIFESTS / "sync_from_chart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
