"""Structural reading of a Dockerfile (no Docker engine here): instructions, stages, ARG defaults,
and the Python distributions its `pip install` lines install from the repository."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


@dataclass
class Dockerfile:
    path: Path
    args: dict[str, str]  # global and stage ARG defaults
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def all_values(self, keyword: str) -> list[str]:
        return [value for stage in self.stages for value in stage.values(keyword)]

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.args.get(m.group(1), m.group(0)), text)


def parse(path: Path) -> Dockerfile:
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        if keyword == "FROM":
            stages.append(Stage(base=rest.split()[0]))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return Dockerfile(path, args, stages)


def installed_project_dirs(dockerfile: Dockerfile) -> list[Path]:
    """Repository folders the Dockerfile pip-installs (`./services/common[models]` -> services/common)."""
    dirs = []
    for run in dockerfile.all_values("RUN"):
        if "pip install" not in run:
            continue
        for token in re.findall(r"\"?\./([\w/.-]+)(?:\[[\w,]+\])?\"?", run):
            dirs.append(ROOT / token)
    return dirs


def extras_of(dockerfile: Dockerfile, folder: Path) -> set[str]:
    relative = folder.relative_to(ROOT).as_posix()
    extras: set[str] = set()
    for run in dockerfile.all_values("RUN"):
        for found in re.findall(rf"\./{re.escape(relative)}\[([\w,]+)\]", run):
            extras.update(found.split(","))
    return extras


def dependency_closure(dockerfile: Dockerfile) -> set[str]:
    """Normalised names of every distribution the image's pip install pulls in, resolved against the
    metadata of the packages installed in this venv (the same pins as requirements/lock.txt)."""
    todo: list[tuple[str, frozenset[str]]] = []
    for folder in installed_project_dirs(dockerfile):
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        todo.append((project["name"], frozenset(extras_of(dockerfile, folder))))
    seen: set[str] = set()
    while todo:
        name, extras = todo.pop()
        normalised = re.sub(r"[-_.]+", "-", name).lower()
        if normalised in seen:
            continue
        seen.add(normalised)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # a platform-only dependency absent from this venv
        for text in requirements:
            requirement = Requirement(text)
            environment = {"extra": ""}
            wanted = requirement.marker is None or requirement.marker.evaluate(environment) or any(
                requirement.marker.evaluate({"extra": extra}) for extra in extras)
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen
