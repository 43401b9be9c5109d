"""The fuzzing scenario: seed a corpus with the extraction engineer's good and broken PDFs, run the
atheris harness for a time budget in a subprocess, and report executions and findings."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from tests.reliability.processes import quiet_env
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
REPO_ROOT = Path(__file__).resolve().parents[2]


QUICK_SKIPPED_SEEDS = ("decompression_bomb.pdf",)


def seed(corpus: Path, quick: bool = False) -> int:
    from doc2slm_extraction.testing_pdfs import seed_corpus

    written = seed_corpus(corpus, include_large=False)
    if quick:
        for path in written:
            if path.name in QUICK_SKIPPED_SEEDS:
                path.unlink()
    return sum(1 for _ in corpus.iterdir())


# Names the harness (exception-, hang-) and libFuzzer itself (crash-, timeout-, oom-, ...) give findings.
FINDING_PREFIXES = ("exception-", "hang-", "crash-", "timeout-", "oom-", "leak-")


def finding_files(findings: Path) -> list[Path]:
    """The saved inputs (not their .txt reasons, not the README)."""
    if not findings.exists():
        return []
    return sorted(p for p in findings.iterdir()
                  if p.is_file() and p.name.startswith(FINDING_PREFIXES) and p.suffix != ".txt")


# The short run inside `make test` uses a fixed libFuzzer seed, so CI repeats the same inputs (a new finding
# there is a change in the code, not luck); `make reliability` runs explore with random seeds.
QUICK_SEED = 20261127


def run_fuzzer(seconds: float, corpus: Path, findings: Path, quick: bool = False) -> tuple[int, str]:
    """Run the harness; returns (executions, the tail of its output)."""
    command = [sys.executable, "-m", "tests.reliability.fuzz_extraction", "--corpus", str(corpus),
               "--findings", str(findings), "--seconds", str(max(1, int(seconds))),
               *(["--no-trace", "--seed", str(QUICK_SEED)] if quick else [])]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=quiet_env({"PYTHONPATH": str(REPO_ROOT)}),
                               capture_output=True, text=True, timeout=seconds + 300)
    output = completed.stdout + completed.stderr
    done = re.search(r"Done (\d+) runs", output)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    executions = int(done.group(1)) if done else int(runs.group(1)) if runs else 0
    return executions, "\n".join(output.splitlines()[-20:])


# Replays one input through the service's extraction path in a fresh process: exit 3 when an exception
# escapes the status mapping; prints the process's own peak RSS in MiB (VmHWM, not the inherited ru_maxrss).
_REPLAY = """
import sys
from doc2slm_common.errors import DomainError
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import BACKENDS
from tests.reliability.fuzz_extraction import fuzz_settings, own_peak_rss_mb
data = open(sys.argv[1], "rb").read()
extractor = Extractor(fuzz_settings())
code = 0
for backend in BACKENDS:
    try:
        extractor.extract(data, "replay.pdf", extractor.options(backend=backend))
    except DomainError:
        pass
    except Exception:
        code = 3
print(own_peak_rss_mb())
sys.exit(code)
"""


def confirm_memory_reports(new: list[Path]) -> tuple[list[Path], list[str]]:
    """libFuzzer's oom/leak reports measure the whole harness process; one counts as a finding only when
    the input, replayed alone through the service path, escapes the status mapping or exceeds the memory
    limit. Unconfirmed ones are renamed `unconfirmed-...` with the replay's result beside them."""
    from tests.reliability.fuzz_extraction import FUZZER_RSS_LIMIT_MB

    confirmed, notes = [], []
    for path in new:
        if not path.name.startswith(("oom-", "leak-")):
            confirmed.append(path)
            continue
        replay = subprocess.run([sys.executable, "-c", _REPLAY, str(path)], cwd=REPO_ROOT,
                                env=quiet_env({"PYTHONPATH": str(REPO_ROOT)}), capture_output=True, text=True,
                                timeout=120)
        lines = replay.stdout.split()
        peak = int(lines[-1]) if lines and lines[-1].isdigit() else -1
        if replay.returncode != 0 or peak < 0 or peak > FUZZER_RSS_LIMIT_MB:
            confirmed.append(path)
            continue
        renamed = path.with_name(f"unconfirmed-{path.name}")
        path.rename(renamed)
        renamed.with_suffix(".txt").write_text(
            f"libFuzzer reported {path.name.split('-')[0]} for the harness process; replayed alone through the "
            f"service path with both backends: mapped statuses only, peak RSS {peak} MiB "
            f"(limit {FUZZER_RSS_LIMIT_MB} MiB)\n")
        notes.append(f"{path.name} not reproduced through the service path (peak {peak} MiB)")
    return confirmed, notes


def run(profile: Profile, workdir: Path, findings: Path | None = None) -> ScenarioResult:
    """Fuzz for the profile's budget; findings go to `findings` (default: the regressions directory)."""
    started = time.monotonic()
    corpus = workdir / "fuzz-corpus"
    seeds = seed(corpus, profile.fuzz_quick)
    target = findings or REGRESSIONS
    before = set(finding_files(target))
    executions, tail = run_fuzzer(profile.fuzz_seconds, corpus, target, profile.fuzz_quick)
    new, unconfirmed = confirm_memory_reports([p for p in finding_files(target) if p not in before])
    corpus_size = sum(1 for _ in corpus.iterdir())
    mode = "quick, untraced" if profile.fuzz_quick else "coverage from pypdf traced in-process"
    behaviour = (f"{executions} inputs in {profile.fuzz_seconds:g} s from {seeds} seed PDFs ({mode}; corpus grew "
                 f"to {corpus_size}); {len(new)} findings")
    if new:
        behaviour += ": " + ", ".join(p.name for p in new) + " (saved as regression files)"
    if unconfirmed:
        behaviour += "; harness memory reports: " + "; ".join(unconfirmed)
    ok = executions > 0 and not new
    return ScenarioResult(fault="fuzzed PDFs through the extraction worker path (atheris)", injected=executions,
                          behaviour=behaviour, ok=ok, seconds=time.monotonic() - started,
                          details={"findings": [str(p) for p in new], "output_tail": tail if not ok else ""})
