"""Fixtures shared by every test directory (pytest loads this rootdir-level conftest first)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.s3_server import S3Server

if TYPE_CHECKING:
    from doc2slm_common.server import RunningServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _engine_choice_stays_in_its_test() -> Iterator[None]:
    """`doc2slm run` and `doc2slm evaluate` called in-process set DOC2SLM_ENGINE for the processes they
    start (doc2slm_pipelines.engine_choice.use_local_engine); the next test must not inherit the choice."""
    before = os.environ.get("DOC2SLM_ENGINE")
    yield
    if before is None:
        os.environ.pop("DOC2SLM_ENGINE", None)
    else:
        os.environ["DOC2SLM_ENGINE"] = before


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 endpoint (SeaweedFS) on loopback for the whole session."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """MINIO_* pointing at the test S3 server for the duration of one test."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-initialised Llama with the bundled model's real tokenizer and chat template, built
    once per session: real formatting and real training code, steps that take milliseconds."""
    from doc2slm_common.basemodel import resolve_base_model
    from doc2slm_pipelines.finetune.synthetic import build_random_model_dir, tiny_shape
    from transformers import AutoTokenizer

    target = tmp_path_factory.mktemp("tiny-base") / "tiny"
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model(None)))
    build_random_model_dir(target, tiny_shape, tokenizer)
    return target


@pytest.fixture(scope="session")
def embedding_service() -> Iterator[str]:
    """A real EmbeddingService (the bundled MiniLM, loaded in this process) on a free loopback port: its
    address. Imported here, not at the top, so tests that need no model load no torch."""
    from doc2slm_common.client import wait_for_serving
    from doc2slm_common.contracts import EMBEDDING
    from doc2slm_common.server import ServerSettings, start_server
    from doc2slm_embedding.encoder import load_encoder
    from doc2slm_embedding.service import binding_for

    running = start_server([binding_for(load_encoder())], ServerSettings(port=0))
    address = f"127.0.0.1:{running.port}"
    wait_for_serving(address, EMBEDDING.full_name, timeout_s=60)
    yield address
    running.stop(0)


def start_scoring(embedding_address: str, **settings: object) -> RunningServer:
    """A real ScoringService on a free loopback port that embeds through the EmbeddingService at
    `embedding_address`; `settings` are ScoringSettings fields (thresholds, resamples, limits)."""
    from doc2slm_common.server import ServerSettings, start_server
    from doc2slm_scoring.service import build_binding
    from doc2slm_scoring.settings import ScoringSettings

    return start_server([build_binding(ScoringSettings(embedding_address=embedding_address, **settings))],
                        ServerSettings(port=0))


@pytest.fixture(scope="session")
def scoring_service(embedding_service: str) -> Iterator[str]:
    """A real ScoringService with its default settings, embedding through `embedding_service`: its address."""
    running = start_scoring(embedding_service)
    yield f"127.0.0.1:{running.port}"
    running.stop(0)
