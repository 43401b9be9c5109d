"""The scenarios the runner knows, in the order they run, and whether the code each one needs is here.

A scenario whose code has not landed yet (another engineer's package) is reported as skipped with the
reason, never silently left out of the table.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    module: str
    needs: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        """Modules this scenario imports that are not installed/written yet."""
        absent = []
        for needed in self.needs:
            try:
                if importlib.util.find_spec(needed) is None:
                    absent.append(needed)
            except ModuleNotFoundError:
                absent.append(needed)
        return absent

    def runner(self) -> Callable[[Profile, Path], ScenarioResult | list[ScenarioResult]]:
        """The module's `run(profile, workdir)`: one row, or several (load: one per service)."""
        module = importlib.import_module(f"tests.reliability.{self.module}")
        run: Callable[[Profile, Path], ScenarioResult | list[ScenarioResult]] = module.run
        return run


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("storage", "S3 server SIGKILLed during an upload", "storage_outage"),
    Scenario("sigterm", "SIGTERM to ExtractionService with calls in flight", "sigterm_drain",
             ("doc2slm_extraction.service",)),
    Scenario("kill-stream", "SIGKILL ExtractionService mid-stream", "kill_stream",
             ("doc2slm_extraction.service", "doc2slm_pipelines.steps.extract")),
    Scenario("load", "sustained load on each service", "load",
             ("doc2slm_extraction.service", "doc2slm_embedding.service", "doc2slm_scoring.service")),
    Scenario("fuzz", "fuzzed PDFs through the extraction path", "fuzz", ("doc2slm_extraction.extractor", "atheris")),
    Scenario("kill-qagen", "SIGKILL the QA generation run", "kill_qagen",
             ("doc2slm_qagen.service", "tests.support.fault_teacher")),
    Scenario("teacher-faults", "teacher 429/500/timeouts at high rates", "teacher_faults",
             ("doc2slm_qagen.generate", "tests.support.fault_teacher")),
    Scenario("kill-finetune", "SIGKILL fine-tuning", "kill_finetune", ("doc2slm_pipelines.finetune.run",)),
    Scenario("security", "issue 14's attacks: key, swap, unload, traversal, prefixes, huge prompt", "security_probes",
             ("doc2slm_qagen.access", "doc2slm_serving.admin", "doc2slm_common.uri_access")),
)

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
