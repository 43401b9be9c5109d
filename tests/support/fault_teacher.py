"""A real OpenAI-compatible teacher on loopback with scripted faults, for qagen tests, its benchmark and
the reliability suite.

It answers POST .../chat/completions and GET .../models over HTTP/1.1 (keep-alive, one thread per
connection, so concurrent requests really overlap). Good replies are derived from the fenced document
text of the prompt, so the pairs are grounded in the chunk and pass the filters. Faults come from a
schedule: a script for the first calls of every prompt subject (the n-th call about the same text gets
script[n]), then random faults at configurable rates (seeded). Calls are counted per subject so tests can
assert exactly how often each chunk was asked about.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from doc2slm_qagen.prompts import DOC_CLOSE, DOC_OPEN, SECOND_QUESTION_ASK, VIEW_ASK_PREFIX, split_sentences


class Fault(StrEnum):
    RATE_LIMIT = "429"        # 429 with Retry-After
    SERVER_ERROR = "500"      # 500 with an OpenAI error body
    STALL = "stall"           # no answer until after the client's timeout
    MALFORMED = "malformed"   # 200, but the content is neither the JSON object nor a question
    DISCONNECT = "disconnect"  # the connection closes without a response
    GOOD = "good"


@dataclass
class FaultSchedule:
    # Faults for the 1st, 2nd, ... call about the same subject; later calls draw from `rates`.
    script: list[Fault] = field(default_factory=list)
    # Scripts for particular subjects: the first key found inside the subject's text replaces `script`.
    script_for: dict[str, list[Fault]] = field(default_factory=dict)
    rates: dict[Fault, float] = field(default_factory=dict)
    seed: int = 0
    retry_after_s: float = 0.0
    stall_s: float = 3.0
    latency_s: float = 0.0  # added to every good reply (benchmarks)
    supports_response_format: bool = True
    # "json": the DESIGN reply object; "fenced": the object in ```json fences with prose around it.
    reply_style: str = "json"
    required_api_key: str | None = None
    model: str = "fault-teacher"


@dataclass(frozen=True)
class CallRecord:
    kind: str
    subject: str
    fault: Fault
    response_format: bool
    seed: int | None = None  # the request's sampling seed, None for greedy requests


_FENCED = re.compile(re.escape(DOC_OPEN) + r"\n?(.*?)\n?" + re.escape(DOC_CLOSE), re.DOTALL)
_PAIRS_WANTED = re.compile(r"Write (\d+) question and answer pairs")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def question_for(sentence: str) -> str:
    """A grounded question about a sentence: its opening words, asked about."""
    words = _words(sentence)
    head = " ".join(words[: max(2, min(6, len(words) - 3))])
    return f"What is said about {head}?"


def paraphrase_for(answer: str) -> str:
    """Another wording, built from the end of the sentence so it shares few words with question_for."""
    words = _words(answer)
    tail = " ".join(words[-min(5, max(2, len(words) - 4)):])
    return f"Which statement mentions {tail}?"


class FaultTeacher:
    def __init__(self, schedule: FaultSchedule | None = None) -> None:
        self.schedule = schedule or FaultSchedule()
        self._rng = random.Random(self.schedule.seed)
        self._lock = threading.Lock()
        self.calls: list[CallRecord] = []
        self._per_subject: dict[str, int] = {}
        self.model_list_calls = 0
        self.posts_received = 0  # every chat request, refused ones included
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-teacher", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FaultTeacher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- counting -----------------------------------------------------------------------------------
    @property
    def total_calls(self) -> int:
        with self._lock:
            return len(self.calls)

    def calls_for_chunk(self, chunk_text: str, kind: str | None = None) -> int:
        """Calls whose subject (a chunk, a sentence or an answer) comes from this chunk's text."""
        flat = " ".join(chunk_text.split())
        with self._lock:
            return sum(1 for c in self.calls if c.subject in flat and (kind is None or c.kind == kind))

    def faults_sent(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for call in self.calls:
                counts[call.fault.value] = counts.get(call.fault.value, 0) + 1
            return counts

    # -- behaviour ----------------------------------------------------------------------------------
    def _choose_fault(self, kind: str, subject: str) -> Fault:
        with self._lock:
            key = f"{kind}\x00{subject}"
            n = self._per_subject.get(key, 0)
            self._per_subject[key] = n + 1
            script = next((s for text, s in self.schedule.script_for.items() if text in subject),
                          self.schedule.script)
            if n < len(script):
                return script[n]
            draw = self._rng.random()
            for fault, rate in self.schedule.rates.items():
                if draw < rate:
                    return fault
                draw -= rate
            return Fault.GOOD

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self.calls.append(call)

    def reply_content(self, kind: str, subject: str, prompt: str) -> str:
        if kind == "view":
            # A faithful rewrite in other words: each sentence restated, one per line (plain text, as asked).
            lead = "In short," if "summary" in prompt else "As a fact,"
            return "\n".join(f"{lead} {sentence}" for sentence in split_sentences(subject))
        if kind == "qa":
            wanted = int(m.group(1)) if (m := _PAIRS_WANTED.search(prompt)) else 2
            pairs = [{"question": question_for(s), "answer": s} for s in split_sentences(subject)[:wanted]]
        elif kind == "af":
            pairs = [{"question": question_for(subject), "answer": subject}]
        else:
            pairs = [{"question": paraphrase_for(subject), "answer": subject}]
        body = json.dumps({"pairs": pairs})
        if self.schedule.reply_style == "fenced":
            return f"Here are the pairs you asked for:\n```json\n{body}\n```\nHope this helps."
        return body


def classify(messages: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(kind, subject, prompt) of a chat request: kind qa, af or paraphrase; subject the fenced text."""
    prompt = str(messages[-1].get("content", "")) if messages else ""
    fenced = _FENCED.search(prompt)
    subject = " ".join(fenced.group(1).split()) if fenced else " ".join(prompt.split())
    if VIEW_ASK_PREFIX in prompt:
        return "view", subject, prompt
    if "question and answer pairs" in prompt:
        return "qa", subject, prompt
    if SECOND_QUESTION_ASK in prompt:
        return "paraphrase", subject, prompt
    return "af", subject, prompt


def _handler_for(teacher: FaultTeacher) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body waits for a delayed ACK (~40 ms)
        # and every call looks 40 ms slower than the scheduled latency.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters, not logs
            return

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a stall past its timeout): nothing to deliver

        def _authorised(self) -> bool:
            key = teacher.schedule.required_api_key
            if key is None or self.headers.get("Authorization") == f"Bearer {key}":
                return True
            self._send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return False

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path.rstrip("/").endswith("/models"):
                with teacher._lock:
                    teacher.model_list_calls += 1
                self._send(200, {"object": "list", "data": [
                    {"id": teacher.schedule.model, "object": "model", "created": 0, "owned_by": "tests"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with teacher._lock:
                teacher.posts_received += 1
            if not self._authorised():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                request = json.loads(raw)
                messages = request["messages"]
            except (json.JSONDecodeError, KeyError, TypeError):
                self._send(400, {"error": {"message": "body is not a chat completion request"}})
                return
            wants_format = "response_format" in request
            if wants_format and not teacher.schedule.supports_response_format:
                self._send(400, {"error": {"message": "response_format is not supported", "param": "response_format"}})
                return
            kind, subject, prompt = classify(messages)
            fault = teacher._choose_fault(kind, subject)
            seed = request.get("seed") if isinstance(request.get("seed"), int) else None
            teacher.record(CallRecord(kind, subject, fault, wants_format, seed))
            self._answer(fault, kind, subject, prompt)

        def _answer(self, fault: Fault, kind: str, subject: str, prompt: str) -> None:
            schedule = teacher.schedule
            if fault is Fault.RATE_LIMIT:
                self._send(429, {"error": {"message": "rate limited", "type": "rate_limit_exceeded"}},
                           {"Retry-After": f"{schedule.retry_after_s:g}"})
                return
            if fault is Fault.SERVER_ERROR:
                self._send(500, {"error": {"message": "teacher overloaded", "type": "server_error"}})
                return
            if fault is Fault.DISCONNECT:
                self.close_connection = True
                self.connection.close()
                return
            if fault is Fault.STALL:
                time.sleep(schedule.stall_s)
            if schedule.latency_s:
                time.sleep(schedule.latency_s)
            content = ('Sure, here they come: {"pairs": [{"question" 12 ]' if fault is Fault.MALFORMED
                       else teacher.reply_content(kind, subject, prompt))
            tokens = len(content.split())
            self._send(200, {
                "id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
                "model": schedule.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": tokens,
                          "total_tokens": tokens + len(prompt.split())},
            })

    return Handler
