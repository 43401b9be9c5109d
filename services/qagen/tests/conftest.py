"""Fixtures of the qagen tests (helpers live in tests/support/qagen_testkit.py, shared with the CLI tests)."""

from __future__ import annotations

import pytest
from doc2slm_qagen.records import ChunkRecord

from tests.fixtures import s3_env, s3_server  # noqa: F401  (the real S3 server, shared fixtures)
from tests.support.qagen_testkit import make_chunks


@pytest.fixture
def chunks() -> list[ChunkRecord]:
    return make_chunks()
