"""The docs and build files name what is in the tree: paths that exist, make targets that have a rule,
no link out of the repository, and `make test` running ruff and mypy."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_DIRS = ("cli", "docs", "examples", "helm", "manifests", "pipelines", "proto", "requirements", "scripts",
            "services", "tests")
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted(ROOT.glob("services/*/README.md")), ROOT / "requirements" / "base.in"]
# `path/with/slashes`: a backticked token under a top-level folder, without placeholders or globs.
# Made by a command, not committed: the example corpus (`make run` generates it).
GENERATED = {"examples/docs/"}
BACKTICKED = re.compile(r"`((?:" + "|".join(TOP_DIRS) + r")/[\w./-]*)`")


def makefile_targets() -> tuple[set[str], set[str], dict[str, list[str]]]:
    text = (ROOT / "Makefile").read_text()
    phony = set(" ".join(re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", text, re.M)).replace("\\", " ").split())
    rules = {m.group(1): m.group(2).split() for m in re.finditer(r"^([\w.-]+):(?!=)(.*)$", text, re.M)}
    return phony, set(rules), rules


def test_paths_named_in_the_docs_exist() -> None:
    missing = [f"{doc.relative_to(ROOT)}: {path}" for doc in DOCS for path in BACKTICKED.findall(doc.read_text())
               if path not in GENERATED and not (ROOT / path.rstrip(".")).exists()]
    assert not missing


def test_no_doc_points_outside_the_repository() -> None:
    # A link or a path to read that starts by leaving the tree (`p/../../x` inside a path is an example).
    leaving = re.compile(r"(?:\]\(|`)\.\./")
    outside = [str(doc.relative_to(ROOT)) for doc in DOCS if leaving.search(doc.read_text())]
    assert not outside


def test_every_make_target_named_has_a_rule() -> None:
    phony, rules, _ = makefile_targets()
    assert phony <= rules, f"declared without a rule: {sorted(phony - rules)}"
    named = {target for doc in DOCS for target in re.findall(r"`make ([\w-]+)", doc.read_text())}
    assert named <= rules, f"docs name make targets that do not exist: {sorted(named - rules)}"


def test_make_test_runs_ruff_and_mypy() -> None:
    _, _, rules = makefile_targets()
    assert {"lint", "typecheck"} <= set(rules["test"])
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^lint:.*\n\t.*ruff check \.$", text, re.M)
    assert re.search(r"^typecheck:.*\n\t.*-m mypy ", text, re.M)


def test_tool_excludes_exist() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    excluded = config["tool"]["ruff"].get("extend-exclude", [])
    assert [path for path in excluded if not (ROOT / path).exists()] == []
