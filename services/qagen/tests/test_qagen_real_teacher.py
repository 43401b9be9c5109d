"""The real path once: qagen against doc2slm's own serving component with the bundled SmolLM2-135M.

Slow (a model load and CPU generation), so not part of `make test`: `pytest -m slow services/qagen`
(DOC2SLM_TEST_TEACHER_URL=http://127.0.0.1:8080/openai/v1 uses a serving process that already runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc2slm_common.local_services import free_port
from doc2slm_qagen.chunkwork import ChunkFailure
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.settings import LOCAL_TEACHER_MODEL

from tests.support.qagen_testkit import run_all, settings_for

pytestmark = pytest.mark.slow

# From the Vim user manual (usr_02.txt): measured to give a kept pair in answer-first mode.
VIM_TEXT = ("The tilde (~) lines indicate lines not in the file. In other words, when Vim runs out of file to "
            "display, it displays tilde lines. At the bottom of the screen, a message line indicates the file "
            "is named file.txt and shows that you are creating a new file.")


@pytest.fixture(scope="module")
def served_teacher() -> Iterator[str]:
    given = os.environ.get("DOC2SLM_TEST_TEACHER_URL")  # an already running doc2slm serving, to save a load
    if given:
        yield given
        return
    http_port, grpc_port = free_port(), free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "doc2slm_serving", "--http-port", str(http_port),
                                "--grpc-port", str(grpc_port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{http_port}/openai/v1"
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("doc2slm_serving exited before it was ready")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(2)
        else:
            pytest.fail("doc2slm_serving not ready after 600 s")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_answer_first_pairs_from_the_bundled_model(served_teacher: str, tmp_path: Path) -> None:
    chunk = ChunkRecord(doc_id="vim-manual", chunk_id="usr02-tilde", text=VIM_TEXT, source="usr_02.txt")
    settings = settings_for(served_teacher, tmp_path, teacher_model=LOCAL_TEACHER_MODEL, mode="answer_first",
                            teacher_timeout_s=900, pairs_per_chunk=2, max_concurrency=2)
    events, summary = run_all(settings, [chunk])
    assert not [e for e in events if isinstance(e, ChunkFailure)]
    pairs = [e for e in events if isinstance(e, PairRecord)]
    assert summary.teacher_calls >= 2 and summary.chunks_with_pair == 1
    assert all(p.answer in VIM_TEXT and p.question.endswith("?") for p in pairs)
    assert all(p.teacher == LOCAL_TEACHER_MODEL for p in pairs)
