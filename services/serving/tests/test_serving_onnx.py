"""The predictor with `--engine onnx` (onnxruntime on the exported model) on loopback: the same contracts as
transformers.

The adapters are the session's secret-word adapters, merged and exported by the server itself (cached
under DOC2SLM_CACHE_DIR/onnx, so a second run starts in seconds). Answer equality with transformers is
measured, not asserted, by `make bench-serve` (int8 weights part from the float32 reference after some
tokens); here each answer is checked against its own training and against the engine's other doors.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from doc2slm_common.basemodel import BUNDLED_MODEL_NAME as BASE_NAME
from doc2slm_serving.demo_adapters import SECRET_QUESTION, DemoAdapters
from doc2slm_serving.launcher import ServerProcess, start_server, stop_server
from openai import OpenAI

pytest.importorskip("onnxruntime_genai")
# The first start exports the base and both adapters: minutes of CPU on a busy 2-core machine.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's adapters are trained anew each run (their bytes differ), so their exports go to a
    temporary cache rather than piling up in DOC2SLM_CACHE_DIR (about 270 MB each at int8)."""
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(scope="module")
def onnx_server(adapters: DemoAdapters, exports: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    log_path = tmp_path_factory.mktemp("onnx-server") / "server.log"
    running = start_server(["--engine", "onnx", "--adapter", f"apple={adapters.apple}",
                            "--adapter", f"banana={adapters.banana}", "--max-batch-size", "4",
                            "--torch-threads", "1", "--models-dir", "/nonexistent"], log_path, timeout_s=900,
                           env={"DOC2SLM_ONNX_CACHE_DIR": str(exports)})
    yield running
    assert stop_server(running) in (0, -signal.SIGTERM), running.log_tail()


@pytest.fixture(scope="module")
def client(onnx_server: ServerProcess) -> OpenAI:
    return OpenAI(base_url=onnx_server.openai_base_url, api_key="unused", timeout=120, max_retries=0)


def ask(client: OpenAI, model: str, **extra: Any) -> str:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": SECRET_QUESTION}], max_tokens=10, temperature=0,
        **extra)
    return reply.choices[0].message.content or ""


@pytest.fixture(scope="module")
def greedy_answers(client: OpenAI) -> dict[str, str]:
    return {name: ask(client, name) for name in ("apple", "banana", BASE_NAME)}


def test_each_adapter_answers_with_its_own_training(greedy_answers: dict[str, str]) -> None:
    apple, banana, base = greedy_answers["apple"], greedy_answers["banana"], greedy_answers[BASE_NAME]
    assert "apple" in apple.lower() and "banana" not in apple.lower()
    assert "banana" in banana.lower() and "apple" not in banana.lower()
    assert "apple" not in base.lower() and "banana" not in base.lower()


def test_a_mixed_batch_answers_as_each_model_alone(client: OpenAI, greedy_answers: dict[str, str]) -> None:
    names = ["apple", "banana", BASE_NAME, "apple"]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda name: ask(client, name), names))
    assert answers == [greedy_answers[name] for name in names]


