"""`doc2slm qagen` / `doc2slm split` in-process and through real QAGenServices on loopback: the same records,
the same split, the same meaning of a flag left out (the server path is the pipeline step's client)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc2slm_cli.main import main
from doc2slm_common import storage
from doc2slm_common.config import load_settings
from doc2slm_common.server import RunningServer, ServerSettings, start_server
from doc2slm_qagen.service import build_binding
from doc2slm_qagen.settings import QAGenSettings

from tests.support.fault_teacher import FaultSchedule, FaultTeacher
from tests.support.qagen_testkit import TEXTS

SPLIT_FILES = ("train", "eval_heldout_questions", "eval_heldout_docs", "eval_seen", "eval_validation")


@pytest.fixture()
def teacher_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """One configuration for both paths: the in-process run and the server both read it from DOC2SLM_*."""
    with FaultTeacher(FaultSchedule()) as teacher:
        for name, value in {"TEACHER_BASE_URL": teacher.base_url, "TEACHER_MODEL": "fault-teacher",
                            "TEACHER_TIMEOUT_S": "5", "QA_VIEWS": "", "MAX_CONCURRENCY": "1",
                            "ALLOWED_URI_PREFIXES": f"{tmp_path.as_uri()}/"}.items():
            monkeypatch.setenv(f"DOC2SLM_{name}", value)
        yield


def qagen_server() -> tuple[str, RunningServer]:
    running = start_server([build_binding(load_settings(QAGenSettings))], ServerSettings(port=0))
    return f"127.0.0.1:{running.port}", running


def write_chunks(path: Path, docs: int = 6) -> None:
    storage.write_jsonl(path.as_uri(), [
        {"doc_id": hashlib.sha256(f"doc{i % docs}".encode()).hexdigest(), "chunk_id": f"c{i}",
         "source": f"doc{i % docs}.pdf", "page_start": i + 1, "page_end": i + 2, "text": text}
        for i, text in enumerate(TEXTS)])


def read_lines(path: Path) -> list[str]:
    return sorted(path.read_text().splitlines())


def test_qagen_and_split_through_a_server_write_what_the_in_process_run_writes(
        teacher_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_chunks(tmp_path / "chunks.jsonl")
    common = ["--generation-mode", "question_answer", "--paraphrase-share", "1"]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(local / "qa.jsonl"), *common,
                 "--cache", str(tmp_path / "cache-local"), "--split-out", str(local / "split")]) == 0
    address, server = qagen_server()
    try:
        assert main(["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(remote / "qa.jsonl"), *common,
                     "--cache", str(tmp_path / "cache-remote"), "--split-out", str(remote / "split"),
                     "--server", address]) == 0
    finally:
        server.stop(0)
    err = capsys.readouterr().err
    assert err.count("pairs from 6 of 6 chunks") == 2
    pairs = storage.read_jsonl((local / "qa.jsonl").as_uri())
    # The pipeline's record, `pages` included, whichever path made it.
    assert pairs and all(p["pages"] == [p["page_start"], p["page_end"]] for p in pairs)
    assert read_lines(local / "qa.jsonl") == read_lines(remote / "qa.jsonl")
    for name in SPLIT_FILES:
        assert read_lines(local / "split" / f"{name}.jsonl") == read_lines(remote / "split" / f"{name}.jsonl"), name
    for directory in (local, remote):
        assert (directory / "qa.summary.json").exists() and (directory / "generation_card.json").exists()


def test_split_flags_left_out_mean_the_same_through_a_server(teacher_env: None, tmp_path: Path) -> None:
    """Before, `split --server` sent heldout_docs_share=0 and seen_share=0 for flags left out."""
    write_chunks(tmp_path / "chunks.jsonl")
    assert main(["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(tmp_path / "qa.jsonl"),
                 "--generation-mode", "question_answer", "--cache", str(tmp_path / "cache")]) == 0
    assert main(["split", str(tmp_path / "qa.jsonl"), "--out", str(tmp_path / "local")]) == 0
    address, server = qagen_server()
    try:
        assert main(["split", str(tmp_path / "qa.jsonl"), "--out", str(tmp_path / "remote"),
                     "--server", address]) == 0
    finally:
        server.stop(0)
    assert storage.read_jsonl((tmp_path / "local" / "eval_seen.jsonl").as_uri())
    assert storage.read_jsonl((tmp_path / "local" / "eval_heldout_docs.jsonl").as_uri())
    for name in SPLIT_FILES:
        assert read_lines(tmp_path / "local" / f"{name}.jsonl") == read_lines(tmp_path / "remote" / f"{name}.jsonl")


@pytest.mark.parametrize("through_server", [False, True])
@pytest.mark.parametrize(("args", "message"), [
    (["--pairs-per-chunk", "21"], "pairs_per_chunk"),
    (["--pairs-per-chunk", "-1"], "pairs_per_chunk"),
    (["--paraphrase-share", "1.5"], "paraphrase_share"),
])
def test_a_bad_flag_is_one_line_naming_the_setting_on_both_paths(
        teacher_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], through_server: bool,
        args: list[str], message: str) -> None:
    write_chunks(tmp_path / "chunks.jsonl")
    command = ["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(tmp_path / "qa.jsonl"),
               "--cache", str(tmp_path / "cache"), *args]
    if not through_server:
        code = main(command)
    else:
        address, server = qagen_server()
        try:
            code = main([*command, "--server", address])
        finally:
            server.stop(0)
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not (tmp_path / "qa.jsonl").exists()
    assert err[-1].startswith("INVALID_ARGUMENT: ") and message in err[-1]
