"""What a local run needs running: the four gRPC services (doc2slm_common.local_services) and, unless
a teacher URL is given, the local teacher: doc2slm's predictor on the bundled base model with its
OpenAI routes under /openai/v1, so QA generation uses the same OpenAI client path as with any teacher.

Use LocalStack as a context manager so that a failed run still stops everything it started.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from doc2slm_common.contracts import SERVING_HTTP_PORT
from doc2slm_common.local_services import LocalServices
from doc2slm_common.supervisor import ProcessSpec, Supervisor, http_ok

from doc2slm_pipelines.engine_choice import ENGINE_ENV

TEACHER_MODEL = "smollm2-135m-instruct"
TEACHER_START_TIMEOUT_S = 300.0


@dataclass
class LocalStack:
    log_dir: Path
    ports: dict[str, int] = field(default_factory=dict)  # service short name -> port override
    start_teacher: bool = True
    teacher_port: int = SERVING_HTTP_PORT
    base_model: str = "bundled"
    # QA generation settings for a teacher on this CPU: replies of a few sentences are all answer-first
    # generation needs, and a request may wait its turn behind others for minutes on 2 cores.
    teacher_max_completion_tokens: int = 192
    teacher_timeout_s: float = 900.0
    # The local teacher decodes up to 8 requests in one batch (serving's max_batch_size): measured 35
    # tokens/s at 4 in flight against 15.7 at 1 on 2 cores, and one-question replies are short, so 8 in
    # flight make answer-first generation (several questions per sentence) several times cheaper than 2.
    teacher_concurrency: int = 8
    # A teacher the user named (--teacher-base-url); empty when the local one is started.
    external_teacher_base_url: str = ""
    # The local teacher's generation engine; empty: DOC2SLM_ENGINE, else transformers (bench-engines sets it).
    teacher_engine: str = ""
    supervisor: Supervisor = field(default_factory=Supervisor)

    @property
    def teacher_base_url(self) -> str:
        return f"http://127.0.0.1:{self.teacher_port}/openai/v1"

    def start(self, on_ready: Callable[[str], None] = lambda name: None) -> LocalStack:
        """Start the teacher (it loads a model) and the services side by side; wait for all to be ready.
        On a failure everything started is stopped and ProcessFailed says which and where its log is."""
        if self.start_teacher:
            self.supervisor.start(self.teacher_spec())
        try:
            self.services().start(timeout_s=TEACHER_START_TIMEOUT_S, on_ready=on_ready)
        except BaseException:
            self.stop()
            raise
        return self

    def services(self) -> LocalServices:
        """The four services on this run's ports; LocalServices points scoring at the embedding service
        among them, so the evaluate step's report embeds through this run's embedding port."""
        return LocalServices(ports=self.ports, log_dir=self.log_dir, env=self.service_env(),
                             supervisor=self.supervisor)

    def service_env(self) -> dict[str, str]:
        env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # QAGenService sends its key only to the teacher it is configured with, so the run configures it
        # with the one this run uses rather than naming it per request.
        teacher = self.teacher_base_url if self.start_teacher else self.external_teacher_base_url
        if teacher:
            env["DOC2SLM_TEACHER_BASE_URL"] = teacher
        if self.start_teacher:
            env.update({"DOC2SLM_TEACHER_MAX_COMPLETION_TOKENS": str(self.teacher_max_completion_tokens),
                        "DOC2SLM_TEACHER_TIMEOUT_S": str(self.teacher_timeout_s),
                        "DOC2SLM_MAX_CONCURRENCY": str(self.teacher_concurrency)})
        return env

    def teacher_spec(self) -> ProcessSpec:
        env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        if self.teacher_engine:
            env[ENGINE_ENV] = self.teacher_engine
        return ProcessSpec(
            name="teacher",
            command=[sys.executable, "-m", "doc2slm_serving", f"--served-name={TEACHER_MODEL}",
                     f"--base-model={self.base_model}", f"--http-port={self.teacher_port}",
                     f"--grpc-port={self.teacher_port + 1}"],
            ready=http_ok(f"http://127.0.0.1:{self.teacher_port}/v2/models/{TEACHER_MODEL}/ready"),
            ports=[self.teacher_port, self.teacher_port + 1], log_path=self.log_dir / "teacher.log",
            env=env, own_group=True)

    def stop(self) -> None:
        """Stop the services and the teacher; safe to call twice."""
        self.supervisor.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