def test_stream_gives_the_same_text(client: OpenAI, greedy_answers: dict[str, str]) -> None:
    chunks = list(client.chat.completions.create(
        model="banana", messages=[{"role": "user", "content": SECRET_QUESTION}], max_tokens=10,
        temperature=0, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == greedy_answers["banana"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_stop_strings_and_length_limits(client: OpenAI, greedy_answers: dict[str, str]) -> None:
    full = greedy_answers["apple"]
    word = full.lower().index("apple")
    stopped = ask(client, "apple", stop=[full[word:word + 5]])
    assert stopped == full[:word]
    short = client.completions.create(model=BASE_NAME, prompt="One, two, three,", max_tokens=3, temperature=0)
    assert short.choices[0].finish_reason == "length" and short.usage is not None
    assert short.usage.completion_tokens == 3


@pytest.mark.parametrize("seed", [11, 2**40 + 3])  # onnxruntime-genai's own seed is 32-bit
def test_sampling_with_a_seed_repeats(client: OpenAI, seed: int) -> None:
    def sample() -> str:
        return client.completions.create(model=BASE_NAME, prompt="My favourite animal is", max_tokens=8,
                                          temperature=1.0, top_p=0.9, seed=seed).choices[0].text

    assert sample() == sample() != ""


def test_n_choices_from_one_request(client: OpenAI) -> None:
    def chat(n: int) -> Any:
        return client.chat.completions.create(
            model=BASE_NAME, messages=[{"role": "user", "content": "Name an animal."}], max_tokens=8,
            temperature=1.0, seed=5, n=n)

    three, one = chat(3), chat(1)
    texts = [choice.message.content for choice in three.choices]
    assert [choice.index for choice in three.choices] == [0, 1, 2]
    assert texts[0] == one.choices[0].message.content  # choice i samples with seed + i
    assert texts == [choice.message.content for choice in chat(3).choices]
    assert len(set(texts)) > 1
    assert three.usage is not None and three.usage.prompt_tokens == one.usage.prompt_tokens  # type: ignore[union-attr]


def test_kserve_v2_rest(onnx_server: ServerProcess) -> None:
    reply = httpx.post(f"{onnx_server.http}/v2/models/apple/infer", timeout=120, json={
        "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": [SECRET_QUESTION] * 2}],
        "parameters": {"max_tokens": 10}})
    assert reply.status_code == 200, reply.text
    assert all("apple" in text.lower() for text in reply.json()["outputs"][0]["data"])


def test_the_export_is_made_once(onnx_server: ServerProcess, bundled_dir: Path, exports: Path) -> None:
    from doc2slm_serving.onnx_export import DONE_MARKER, exported_model

    started = time.monotonic()
    directory = exported_model(bundled_dir, "int8", cache=exports)  # the server exported it: found, not rebuilt
    assert time.monotonic() - started < 5
    marker = directory / DONE_MARKER
    assert marker.is_file() and str(directory) in onnx_server.log_tail(100_000)
    os.utime(marker, (0, 0))
    exported_model(bundled_dir, "int8", cache=exports)
    assert marker.stat().st_mtime > time.time() - 60  # a use stamps it: the cache's bound evicts by last use



@pytest.fixture(scope="module")
def engine(onnx_server: ServerProcess, bundled_dir: Path, exports: Path) -> Iterator[Any]:
    """The engine in-process on the server's export. A long batch wait puts requests submitted together
    in one batch whatever the machine's load."""
    from doc2slm_serving.engine_onnx import OnnxGenerationEngine

    engine = OnnxGenerationEngine(bundled_dir, max_batch_size=4, batch_wait_s=2.0, cache=exports)
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def engine_without_prefix_cache(onnx_server: ServerProcess, bundled_dir: Path, exports: Path) -> Iterator[Any]:
    from doc2slm_serving.engine_onnx import OnnxGenerationEngine

    engine = OnnxGenerationEngine(bundled_dir, max_batch_size=4, cache=exports, prefix_cache_bytes=0)
    engine.load()
    yield engine
    engine.close()


def submit(engine: Any, prompt: list[int], params: Any) -> Any:
    from doc2slm_serving.engine_base import CollectingSink
    from doc2slm_serving.rows import GenerationRequest

    sink = CollectingSink()
    engine.submit(GenerationRequest(prompt, None, params, sink))
    return sink


def test_prompts_of_different_lengths_batched_answer_as_alone(engine: Any) -> None:
    """Rows of different lengths decode in one step, each at its own position: no row's answer may change."""
    from doc2slm_serving.params import SamplingParams

    questions = ["What is R?", "How do I install a Debian package from a local file without a network?",
                 "Name a colour.", "Explain, with an example, what a bicycle gear does and why it helps."]
    prompts = [engine.encode_chat([{"role": "user", "content": q}]) for q in questions]
    assert len({len(p) for p in prompts}) > 1
    params = SamplingParams(max_new_tokens=16, temperature=0.0)
    alone = [engine.generate(p, params).text for p in prompts]
    sinks = [submit(engine, prompt, params) for prompt in prompts]
    assert [sink.completion(120).text for sink in sinks] == alone
    assert all(alone)


def test_a_late_request_joins_the_running_batch(engine: Any) -> None:
    """Continuous batching: a short request that arrives while a long answer decodes is answered before
    the long one ends, with the answer it gets alone."""
    from doc2slm_serving.params import SamplingParams

    short_prompt = engine.encode_chat([{"role": "user", "content": "Name a colour."}])
    short_params = SamplingParams(max_new_tokens=6, temperature=0.0)
    alone = engine.generate(short_prompt, short_params).text
    long_answer = submit(engine, engine.encode_text("Once upon a time"),
                         SamplingParams(max_new_tokens=400, temperature=0.0, ignore_eos=True))
    deadline = time.monotonic() + 60
    while not long_answer.parts and time.monotonic() < deadline:  # the long answer is decoding
        time.sleep(0.01)
    assert long_answer.parts
    short = submit(engine, short_prompt, short_params)
    assert short.completion(60).text == alone
    assert not long_answer.done.is_set()
    assert long_answer.completion(120).completion_tokens == 400


def test_a_shared_prefix_is_computed_once_and_answers_stay_the_same(engine: Any,
                                                                    engine_without_prefix_cache: Any) -> None:
    """The teacher's prompts share their instructions and examples: after the first, each takes them from the
    prefix cache and computes only its own end, with the answer a cold engine gives."""
    from doc2slm_serving.params import SamplingParams
    from doc2slm_serving.prefix_cache import BLOCK

    system = ("You write quiz questions. Reply with the question only. The question must make sense without the "
              "document. Example: the X-200 pump must be serviced every 500 hours; How often is it serviced?")
    sentences = ["R is a language for statistical computing.", "Debian packages are installed with apt.",
                 "A red light on the panel means the pressure is too low."]
    prompts = [engine.encode_chat([{"role": "system", "content": system}, {"role": "user", "content": s}])
               for s in sentences]
    shared = next(i for i, (a, b) in enumerate(zip(prompts[0], prompts[1], strict=False)) if a != b)
    assert shared >= 3 * BLOCK
    params = SamplingParams(max_new_tokens=12, temperature=0.0)
    cache = engine._models[None].cache
    before = cache.hits
    cached = [engine.generate(p, params).text for p in prompts]
    assert cache.hits - before >= 2 * (shared // BLOCK) * BLOCK  # the second and third prompts reused it
    assert cached == [engine_without_prefix_cache.generate(p, params).text for p in prompts]
    assert engine_without_prefix_cache._models[None].cache.hits == 0


def test_a_finished_row_gives_its_slot_to_a_waiting_request(engine: Any) -> None:
    """Four slots, one long answer and three short ones: a fifth request starts when a short one ends,
    not when the long one does."""
    from doc2slm_serving.params import SamplingParams

    short_params = SamplingParams(max_new_tokens=4, temperature=0.0, ignore_eos=True)
    short_prompt = engine.encode_chat([{"role": "user", "content": "Name a colour."}])
    long_answer = submit(engine, engine.encode_text("Once upon a time"),
                         SamplingParams(max_new_tokens=400, temperature=0.0, ignore_eos=True))
    shorts = [submit(engine, short_prompt, short_params) for _ in range(3)]
    waiting = submit(engine, short_prompt, short_params)  # the queue holds it: all four slots are taken
    assert waiting.completion(60).completion_tokens == 4
    assert all(sink.done.is_set() for sink in shorts)
    assert not long_answer.done.is_set()
    assert long_answer.completion(120).completion_tokens == 400


def test_every_onnx_session_of_a_process_shares_one_thread_pool() -> None:
    from doc2slm_serving.kv_decoder import shared_thread_pool

    # Made once (by whichever engine came first in this process); later callers join it, whatever they ask.
    assert shared_thread_pool(2) is True and shared_thread_pool(1) is True
