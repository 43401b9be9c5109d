"""The split's optional semantic check against a real EmbeddingService (MiniLM) on loopback.

Slow (a model load in a second process): `pytest -m slow services/qagen`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from doc2slm_common.client import wait_for_serving
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.split import SplitConfig, split_pairs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedding_address() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "doc2slm_embedding", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_serving(f"127.0.0.1:{port}", "doc2slm.v1.EmbeddingService", timeout_s=300)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_semantic_duplicates_of_train_questions_are_held_out_no_more(embedding_address: str) -> None:
    chunk = ChunkRecord(doc_id="d", chunk_id="c", text="t")
    pairs = [
        PairRecord.build(chunk, "How often must the pump be serviced?", "Every 500 hours.", "t", "v",
                         paraphrase_question="How frequently does the pump need servicing?"),
        PairRecord.build(chunk, "Which oil goes in the gearbox?", "SAE 30 oil.", "t", "v",
                         paraphrase_question="What lubricant should be used for the transmission housing?"),
    ]
    lexical = split_pairs(pairs, SplitConfig(seen_share=0.0))
    assert len(lexical.eval_heldout_questions) == 2  # words differ enough for the lexical check
    semantic = split_pairs(pairs, SplitConfig(seen_share=0.0, embedding_address=embedding_address,
                                              embedding_threshold=0.8))
    assert [p.question for p in semantic.eval_heldout_questions] == [
        "What lubricant should be used for the transmission housing?"]
    assert semantic.counts["heldout_question_embedding_duplicate_of_train"] == 1
