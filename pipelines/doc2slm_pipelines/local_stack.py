"""What a local run needs running: the four gRPC services (doc2slm_common.local_services) and, unless
a teacher URL is given, the local teacher: doc2slm's predictor on the bundled base model with its
OpenAI routes under /openai/v1, so QA generation uses the same OpenAI client path as with any teacher.

Use LocalStack as a context manager so that a failed run still stops everything it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from doc2slm_common.contracts import SERVING_HTTP_PORT
from doc2slm_common.errors import TimeLimitExceeded, UpstreamUnavailable
from doc2slm_common.local_services import LocalServices, port_is_free

from doc2slm_pipelines.steps.deploy_local import ready, stop_pid

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
    services: LocalServices | None = None
    teacher: subprocess.Popen[bytes] | None = None

    @property
    def teacher_base_url(self) -> str:
        return f"http://127.0.0.1:{self.teacher_port}/openai/v1"

    def start(self, on_ready: Callable[[str], None] = lambda name: None) -> LocalStack:
        """Start the teacher first (it loads a model), then the services; wait for all to be ready."""
        if self.start_teacher:
            self._spawn_teacher()
        self.services = LocalServices(ports=self.ports, log_dir=self.log_dir, env=self.service_env())
        for name in self.services.start():
            on_ready(name)
        if self.teacher is not None:
            self._wait_teacher()
            on_ready("teacher")
        return self

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

    def _spawn_teacher(self) -> None:
        if not port_is_free("127.0.0.1", self.teacher_port):
            raise UpstreamUnavailable(f"port {self.teacher_port} is in use, so the local teacher cannot start; "
                                      "stop what listens there or give --teacher-base-url")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        with (self.log_dir / "teacher.log").open("ab") as log_file:
            self.teacher = subprocess.Popen(
                [sys.executable, "-m", "doc2slm_serving", f"--served-name={TEACHER_MODEL}",
                 f"--base-model={self.base_model}", f"--http-port={self.teacher_port}",
                 f"--grpc-port={self.teacher_port + 1}"],
                stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def _wait_teacher(self) -> None:
        assert self.teacher is not None
        base = f"http://127.0.0.1:{self.teacher_port}"
        deadline = time.monotonic() + TEACHER_START_TIMEOUT_S
        log_path = self.log_dir / "teacher.log"
        while not ready(base, TEACHER_MODEL):
            if self.teacher.poll() is not None:
                raise UpstreamUnavailable(f"the local teacher exited with {self.teacher.returncode}; "
                                          f"see {log_path}")
            if time.monotonic() > deadline:
                raise TimeLimitExceeded(f"the local teacher was not ready after {TEACHER_START_TIMEOUT_S:.0f}s; "
                                        f"see {log_path}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the services and the teacher; safe to call twice."""
        if self.services is not None:
            self.services.stop()
            self.services = None
        if self.teacher is not None:
            stop_pid(self.teacher.pid)
            self.teacher.wait(timeout=10)
            self.teacher = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
