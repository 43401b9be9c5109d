"""`doc2slm qagen` / `doc2slm split` as a user runs them (subprocesses), including a SIGKILL mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from doc2slm_cli.main import main
from doc2slm_common import storage
from doc2slm_common.server import ServerSettings, start_server
from doc2slm_qagen.service import build_binding

from tests.support.fault_teacher import FaultSchedule, FaultTeacher
from tests.support.qagen_testkit import SecondQuestionTeacher, make_chunks, settings_for


def write_chunks(path: Path) -> list[dict[str, object]]:
    records = [{"doc_id": c.doc_id, "chunk_id": c.chunk_id, "source": c.source, "page_start": 1,
                "page_end": 1, "text": c.text} for c in make_chunks()]
    storage.write_jsonl(path.as_uri(), records)
    return records


def doc2slm(*args: str) -> list[str]:
    return [sys.executable, "-m", "doc2slm_cli.main", *args]


def cached_chunk_ids(cache: Path) -> set[str]:
    done = set()
    for file in cache.glob("*.jsonl"):
        for line in file.read_text().splitlines(keepends=True):
            if line.endswith("\n"):
                done.add(json.loads(line)["chunk_id"])
    return done


def test_a_killed_run_resumes_without_asking_again_for_finished_chunks(tmp_path: Path) -> None:
    chunks = write_chunks(tmp_path / "chunks.jsonl")
    cache, out = tmp_path / "cache", tmp_path / "qa.jsonl"
    with FaultTeacher(FaultSchedule(latency_s=0.25)) as teacher:
        command = doc2slm("qagen", str(tmp_path / "chunks.jsonl"), "--out", str(out), "--mode", "qa",
                          "--teacher-base-url", teacher.base_url, "--teacher-model", "fault-teacher",
                          "--cache", str(cache), "--concurrency", "1", "--paraphrase-share", "0")
        # One teacher request per chunk (no rewritten views), so the kill lands between finished chunks.
        env = {**os.environ, "DOC2SLM_QA_VIEWS": ""}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 240  # start-up imports torch: slow on a busy 2-core machine
        while teacher.total_calls < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        exited_early = process.poll()
        process.kill()
        _, stderr = process.communicate()
        assert exited_early is None, f"doc2slm qagen exited {exited_early} before the kill:\n{stderr.decode()}"
        assert teacher.total_calls >= 3, f"only {teacher.total_calls} teacher calls before the deadline"
        assert not out.exists()  # no partial qa.jsonl
        done_before = cached_chunk_ids(cache)
        assert 1 <= len(done_before) < len(chunks), stderr.decode()
        # A kill in the middle of a cache write leaves a torn last line: it must not count as done.
        with next(cache.glob("*.jsonl")).open("a") as handle:
            handle.write('{"key": "torn", "chunk_id": "torn", "pairs": [{"question": "Q')

        finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert finished.returncode == 0, finished.stderr
        pairs = storage.read_jsonl(out.as_uri())
        assert len({p["pair_id"] for p in pairs}) == len(pairs)
        assert {p["chunk_id"] for p in pairs} == {c["chunk_id"] for c in chunks}
        texts = {c["chunk_id"]: str(c["text"]) for c in chunks}
        for chunk_id, text in texts.items():
            calls = teacher.calls_for_chunk(text)
            # Finished chunks are never asked again; the one in flight at the kill is asked once more.
            assert calls == 1 if chunk_id in done_before else calls <= 2
        assert sum(teacher.calls_for_chunk(t) for t in texts.values()) <= len(chunks) + 1
        summary = json.loads((tmp_path / "qa.summary.json").read_text())
        assert summary["chunks_cached"] == len(done_before)


def test_the_cli_through_the_server_and_the_split_subcommand(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_chunks(tmp_path / "chunks.jsonl")
    with SecondQuestionTeacher() as teacher:
        server = start_server([build_binding(settings_for(teacher.base_url, tmp_path / "cache"))],
                              ServerSettings(port=0))
        try:
            code = main(["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(tmp_path / "qa.jsonl"),
                         "--server", f"127.0.0.1:{server.port}", "--paraphrase-share", "0.9"])
        finally:
            server.stop(0)
    assert code == 0, capsys.readouterr().err
    assert "pairs from 6 of 6 chunks" in capsys.readouterr().err
    assert main(["split", str(tmp_path / "qa.jsonl"), "--out", str(tmp_path / "split"), "--seed", "4"]) == 0
    card = json.loads((tmp_path / "split" / "dataset_card.json").read_text())
    assert card["split"]["seed"] == 4 and card["counts"]["train"] > 0
    assert card["counts"]["eval_heldout_questions"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--pairs-per-chunk", "21"], "pairs_per_chunk"),  # 0 means the service's own setting
    (["--teacher-base-url", "not-a-url"], "teacher_base_url"),
])
def test_bad_flags_exit_non_zero_with_the_setting_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        args: list[str], message: str) -> None:
    write_chunks(tmp_path / "chunks.jsonl")
    code = main(["qagen", str(tmp_path / "chunks.jsonl"), "--out", str(tmp_path / "qa.jsonl"),
                 "--cache", str(tmp_path / "cache"), *args])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("INVALID_ARGUMENT: ") and message in err
