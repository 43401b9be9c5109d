"""The lock files carry a sha256 for every package, `make venv` installs them with --require-hashes, and pip
then refuses a file whose bytes differ from the lock (issue 14)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

HASHED = ("bootstrap.txt", "lock.txt", "models.txt")
CPU_TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


def load_lock_script(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_script", root / "scripts" / "lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lock(repo_root: Path) -> ModuleType:
    return load_lock_script(repo_root)


@pytest.mark.parametrize("name", HASHED)
def test_every_locked_package_is_pinned_with_sha256_hashes(repo_root: Path, lock: ModuleType, name: str) -> None:
    text = (repo_root / "requirements" / name).read_text()
    pins = lock.pins(text)  # raises on a line that is not `name==version ...`
    assert pins, name
    for package, (_, hashes) in pins.items():
        assert hashes, f"{name}: {package} has no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), f"{name}: {package}: {hashes}"
    for line in lock.logical_lines(text):
        assert " --hash=" in line and not line.startswith("-"), f"{name}: {line[:80]}"


def test_the_lock_covers_every_direct_dependency_and_torch_is_the_cpu_build(repo_root: Path,
                                                                             lock: ModuleType) -> None:
    pins = lock.pins((repo_root / "requirements" / "lock.txt").read_text())
    for line in lock.logical_lines((repo_root / "requirements" / "base.in").read_text()):
        name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, f"{name} from base.in is not in lock.txt: run `make lock`"
    version, hashes = pins["torch"]
    assert version == "2.13.0+cpu" and not any(name.startswith("nvidia-") for name in pins)
    if CPU_TORCH.exists():  # the wheel on this machine's disk is the file the hash is for
        assert f"sha256:{hashlib.sha256(CPU_TORCH.read_bytes()).hexdigest()}" in hashes


def test_the_images_constraints_are_the_lock_without_hashes(repo_root: Path, lock: ModuleType) -> None:
    requirements = repo_root / "requirements"
    assert (requirements / "constraints.txt").read_text() == lock.constraints((requirements / "lock.txt").read_text())
    assert "torch==2.13.0\n" in (requirements / "constraints.txt").read_text()


def test_make_venv_installs_every_lock_file_with_require_hashes(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    installer = re.search(r"^PIP_INSTALL := (.*)$", makefile, flags=re.MULTILINE)
    assert installer and "pip install" in installer.group(1) and "--require-hashes" in installer.group(1)
    installs = [line.strip() for line in makefile.splitlines() if re.search(r"-r requirements/", line)]
    assert sorted(re.search(r"-r requirements/(\S+)", line).group(1) for line in installs  # type: ignore[union-attr]
                  ) == sorted(HASHED)
    assert all(line.startswith("$(PIP_INSTALL)") for line in installs), installs
    # Nothing else is fetched unchecked: the only other pip install is the editable project packages.
    others = [line for line in makefile.splitlines() if "pip install" in line and "PIP_INSTALL" not in line]
    assert len(others) == 1 and "--no-deps --no-build-isolation" in others[0] and " -e " in others[0]
    assert re.search(r"^lock: \$\(BOOTSTRAP\)\n\t\$\(PY\) scripts/lock\.py ", makefile, flags=re.MULTILINE)


def _wheel(folder: Path, payload: str) -> Path:
    wheel = folder / "lockcheck_demo-1.0-py3-none-any.whl"
    files = {"lockcheck_demo.py": f"VALUE = {payload!r}\n",
             "lockcheck_demo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: lockcheck-demo\nVersion: 1.0\n",
             "lockcheck_demo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                                    "Tag: py3-none-any\n"}
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("lockcheck_demo-1.0.dist-info/RECORD",
                         "".join(f"{name},,\n" for name in files) + "lockcheck_demo-1.0.dist-info/RECORD,,\n")
    return wheel


def test_pip_with_require_hashes_refuses_a_tampered_file(tmp_path: Path) -> None:
    source = tmp_path / "index"
    source.mkdir()
    digest = hashlib.sha256(_wheel(source, "genuine").read_bytes()).hexdigest()
    requirements = tmp_path / "lock.txt"
    requirements.write_text(f"lockcheck-demo==1.0 \\\n    --hash=sha256:{digest}\n")

    def install(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--require-hashes", "--no-index",
                               "--no-cache-dir", "--find-links", str(source), "--target", str(tmp_path / target),
                               "-r", str(requirements)], capture_output=True, text=True, timeout=120)

    assert install("good").returncode == 0
    assert (tmp_path / "good" / "lockcheck_demo.py").read_text() == "VALUE = 'genuine'\n"
    _wheel(source, "tampered")  # same name and version, other bytes
    refused = install("bad")
    assert refused.returncode != 0 and "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr
    assert not (tmp_path / "bad" / "lockcheck_demo.py").exists()
