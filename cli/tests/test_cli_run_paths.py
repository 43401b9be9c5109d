"""`doc2slm run` lets its services and steps use the folders its user named, and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc2slm_cli.commands.run import allow_run_paths
from doc2slm_common import storage, uri_access
from doc2slm_common.errors import DomainError


def test_the_named_docs_and_out_folders_join_the_allowed_prefixes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    docs, out, other = tmp_path / "docs", tmp_path / "out", tmp_path / "other"
    for folder in (docs, other):
        folder.mkdir()
        (folder / "a.pdf").write_bytes(b"%PDF-1.4")
    monkeypatch.setenv(uri_access.ENV_NAME, "/srv/doc2slm-nothing-here")
    allow_run_paths(str(docs), out)
    assert storage.read_bytes((docs / "a.pdf").as_uri()) == b"%PDF-1.4"
    storage.write_text((out / "card.json").as_uri(), "{}")
    with pytest.raises(DomainError) as denied:
        storage.read_bytes((other / "a.pdf").as_uri())
    assert denied.value.code_name == "PERMISSION_DENIED"
