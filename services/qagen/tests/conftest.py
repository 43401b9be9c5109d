"""Fixtures of the qagen tests (helpers live in qagen_testkit.py, beside the test modules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from doc2slm_qagen.records import ChunkRecord

from tests.fixtures import s3_env, s3_server  # noqa: F401  (the real S3 server, shared fixtures)

# The test modules import qagen_testkit by name; pytest adds their directory to sys.path only when it
# imports them, which is after this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qagen_testkit import make_chunks


@pytest.fixture
def chunks() -> list[ChunkRecord]:
    return make_chunks()
