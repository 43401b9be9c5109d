"""`make bench-embed`: embeddings/s of EmbeddingService against sentence-transformers' encode, same run.

1,000 answers of ~50 words are embedded four ways: `encode` called directly, one text per call and
at the best batch size found by a sweep, and the service (`python -m doc2slm_embedding`, a separate
process on loopback, its normal JSON call logs included) at batch 1 and at that same batch size.
Direct and service runs alternate within each round and the best round counts, so load from other
processes on the machine hits both sides alike. Overhead = service time / direct time - 1; target < 15%.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from doc2slm.v1 import embedding_pb2, embedding_pb2_grpc
from doc2slm_common.client import open_channel, unary, wait_for_serving
from doc2slm_common.contracts import EMBEDDING
from doc2slm_common.local_services import free_port

from doc2slm_embedding.encoder import resolve_model

TARGET_OVERHEAD = 0.15
_VOCABULARY = ("the pump valve filter must be checked every month before starting engine pressure warning light "
          "red reset button back panel operator manual safety gloves goggles cabinet electrician oil gearbox "
          "warranty delivery tank litres belt hours replace clean inspect tighten bolt seal leak temperature "
          "sensor alarm display menu press hold seconds until beep power supply cable socket")


def sample_answers(count: int, words_per_answer: int, seed: int = 0) -> list[str]:
    """Deterministic manual-like answers (the word count varies +-20% as real answers do)."""
    rng = np.random.default_rng(seed)
    vocabulary = _VOCABULARY.split()
    answers = []
    for _ in range(count):
        length = int(rng.integers(int(words_per_answer * 0.8), int(words_per_answer * 1.2) + 1))
        words = rng.choice(vocabulary, size=length)
        answers.append(" ".join(words).capitalize() + ".")
    return answers


def batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


# The service encodes on a gRPC worker thread; the baseline does too. Measured here under CPU
# contention, torch's OpenMP team on the main thread ran batch-1 encodes ~10x slower than the same
# calls on a worker thread, which would flatter the service.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    # CPU of the bench process and the server process together: on a shared machine wall time
    # swings with other people's load, CPU time much less.
    cpu_s: float


def measure(run: Callable[[], object], server_pid: int) -> Measurement:
    cpu_start = time.process_time() + process_cpu_s(server_pid)
    start = time.perf_counter()
    _WORKER.submit(run).result()
    wall = time.perf_counter() - start
    return Measurement(wall, time.process_time() + process_cpu_s(server_pid) - cpu_start)


def start_service(max_batch: int, torch_threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "DOC2SLM_EMBEDDING_BATCH_SIZE": str(max_batch), "DOC2SLM_MAX_TEXTS_PER_REQUEST": str(max_batch),
           "DOC2SLM_EMBEDDING_TORCH_THREADS": str(torch_threads)}
    process = subprocess.Popen([sys.executable, "-m", "doc2slm_embedding", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    wait_for_serving(address, EMBEDDING.full_name, timeout_s=300)
    return process, address


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_embedding.bench", description=__doc__)
    parser.add_argument("--texts", type=int, default=1000, help="answers to embed (default 1000)")
    parser.add_argument("--words", type=int, default=50, help="words per answer (default 50)")
    parser.add_argument("--batch-sizes", default="8,16,32,64", help="batch sizes to sweep")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best counts")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch CPU threads on both sides (0: torch's default, one per core)")
    parser.add_argument("--json-out", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    texts = sample_answers(args.texts, args.words)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    model = SentenceTransformer(resolve_model("bundled")[0], device="cpu")
    process, address = start_service(max(sizes), args.torch_threads)
    try:
        with open_channel(address) as channel:
            stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)

            def direct(size: int, subset: Sequence[str] = texts) -> Callable[[], object]:
                chunks = batches(subset, size)
                return lambda: [model.encode(c, batch_size=size, normalize_embeddings=True) for c in chunks]

            def service(size: int) -> Callable[[], object]:
                requests = [embedding_pb2.EmbedRequest(texts=c) for c in batches(texts, size)]
                return lambda: [unary(stub.Embed, r, deadline_s=120) for r in requests]

            # Warm both sides (first calls allocate and fill caches).
            measure(direct(max(sizes)), process.pid)
            measure(service(max(sizes)), process.pid)
            # The sweep only ranks batch sizes, so a third of the texts is enough.
            sweep_texts = texts[: max(1, len(texts) // 3)]
            sweep = {size: len(sweep_texts) / measure(direct(size, sweep_texts), process.pid).wall_s
                     for size in sizes}
            best = max(sweep, key=lambda s: sweep[s])
            results = {}
            for size in (1, best):
                direct_runs: list[Measurement] = []
                service_runs: list[Measurement] = []
                for round_index in range(args.rounds):
                    pair = [(direct_runs, direct(size)), (service_runs, service(size))]
                    for runs, run in pair if round_index % 2 == 0 else reversed(pair):
                        runs.append(measure(run, process.pid))
                direct_s = min(m.wall_s for m in direct_runs)
                service_s = min(m.wall_s for m in service_runs)
                direct_cpu = min(m.cpu_s for m in direct_runs)
                service_cpu = min(m.cpu_s for m in service_runs)
                results[size] = {"direct_per_s": len(texts) / direct_s, "service_per_s": len(texts) / service_s,
                                 "overhead": service_s / direct_s - 1.0, "direct_cpu_s": direct_cpu,
                                 "service_cpu_s": service_cpu, "cpu_overhead": service_cpu / direct_cpu - 1.0}
            # Where batch-1 overhead comes from: a call that does no model work at all.
            info = embedding_pb2.GetModelInfoRequest()
            calls = 300
            empty = measure(lambda: [unary(stub.GetModelInfo, info) for _ in range(calls)], process.pid)
            empty_call_ms = 1000 * empty.wall_s / calls
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(f"bench-embed: {len(texts)} answers of ~{args.words} words, all-MiniLM-L6-v2 on CPU "
          f"({os.cpu_count()} cores, torch threads {torch.get_num_threads()}), best of {args.rounds} "
          "alternating rounds")
    print("sweep (direct encode, texts/s): " + ", ".join(f"b{s}={rate:.0f}" for s, rate in sweep.items()))
    for size, row in results.items():
        verdict = "meets" if row["overhead"] < TARGET_OVERHEAD else "MISSES"
        print(f"batch {size:>4}: direct {row['direct_per_s']:8.1f}/s  service {row['service_per_s']:8.1f}/s  "
              f"service/direct ratio {1 + row['overhead']:.3f}  overhead {100 * row['overhead']:+.1f}% "
              f"({verdict} the {100 * TARGET_OVERHEAD:.0f}% target); CPU s direct {row['direct_cpu_s']:.1f} "
              f"service {row['service_cpu_s']:.1f} ({100 * row['cpu_overhead']:+.1f}%)")
    print(f"a call with no model work (GetModelInfo) takes {empty_call_ms:.2f} ms round trip, "
          f"{1000 * empty.cpu_s / calls:.2f} ms CPU; load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump({"texts": len(texts), "words": args.words, "sweep_per_s": sweep, "best_batch": best,
                       "results": results, "empty_call_ms": empty_call_ms}, handle, indent=2)


if __name__ == "__main__":
    main()
