"""Generated stubs are generated, never edited: a fresh generation must equal the committed files."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def load_generator(root: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_proto", root / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stubs_match_the_protos(repo_root: Path, tmp_path: Path) -> None:
    fresh = load_generator(repo_root).generate(tmp_path)
    committed_dir = repo_root / "services" / "common" / "doc2slm" / "v1"
    committed = sorted(p for p in committed_dir.iterdir() if p.suffix in {".py", ".pyi"})
    assert [p.name for p in fresh] == [p.name for p in committed], "run `make proto`"
    for new, old in zip(fresh, committed, strict=True):
        assert new.read_text() == old.read_text(), f"{old.name} is stale: run `make proto`"
