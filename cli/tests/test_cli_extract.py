"""`doc2slm extract` in-process and through a real server: the same file (and the pipeline step's records),
failures printed, exit 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from doc2slm_cli.main import main
from doc2slm_common import storage
from doc2slm_common.server import ServerSettings, start_server
from doc2slm_extraction.service import build_binding
from doc2slm_extraction.settings import ExtractionSettings
from doc2slm_pipelines.steps.extract import extract_corpus


@pytest.fixture(scope="module")
def mixed_dir(pdf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mixed")
    for name in ("multipage.pdf", "hyphenated.pdf", "encrypted.pdf", "image_only.pdf", "random_bytes.pdf"):
        shutil.copy(pdf_dir / name, directory / name)
    return directory


def test_in_process_and_server_write_the_same_chunks_and_report_failures(
    mixed_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOC2SLM_WORKERS", "2")
    local_out, remote_out = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert main(["extract", str(mixed_dir), "--out", str(local_out), "--max-tokens", "128"]) == 1
    local_err = capsys.readouterr().err
    # The server runs with the same defaults the in-process run takes from the environment.
    running = start_server([build_binding(ExtractionSettings(workers=2))], ServerSettings(port=0))
    try:
        code = main(["extract", *sorted(str(p) for p in mixed_dir.glob("*.pdf")), "--out", str(remote_out),
                     "--max-tokens", "128", "--server", f"127.0.0.1:{running.port}"])
        remote_err = capsys.readouterr().err
        step = extract_corpus(str(mixed_dir), str(tmp_path / "step"), f"127.0.0.1:{running.port}", max_tokens=128)
    finally:
        running.stop(grace=1)
    assert code == 1
    assert local_out.read_bytes() == remote_out.read_bytes()
    records = storage.read_jsonl(local_out.as_uri())
    assert {r["source"] for r in records} == {"multipage.pdf", "hyphenated.pdf"}
    assert all(r["n_tokens"] <= 128 and r["pages"] == [r["page_start"], r["page_end"]] for r in records)
    # The pipeline step's records are the same but for `source`: the step names the URI the service read.
    step_records = storage.read_jsonl(step.chunks_uri)
    assert [{**r, "source": PurePosixPath(r["source"]).name} for r in step_records] == records
    assert [list(r) for r in step_records] == [list(r) for r in records]
    for err in (local_err, remote_err):
        assert "FAILED_PRECONDITION: encrypted.pdf: encrypted PDF" in err
        assert "INVALID_ARGUMENT: random_bytes.pdf: not a readable PDF" in err
        assert "warning: image_only.pdf: no extractable text" in err


def test_all_good_documents_exit_zero(pdf_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "chunks.jsonl"
    assert main(["extract", str(pdf_dir / "two_column.pdf"), "--out", str(out)]) == 0
    assert [r["page_start"] for r in storage.read_jsonl(out.as_uri())] == [1]


def test_missing_file_is_a_failure_of_that_document(pdf_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chunks.jsonl"
    assert main(["extract", str(pdf_dir / "two_column.pdf"), str(tmp_path / "absent.pdf"), "--out", str(out)]) == 1
    assert "NOT_FOUND: absent.pdf: no such file" in capsys.readouterr().err
    assert len(storage.read_jsonl(out.as_uri())) == 1


def test_the_command_as_its_own_process_exits_at_once_with_everything_written(pdf_dir: Path,
                                                                                 tmp_path: Path) -> None:
    """The console script ends without interpreter teardown (main.exit_now) and its forkserver likewise: the
    file, the summary on stderr and the exit status are all there, and no process of the run is left."""
    script = Path(sys.executable).with_name("doc2slm")
    if not script.exists():
        pytest.skip("no doc2slm console script beside this Python")
    out = tmp_path / "chunks.jsonl"
    env = {**os.environ, "DOC2SLM_ALLOWED_URI_PREFIXES": f"{pdf_dir},{tmp_path}"}
    for pdfs, status in (([pdf_dir / "two_column.pdf"], 0), ([pdf_dir / "two_column.pdf", tmp_path / "no.pdf"], 1)):
        # stderr through a pipe: communicate() returns only once every process holding it (the forkserver,
        # the workers) has ended.
        done = subprocess.run([str(script), "extract", *map(str, pdfs), "--out", str(out)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == status, done.stderr
        assert "1 chunks from 1 of" in done.stderr and "characters left out" in done.stderr
        assert [r["page_start"] for r in storage.read_jsonl(out.as_uri())] == [1]
