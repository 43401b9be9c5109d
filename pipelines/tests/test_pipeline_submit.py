"""`doc2slm pipeline submit` inputs: parameters parsed and checked against the committed package before
anything is sent, and an unreachable endpoint reported as UNAVAILABLE."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc2slm_common.errors import InvalidInput, UpstreamUnavailable
from doc2slm_pipelines.pipeline import COMPILED_PATH
from doc2slm_pipelines.submit import SubmitOptions, check_parameters, parse_parameters, pipeline_inputs, submit


def test_parameters_are_json_when_they_parse() -> None:
    parsed = parse_parameters(["docs_uri=s3://b/docs/", "max_chunks=8", 'gpu_node_selector={"pool": "gpu"}',
                               "gpu_tolerations=[]", "teacher_model=gpt-4o-mini"])
    assert parsed == {"docs_uri": "s3://b/docs/", "max_chunks": 8, "gpu_node_selector": {"pool": "gpu"},
                      "gpu_tolerations": [], "teacher_model": "gpt-4o-mini"}
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_parameters(["max_chunks"])


def test_package_parameters_are_the_pipeline_signature() -> None:
    inputs = pipeline_inputs(COMPILED_PATH)
    assert {"docs_uri", "work_uri", "finetune_config", "trainer_nodes", "gpu_tolerations"} <= inputs
    check_parameters({"docs_uri": "s3://b/"}, COMPILED_PATH)
    with pytest.raises(InvalidInput, match=r"no parameter.*max_chunk\b"):
        check_parameters({"max_chunk": 3}, COMPILED_PATH)


def test_submit_to_an_unreachable_endpoint_is_unavailable() -> None:
    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        submit(SubmitOptions(host="http://127.0.0.1:9", parameters={"max_chunks": 1}))


def test_submit_without_a_package_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="doc2slm pipeline compile"):
        submit(SubmitOptions(host="http://127.0.0.1:9", package_path=tmp_path / "missing.yaml"))
