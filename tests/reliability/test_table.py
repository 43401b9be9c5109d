"""The table the runner prints: a row that lost or duplicated anything, or misbehaved, reads FAIL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.results import ScenarioResult, SkippedScenario, write_outputs
from tests.reliability.scenarios import SCENARIOS


def test_rows_fail_on_loss_duplication_or_misbehaviour_and_skips_are_listed(tmp_path: Path) -> None:
    rows = [
        ScenarioResult("clean fault", 3, "recovered | whole", seconds=2.0),
        ScenarioResult("lossy fault", 1, "retried", lost=2),
        ScenarioResult("crashing fault", 1, "process died", ok=False),
        ScenarioResult("duplicating fault", 1, "retried", duplicated=1),
        ScenarioResult("leaking attack", 4, "refused 3 of 4", leaked=1),
    ]
    table = write_outputs(tmp_path, rows, [SkippedScenario("teacher faults", "qagen not there")], {"profile": "t"})
    lines = table.splitlines()
    assert lines[2] == "| clean fault | 3 | recovered \\| whole | 0 | 0 | 0 | pass (2 s) |"
    assert [line.rsplit("|", 2)[1].split()[0] for line in lines[3:7]] == ["FAIL"] * 4
    assert lines[7] == "| teacher faults | 0 | not run: qagen not there | - | - | - | skipped |"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["profile"] == "t" and [r["lost"] for r in saved["results"]] == [0, 2, 0, 0, 0]
    assert saved["results"][4]["leaked"] == 1
    assert (tmp_path / "table.md").read_text() == table


def test_every_scenario_module_exists_or_names_what_it_waits_for() -> None:
    here = Path(__file__).parent
    for scenario in SCENARIOS:
        assert (here / f"{scenario.module}.py").exists() or scenario.missing(), scenario.name
