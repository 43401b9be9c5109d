"""Issue 14's attacks as reliability rows: each one a real attempt against real servers on loopback, counting
what got through (a key that reached a foreign host, a model swapped or unloaded, a byte read or written
outside its prefix, a huge prompt accepted). A row passes only with 0 in its `leaked` column.

- teacher key: QAGenService in its own process, with a teacher that requires the key and a foreign
  "teacher" (tests/support/attacker.py) that records every request; GeneratePairs names the foreign URL
  in several spellings.
- adapter swap, repository unload, 50 MB prompt: the predictor (`python -m doc2slm_serving`, the bundled
  base model and one LoRA adapter trained for it) with the admin route on, as docs/security.md says.
- traversal keys: the real S3 server (SeaweedFS); objects planted with the raw client, then the project's
  storage layer asked to download or read across them.
- out-of-prefix URIs: ExtractionService and QAGenService in their own processes with
  DOC2SLM_ALLOWED_URI_PREFIXES set, asked to read /etc and /proc, another run's folder, and to write there.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from doc2slm.v1 import common_pb2, extraction_pb2, extraction_pb2_grpc, qagen_pb2, qagen_pb2_grpc
from doc2slm_common import client
from doc2slm_common.contracts import EXTRACTION, QAGEN

from tests.reliability.processes import running_service
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult
from tests.reliability.storage_outage import environment

KEY = "sk-reliability-secret-14"
ADMIN_TOKEN = "reliability-admin-token-0123456789"


def _row(fault: str, attempts: int, leaked: int, behaviour: str, started: float, ok: bool = True,
         **details: Any) -> ScenarioResult:
    return ScenarioResult(fault=fault, injected=attempts, behaviour=behaviour, leaked=leaked, ok=ok,
                          seconds=time.monotonic() - started, details=details)


def _grpc_status(call: Callable[[], Any]) -> str:
    try:
        result = call()
        if isinstance(result, Iterator):
            for _ in result:
                pass
    except grpc.RpcError as error:
        return str(error.code().name)
    return "OK"


def teacher_key(workdir: Path) -> ScenarioResult:
    from tests.support.attacker import Attacker
    from tests.support.fault_teacher import FaultSchedule, FaultTeacher

    started = time.monotonic()
    with FaultTeacher(FaultSchedule(required_api_key=KEY)) as teacher, Attacker() as attacker:
        env = {"OPENAI_API_KEY": KEY, "DOC2SLM_TEACHER_BASE_URL": teacher.base_url,
               "DOC2SLM_TEACHER_MODEL": "fault-teacher", "DOC2SLM_CACHE_URI": (workdir / "cache").as_uri()}
        foreign = [attacker.base_url, attacker.base_url + "/", attacker.base_url.replace("127.0.0.1", "localhost"),
                   attacker.base_url.replace("http://", "HTTP://"), attacker.base_url.replace("/v1", "/v1/../v1")]
        with running_service(QAGEN, workdir / "logs", env) as qagen, client.open_channel(qagen.address) as channel:
            stub = qagen_pb2_grpc.QAGenServiceStub(channel)

            def ask(url: str) -> str:
                chunk = common_pb2.Chunk(doc_id="d", chunk_id=f"c{hash(url) & 0xffff}",
                                         text="The pump must be serviced every 500 hours of operation.")
                request = qagen_pb2.GeneratePairsRequest(
                    chunks=[chunk], options=qagen_pb2.GenerationOptions(teacher_base_url=url))
                return _grpc_status(lambda: client.stream(stub.GeneratePairs, request, deadline_s=60, retries=0))

            statuses = [ask(url) for url in foreign]
            control = ask(teacher.base_url)
        with_key = sum(1 for headers in attacker.headers if KEY in json.dumps(headers))
    leaked = len(attacker.headers)
    refused = sum(s == "PERMISSION_DENIED" for s in statuses)
    behaviour = (f"{refused} of {len(foreign)} spellings of a foreign teacher URL refused with PERMISSION_DENIED "
                 f"({', '.join(sorted(set(statuses)))}); the foreign server got {leaked} requests, {with_key} with "
                 f"the key; the configured teacher still answered ({control})")
    return _row("teacher key sent to a foreign URL", len(foreign), leaked + with_key, behaviour, started,
                ok=control == "OK" and refused == len(foreign), statuses=statuses)


@contextlib.contextmanager
def _predictor(workdir: Path) -> Iterator[tuple[Any, Path]]:
    from doc2slm_common.basemodel import resolve_base_model
    from doc2slm_serving.demo_adapters import train_secret_word_adapter
    from doc2slm_serving.launcher import start_server, stop_server

    published = workdir / "published"
    adapter = train_secret_word_adapter(resolve_base_model(None), "banana", published / "banana", steps=2)
    env = {"DOC2SLM_ADMIN_ENABLED": "true", "DOC2SLM_ADMIN_TOKEN": ADMIN_TOKEN,
           "DOC2SLM_ADMIN_URI_PREFIXES": published.as_uri(), "DOC2SLM_MAX_ADAPTERS": "4"}
    server = start_server(["--adapter", f"apple={adapter}", "--torch-threads", "1", "--models-dir", "/nonexistent"],
                          workdir / "serving.log", env=env)
    try:
        yield server, adapter
    finally:
        stop_server(server)


def _models(server: Any) -> set[str]:
    import httpx

    return {m["id"] for m in httpx.get(f"{server.http}/openai/v1/models", timeout=30).json()["data"]}


def adapter_swap(server: Any, adapter: Path, workdir: Path, started: float) -> ScenarioResult:
    import httpx
    from doc2slm_serving.admin import ADMIN_PREFIX

    outside = workdir / "elsewhere" / "banana"
    shutil.copytree(adapter, outside)
    good = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    attempts = [("apple", adapter.as_uri(), {}), ("apple", adapter.as_uri(), {"Authorization": "Bearer wrong-token-x"}),
                ("apple", adapter.as_uri(), {"Authorization": "Basic eDp5"}),
                ("apple", adapter.as_uri(), {"Authorization": f"bearer {ADMIN_TOKEN[:-1]}"}),
                ("stolen", adapter.as_uri(), {"X-Admin-Token": ADMIN_TOKEN}),
                ("apple", outside.as_uri(), good), ("stolen", "file:///proc/self", good),
                ("stolen", f"{adapter.parent.as_uri()}/../elsewhere/banana", good)]
    before = _models(server)
    codes = [httpx.post(f"{server.http}{ADMIN_PREFIX}/adapters", json={"name": name, "uri": uri}, headers=headers,
                        timeout=300).status_code for name, uri, headers in attempts]
    after = _models(server)
    leaked = sum(code < 400 for code in codes) + len(after - before)
    behaviour = (f"{len(attempts)} swaps without the token or from outside the admin prefixes: HTTP "
                 f"{', '.join(str(c) for c in codes)}; served models unchanged: {sorted(after) == sorted(before)}")
    return _row("unauthenticated adapter swap", len(attempts), leaked, behaviour, started, codes=codes)


def repository_unload(server: Any, started: float) -> ScenarioResult:
    import httpx
    from doc2slm_common.basemodel import BUNDLED_MODEL_NAME
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    names = ["apple", BUNDLED_MODEL_NAME]
    codes = [httpx.post(f"{server.http}/v2/repository/models/{name}/{action}", timeout=60).status_code
             for name in names for action in ("unload", "load")]
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        statuses = [_grpc_status(functools.partial(stub.RepositoryModelUnload,
                                                   pb.RepositoryModelUnloadRequest(model_name=name), timeout=30))
                    for name in names]
        ready = [stub.ModelReady(pb.ModelReadyRequest(name=name), timeout=30).ready for name in names]
    healthy = httpx.get(f"{server.http}/v2/health/ready", timeout=30).status_code
    leaked = sum(code < 400 for code in codes) + sum(s == "OK" for s in statuses) + ready.count(False)
    behaviour = (f"REST load/unload of {len(names)} models: HTTP {', '.join(str(c) for c in codes)}; gRPC "
                 f"RepositoryModelUnload: {', '.join(statuses)}; afterwards every model ready: {all(ready)}, "
                 f"/v2/health/ready {healthy}")
    return _row("model unload through the repository routes", len(codes) + len(statuses), leaked, behaviour,
                started, ok=healthy == 200)


def huge_prompt(server: Any, started: float) -> ScenarioResult:
    import httpx
    from doc2slm_common.basemodel import BUNDLED_MODEL_NAME

    body = json.dumps({"model": BUNDLED_MODEL_NAME,
                       "messages": [{"role": "user", "content": "word " * (10 * 1024 * 1024)}]}).encode()

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 1024 * 1024):
            yield body[start:start + 1024 * 1024]

    sends: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("chat", lambda: httpx.post(f"{server.http}/openai/v1/chat/completions", content=body, timeout=300,
                                    headers={"content-type": "application/json"})),
        ("chunked chat", lambda: httpx.post(f"{server.http}/openai/v1/chat/completions", content=chunked(),
                                             timeout=300, headers={"content-type": "application/json"})),
        ("v1 predict", lambda: httpx.post(f"{server.http}/v1/models/{BUNDLED_MODEL_NAME}:predict", timeout=300,
                                          content=json.dumps({"instances": ["word " * (10 * 1024 * 1024)]}))),
    ]
    codes: list[int] = []
    slowest = 0.0
    for _, send in sends:
        outcome: dict[str, httpx.Response] = {}
        sender = threading.Thread(target=lambda s=send, o=outcome: o.update(r=s()))
        sender.start()
        while sender.is_alive():
            began = time.monotonic()
            httpx.get(f"{server.http}/v2/health/live", timeout=60)
            slowest = max(slowest, time.monotonic() - began)
            time.sleep(0.05)
        sender.join()
        codes.append(outcome["r"].status_code)
    leaked = sum(code != 413 for code in codes)
    behaviour = (f"{len(sends)} requests of 50 MB ({', '.join(n for n, _ in sends)}): HTTP "
                 f"{', '.join(str(c) for c in codes)}; slowest liveness answer meanwhile {slowest:.2f} s")
    return _row("a 50 MB prompt", len(sends), leaked, behaviour, started, ok=slowest < 5.0, codes=codes)


def serving_rows(workdir: Path) -> list[ScenarioResult]:
    started = time.monotonic()
    with _predictor(workdir) as (server, adapter):
        rows = [adapter_swap(server, adapter, workdir, started)]
        rows.append(repository_unload(server, time.monotonic()))
        rows.append(huge_prompt(server, time.monotonic()))
    return rows


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def traversal_keys(workdir: Path) -> ScenarioResult:
    from doc2slm_common import s3, storage

    from tests.support.s3_server import S3Server

    started = time.monotonic()
    server = S3Server(workdir / "s3")
    server.start()
    try:
        with environment({**server.env(), "DOC2SLM_ALLOWED_URI_PREFIXES": f"s3://team-a/runs/,{workdir.as_uri()}"}):
            raw = s3.client()
            raw.make_bucket("team-a")
            raw.put_object("team-a", "secret/key.txt", io.BytesIO(b"secret"), 6)
            raw.put_object("team-a", "runs/p/adapter_config.json", io.BytesIO(b"{}"), 2)
            planted = 0
            for key in ["runs/p/../../escaped.txt", "runs/p//etc/escaped.txt", "runs/p/./../../escaped2.txt",
                        "runs/p/..\\..\\escaped3.txt"]:
                with contextlib.suppress(Exception):
                    raw.put_object("team-a", key, io.BytesIO(b"evil"), 4)
                    planted += 1
            held = sorted(o.object_name for o in raw.list_objects("team-a", prefix="runs/p/", recursive=True))
            before = _files(workdir) - _files(workdir / "s3")
            target = workdir / "cache" / "adapter"
            attempts: list[tuple[str, Callable[[], Any]]] = [
                ("download_prefix", lambda: storage.download_prefix("s3://team-a/runs/p/", target)),
                ("read ../secret", lambda: storage.read_bytes("s3://team-a/runs/../secret/key.txt")),
                ("read ./../secret", lambda: storage.read_bytes("s3://team-a/runs/./../secret/key.txt")),
                ("read //secret", lambda: storage.read_bytes("s3://team-a/runs//../secret/key.txt")),
                ("write ../secret", lambda: storage.write_text("s3://team-a/runs/../secret/key.txt", "overwritten")),
                ("list the bucket", lambda: storage.list_uris("s3://team-a/")),
            ]
            outcomes: list[str] = []
            leaked = 0
            for name, attempt in attempts:
                try:
                    result = attempt()
                except Exception as error:  # every refusal is a typed error; anything else would show here
                    outcomes.append(f"{name}: {type(error).__name__}")
                    continue
                outcomes.append(f"{name}: allowed")
                if name != "download_prefix" or not isinstance(result, Path):
                    leaked += 1
            after = _files(workdir) - _files(workdir / "s3")
            escaped = [p for p in after - before if target.resolve() not in p.resolve().parents]
            leaked += len(escaped)
            leaked += raw.get_object("team-a", "secret/key.txt").read() != b"secret"
    finally:
        server.stop()
    behaviour = (f"{planted} of 4 puts with traversal keys accepted by the S3 server, which holds {held} under "
                 "runs/p/ (SeaweedFS cleans dot segments; AWS S3 would keep them); "
                 f"{'; '.join(outcomes)}; files written outside the download folder: {len(escaped)}; the secret "
                 "object unchanged")
    return _row("traversal object keys against the real S3 server", len(attempts) + planted, leaked, behaviour,
                started, outcomes=outcomes)


def out_of_prefix(workdir: Path) -> ScenarioResult:
    from tests.reliability.extraction_calls import manual_pdf

    started = time.monotonic()
    allowed, other = workdir / "allowed", workdir / "other-run"
    allowed.mkdir()
    other.mkdir()
    (other / "doc.pdf").write_bytes(manual_pdf(2))
    (other / "qa.jsonl").write_text(json.dumps({"question": "q?", "answer": "a", "doc_id": "d", "chunk_id": "c"}))
    (allowed / "qa.jsonl").write_text((other / "qa.jsonl").read_text())
    env = {"DOC2SLM_ALLOWED_URI_PREFIXES": allowed.as_uri()}
    reads = ["file:///etc/passwd", "file:///proc/self/environ", "file:///dev/zero", (other / "doc.pdf").as_uri(),
             f"{allowed.as_uri()}/../other-run/doc.pdf"]
    statuses: list[str] = []
    with running_service(EXTRACTION, workdir / "logs", env) as extraction, \
            client.open_channel(extraction.address) as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        for uri in reads:
            header = extraction_pb2.DocumentHeader(source_name="x.pdf", uri=uri)
            messages = [extraction_pb2.ExtractDocumentRequest(header=header)]
            statuses.append(_grpc_status(functools.partial(client.stream, stub.ExtractDocument,
                                                           functools.partial(iter, messages),
                                                           deadline_s=60, retries=0)))
    writes = [(other / "split").as_uri(), f"{allowed.as_uri()}/../other-run/split2", "file:///tmp/../etc/doc2slm"]
    before = _files(other)
    with running_service(QAGEN, workdir / "logs", env) as qagen, client.open_channel(qagen.address) as channel:
        stub_q = qagen_pb2_grpc.QAGenServiceStub(channel)
        for out in writes:
            request = qagen_pb2.SplitDatasetRequest(qa_uri=(allowed / "qa.jsonl").as_uri(), out_uri=out)
            statuses.append(_grpc_status(functools.partial(stub_q.SplitDataset, request, timeout=60)))
        foreign_input = qagen_pb2.SplitDatasetRequest(qa_uri=(other / "qa.jsonl").as_uri(),
                                                      out_uri=(allowed / "s").as_uri())
        statuses.append(_grpc_status(functools.partial(stub_q.SplitDataset, foreign_input, timeout=60)))
    written = len(_files(other) - before) + Path("/etc/doc2slm").exists()
    leaked = sum(s == "OK" for s in statuses) + written
    behaviour = (f"{len(reads)} reads through ExtractionService and {len(writes) + 1} SplitDataset calls outside "
                 f"the service's prefix: {', '.join(sorted(set(statuses)))}; files written outside: {written}")
    return _row("URIs outside the service's prefixes", len(statuses), leaked, behaviour, started,
                ok=all(s in {"PERMISSION_DENIED", "INVALID_ARGUMENT"} for s in statuses), statuses=statuses)


def run(profile: Profile, workdir: Path) -> list[ScenarioResult]:
    rows: list[ScenarioResult] = []
    probes: list[tuple[str, Callable[[Path], ScenarioResult | list[ScenarioResult]]]] = [
        ("teacher", teacher_key), ("s3", traversal_keys), ("prefix", out_of_prefix), ("serving", serving_rows)]
    for name, probe in probes:
        folder = workdir / name
        folder.mkdir()
        try:
            outcome = probe(folder)
        except Exception as error:  # a probe that breaks is a failed row; the others still run
            outcome = ScenarioResult(fault=f"security probe {name}", injected=0, ok=False,
                                     behaviour=f"the probe itself failed: {type(error).__name__}: {error}")
        rows.extend(outcome if isinstance(outcome, list) else [outcome])
    return rows
