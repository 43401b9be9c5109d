"""Fixtures shared by every test directory (pytest loads this rootdir-level conftest first)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.s3_server import S3Server

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
