"""How hard each scenario pushes: the tiny sizes of `make test`, the default of `make reliability`, and
`--full` (the issue's 32 callers for 60 s per service and a longer fuzz run)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    load_concurrency: int
    load_seconds: float
    load_warmup_seconds: float
    fuzz_seconds: float
    storage_outages: int
    stream_kills: int
    sigterm_calls_in_flight: int
    teacher_fault_rate: float
    teacher_chunks: int
    # make test's smoke run: no in-process tracing (instrumenting pypdf takes a while) and no bomb seed
    # (test_regressions replays it); the path, the limits and the findings check are the same.
    fuzz_quick: bool = False


FAST = Profile(name="fast", load_concurrency=16, load_seconds=3.0, load_warmup_seconds=1.0, fuzz_seconds=5.0,
               storage_outages=1, stream_kills=1, sigterm_calls_in_flight=4, teacher_fault_rate=0.3,
               teacher_chunks=6, fuzz_quick=True)
DEFAULT = Profile(name="default", load_concurrency=32, load_seconds=15.0, load_warmup_seconds=5.0,
                  fuzz_seconds=60.0, storage_outages=3, stream_kills=3, sigterm_calls_in_flight=8,
                  teacher_fault_rate=0.5, teacher_chunks=20)
FULL = Profile(name="full", load_concurrency=32, load_seconds=60.0, load_warmup_seconds=10.0,
               fuzz_seconds=600.0, storage_outages=5, stream_kills=5, sigterm_calls_in_flight=16,
               teacher_fault_rate=0.6, teacher_chunks=40)


def with_fuzz_seconds(profile: Profile, seconds: float | None) -> Profile:
    return profile if seconds is None else replace(profile, fuzz_seconds=seconds)
