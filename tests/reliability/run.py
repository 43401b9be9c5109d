"""`python -m tests.reliability.run [--full] [--fuzz-seconds N] [--only NAME ...]` (make reliability).

Runs every fault scenario against the real services, prints the table of what was injected, what the
system did and what was lost, and writes it to out/reliability/table.md and results.json. Exits
non-zero when any row failed (a crash, an unmapped status, a lost or duplicated record).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from tests.reliability.profile import DEFAULT, FULL, with_fuzz_seconds
from tests.reliability.results import ScenarioResult, SkippedScenario, write_outputs
from tests.reliability.scenarios import BY_NAME, SCENARIOS

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.run", description=__doc__)
    parser.add_argument("--full", action="store_true", help="32 callers for 60 s per service, 10 min of fuzzing")
    parser.add_argument("--fuzz-seconds", type=float, default=None, help="override the fuzzing budget")
    parser.add_argument("--only", nargs="+", choices=sorted(BY_NAME), help="run only these scenarios")
    parser.add_argument("--out", type=Path, default=Path("out/reliability"), help="where table.md goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # The outages make urllib3 and the client log every retry; the table says what happened.
    for noisy in ("urllib3", "doc2slm.client", "doc2slm.qagen", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    profile = with_fuzz_seconds(FULL if args.full else DEFAULT, args.fuzz_seconds)
    chosen = [BY_NAME[name] for name in args.only] if args.only else list(SCENARIOS)
    results: list[ScenarioResult] = []
    skipped: list[SkippedScenario] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="doc2slm-reliability-") as scratch:
        for scenario in chosen:
            missing = scenario.missing()
            if missing:
                skipped.append(SkippedScenario(scenario.fault, f"{', '.join(missing)} not in the tree yet"))
                print(f"[skip] {scenario.name}: needs {', '.join(missing)}", flush=True)
                continue
            print(f"[run ] {scenario.name} ...", flush=True)
            workdir = Path(scratch) / scenario.name
            workdir.mkdir()
            try:
                outcome = scenario.runner()(profile, workdir)
                rows = outcome if isinstance(outcome, list) else [outcome]
            except Exception as error:  # a scenario that breaks is a failed row, and the others still run
                rows = [ScenarioResult(fault=scenario.fault, injected=0, ok=False,
                                       behaviour=f"the scenario itself failed: {type(error).__name__}: {error}",
                                       details={"traceback": traceback.format_exc()})]
            results.extend(rows)
            for row in rows:
                print(f"[{'ok' if not row.problems() else 'FAIL':4}] {scenario.name} ({row.seconds:.0f} s): "
                      f"{row.fault}: {row.behaviour}", flush=True)
    header = {"profile": profile.name, "when": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "seconds": round(time.monotonic() - started, 1)}
    table = write_outputs(args.out, results, skipped, header)
    print(f"\nReliability ({profile.name} profile, {header['machine']}, {header['seconds']:.0f} s)\n")
    print(table)
    problems = [reason for result in results for reason in result.problems()]
    for reason in problems:
        print(f"FAILED: {reason}", file=sys.stderr)
    print(f"written: {args.out / 'table.md'}, {args.out / 'results.json'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
