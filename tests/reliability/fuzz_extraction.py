"""Coverage-guided fuzzing (atheris/libFuzzer) of the extraction path exactly as the service runs it.

Each input goes through `Extractor.extract`: parsing, cleaning and chunking in a worker process under the
service's memory limit and time limit. A finding is
  - an exception that is not a typed DomainError (it would reach the client as INTERNAL),
  - a call that runs past the time limit plus slack (the limit did not hold),
  - this process's memory past its limit (its own peak RSS, VmHWM; the worker has its own rlimit).
Each finding is written to the findings directory as `<kind>-<sha256 prefix>.pdf` with a `.txt` beside it;
test_regressions.py replays every file there. atheris ends the process with sys.exit, so this runs as
a subprocess: `python -m tests.reliability.fuzz_extraction --corpus DIR --findings DIR --seconds N`.

The worker's code is not traced (it runs in another process), so for coverage feedback each input is
first parsed here too, by the same backend function, under an interval timer and an address-space limit;
that run only steers mutation (pypdf is instrumented); whatever it raises is ignored, since the worker
run is the one the service's callers see.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# The same limits as the regression replay, small so that a bad input costs seconds, not minutes.
TIME_LIMIT_S = 2.0
HANG_SLACK_S = 5.0
WORKER_MEMORY_MB = 384
FUZZER_RSS_LIMIT_MB = 2048
MAX_INPUT_BYTES = 256 * 1024
# The traced in-process parse: a soft address-space limit below libFuzzer's RSS limit, so a hungry input
# raises MemoryError here instead of ending the run as an out-of-memory "finding" of the harness itself.
TRACED_MEMORY_BYTES = 1536 * 1024 * 1024
TRACED_TIME_LIMIT_S = 1.0
# libFuzzer's own watchdog: only for a harness stuck outright (the traced parse on a very busy machine
# included); the service path is judged by TIME_LIMIT_S + HANG_SLACK_S above.
LIBFUZZER_TIMEOUT_S = 60


class _TracedParseTimeout(Exception):
    pass


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise _TracedParseTimeout()


def traced_parse(data: bytes) -> None:
    """Parse with pypdf in this (instrumented) process for coverage only; any outcome is fine.

    Never pdfium here: it is C (nothing to trace), and under this process's address-space limit a failed
    allocation aborts it, which would end the run as a crash of the harness (measured: SIGABRT, kept as
    regressions/crash-364eac3acd12b6d9.pdf; the service maps the same abort in its worker to
    RESOURCE_EXHAUSTED).
    """
    from doc2slm_extraction.backends import PageRangeRequest, extract_page_range

    signal.setitimer(signal.ITIMER_PROF, TRACED_TIME_LIMIT_S)
    try:
        extract_page_range(PageRangeRequest(data, "pypdf", "", 0, -1, 500))
    except (Exception, _TracedParseTimeout):
        pass
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def fuzz_settings():  # type: ignore[no-untyped-def]
    from doc2slm_extraction.settings import ExtractionSettings

    return ExtractionSettings(workers=1, doc_timeout_s=TIME_LIMIT_S, doc_memory_mb=WORKER_MEMORY_MB,
                              max_pages=500, max_file_bytes=MAX_INPUT_BYTES * 4, max_chunks_per_doc=5000)


def own_peak_rss_mb() -> int:
    """This process's own peak RSS (VmHWM), not the ru_maxrss that libFuzzer's -rss_limit_mb reads: Linux
    carries that across execve, and pytest's peak passes 2 GiB after the model tests."""
    from doc2slm_common.process_memory import own_peak_rss_bytes

    return own_peak_rss_bytes() // 2**20


def save_finding(findings: Path, kind: str, data: bytes, reason: str) -> Path:
    findings.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}"
    (findings / f"{name}.pdf").write_bytes(data)
    (findings / f"{name}.txt").write_text(reason)
    return findings / f"{name}.pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True, help="seed PDFs; new interesting inputs go here")
    parser.add_argument("--findings", type=Path, required=True, help="where findings are written")
    parser.add_argument("--seconds", type=int, required=True, help="time budget of the run")
    parser.add_argument("--no-trace", action="store_true", help="skip the traced in-process parse (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer's -seed (0: random); make test fixes it")
    args = parser.parse_args()

    import atheris

    with atheris.instrument_imports(include=["doc2slm_extraction", "doc2slm_common", "pypdf"]):
        if not args.no_trace:
            import pypdf  # noqa: F401  (imported here so that it is instrumented; backends imports it lazily)
        from doc2slm_common.errors import DomainError
        from doc2slm_extraction.extractor import Extractor
        from doc2slm_extraction.settings import BACKENDS

    extractor = Extractor(fuzz_settings())  # its forkserver starts before this process gets its own limit
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (TRACED_MEMORY_BYTES, hard))
    # SIGPROF (CPU time), since libFuzzer's own -timeout watchdog owns SIGALRM.
    signal.signal(signal.SIGPROF, _on_alarm)
    # Both backends the service offers; the input's length picks one, so a replayed file takes the same.
    options = [extractor.options(backend=name) for name in BACKENDS]

    def test_one_input(data: bytes) -> None:
        chosen = options[len(data) % len(options)]
        if not args.no_trace:
            traced_parse(data)
        started = time.monotonic()
        try:
            extractor.extract(data, "fuzz.pdf", chosen)
        except DomainError:
            pass
        except Exception:
            path = save_finding(args.findings, "exception", data, traceback.format_exc())
            print(f"FINDING exception -> {path}", file=sys.stderr, flush=True)
        elapsed = time.monotonic() - started
        if elapsed > TIME_LIMIT_S + HANG_SLACK_S:
            path = save_finding(args.findings, "hang", data, f"took {elapsed:.1f} s, limit {TIME_LIMIT_S} s")
            print(f"FINDING hang -> {path}", file=sys.stderr, flush=True)
        peak = own_peak_rss_mb()
        if peak > FUZZER_RSS_LIMIT_MB:
            # The first input that lifts the peak past the limit is the one to keep; the peak never falls
            # again, so the run ends here, as libFuzzer's own out-of-memory check would end it.
            reason = f"harness peak RSS {peak} MiB, limit {FUZZER_RSS_LIMIT_MB} MiB"
            path = save_finding(args.findings, "oom", data, reason)
            print(f"FINDING oom -> {path}", file=sys.stderr, flush=True)
            sys.exit(1)

    args.findings.mkdir(parents=True, exist_ok=True)
    libfuzzer_args = [
        sys.argv[0], str(args.corpus), f"-max_total_time={args.seconds}", f"-max_len={MAX_INPUT_BYTES}",
        # -rss_limit_mb=0: libFuzzer's own check reads the inherited ru_maxrss (see own_peak_rss_mb).
        f"-timeout={LIBFUZZER_TIMEOUT_S}", "-rss_limit_mb=0", "-malloc_limit_mb=0",
        f"-artifact_prefix={args.findings}/", "-print_final_stats=1",
        # A slow unit here is mostly the traced parse on a busy machine; the service's own time limit is
        # what a finding measures, so libFuzzer's slow-unit files would only be noise.
        "-report_slow_units=3600",
        *([f"-seed={args.seed}"] if args.seed else []),
    ]
    atheris.Setup(libfuzzer_args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
