"""The two commands a newcomer runs: README shows them first, and CI runs exactly the test command."""

from __future__ import annotations

import re
from pathlib import Path


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, flags=re.MULTILINE)
    assert commands[:2] == ["make run", "make test"], "README must show `make run` and `make test` first"
    ci = (repo_root / ".ci" / "run").read_text()
    steps = [line.strip() for line in ci.splitlines()
             if line.strip() and not line.strip().startswith(("#", "set ", "cd "))]
    assert steps == ["make test"]


def test_makefile_bootstraps_itself(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    assert re.search(r"^test: venv proto tools", makefile, flags=re.MULTILINE)
    assert re.search(r"^run: venv proto", makefile, flags=re.MULTILINE)
    assert "torch==2.13.0" in (repo_root / "requirements" / "lock.txt").read_text()
