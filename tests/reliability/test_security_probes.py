"""Issue 14's attacks as they run in `make reliability`: every attempt refused, nothing leaked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import security_probes


@pytest.mark.parametrize("probe", [security_probes.teacher_key, security_probes.traversal_keys,
                                   security_probes.out_of_prefix])
def test_the_attack_gets_nothing(probe: object, tmp_path: Path) -> None:
    row = probe(tmp_path)  # type: ignore[operator]
    assert row.injected > 0 and row.leaked == 0, row.behaviour
    assert row.problems() == [], row.behaviour


@pytest.mark.slow  # trains a small adapter and starts the predictor: a few minutes on 2 shared cores
def test_the_predictor_attacks_get_nothing(tmp_path: Path) -> None:
    rows = security_probes.serving_rows(tmp_path)
    assert [row.fault for row in rows] == ["unauthenticated adapter swap", "model unload through the repository routes",
                                           "a 50 MB prompt"]
    for row in rows:
        assert row.problems() == [], row.behaviour
