"""One scenario's outcome and the table of all of them (Markdown for the README, JSON for machines)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ScenarioResult:
    """A row of the table: the fault, how often it was injected, what the system did, what was lost.

    `lost` and `duplicated` count records (chunks, pairs, bytes of an object, steps) compared with a
    clean run of the same input; `ok` is False when the system did something the design forbids
    (a crash, an unmapped status, unbounded memory), whatever was lost.
    """

    fault: str
    injected: int
    behaviour: str
    lost: int = 0
    duplicated: int = 0
    # Security rows: attempts that got what they should not (a key sent, a model swapped, a byte outside).
    leaked: int = 0
    ok: bool = True
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Why this row is a failure, one reason a line; empty when it passed."""
        reasons = []
        if not self.ok:
            reasons.append(f"{self.fault}: {self.behaviour}")
        if self.lost:
            reasons.append(f"{self.fault}: {self.lost} records lost")
        if self.duplicated:
            reasons.append(f"{self.fault}: {self.duplicated} records duplicated")
        if self.leaked:
            reasons.append(f"{self.fault}: {self.leaked} attempts got through")
        return reasons


@dataclass
class SkippedScenario:
    """A scenario that could not run here (the code it exercises has not landed, a tool is missing)."""

    fault: str
    reason: str


def markdown_table(results: list[ScenarioResult], skipped: list[SkippedScenario]) -> str:
    lines = [
        "| fault injected | times | what the system did | lost | duplicated | leaked | result |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for row in results:
        verdict = "pass" if not row.problems() else "FAIL"
        behaviour = row.behaviour.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {row.fault} | {row.injected} | {behaviour} | {row.lost} | {row.duplicated} | "
                     f"{row.leaked} | {verdict} ({row.seconds:.0f} s) |")
    for skip in skipped:
        lines.append(f"| {skip.fault} | 0 | not run: {skip.reason} | - | - | - | skipped |")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: Path, results: list[ScenarioResult], skipped: list[SkippedScenario],
                  header: dict[str, Any]) -> str:
    """Write table.md and results.json into out_dir; returns the Markdown table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(results, skipped)
    (out_dir / "table.md").write_text(table)
    payload = {**header, "results": [asdict(r) for r in results], "skipped": [asdict(s) for s in skipped]}
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    return table
