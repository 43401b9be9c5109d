"""Request validation shared by every protocol, and the per-row text rules (stop strings, limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from doc2slm_serving.params import InvalidRequest, SamplingParams, build_sampling_params
from doc2slm_serving.rows import GenerationRequest, RowState


def params(**given: Any) -> SamplingParams:
    return build_sampling_params(prompt_tokens=10, context_length=100, default_max_tokens=50,
                                 max_tokens_limit=95, **given)


def test_defaults_fill_the_remaining_context() -> None:
    assert params().max_new_tokens == 50
    assert build_sampling_params(prompt_tokens=90, context_length=100, default_max_tokens=50,
                                 max_tokens_limit=50).max_new_tokens == 10
    assert params(temperature=0).greedy and not params().greedy


@pytest.mark.parametrize(("given", "param"), [
    ({"max_tokens": 91}, "max_tokens"), ({"max_tokens": 0}, "max_tokens"), ({"max_tokens": "5"}, "max_tokens"),
    ({"temperature": -0.1}, "temperature"), ({"temperature": 2.5}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"temperature": True}, "temperature"),
    ({"top_p": 0}, "top_p"), ({"top_p": 1.01}, "top_p"), ({"seed": 1.5}, "seed"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"), ({"stop": [""]}, "stop"), ({"stop": 3}, "stop"),
])
def test_bad_values_name_their_parameter(given: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        params(**given)
    assert raised.value.param == param


def test_prompt_longer_than_the_context() -> None:
    with pytest.raises(InvalidRequest, match="context is 100 tokens"):
        build_sampling_params(prompt_tokens=100, context_length=100, default_max_tokens=5, max_tokens_limit=5)


class Recorder:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.finished: tuple[str, int, int] | None = None

    def on_text(self, text: str) -> None:
        self.texts.append(text)

    def on_finish(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.finished = (reason, prompt_tokens, completion_tokens)

    def on_error(self, error: BaseException) -> None:
        raise AssertionError(error)


@pytest.fixture(scope="module")
def tokenizer(bundled_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(bundled_dir)


def feed(tokenizer: Any, text: str, **given: Any) -> tuple[Recorder, RowState]:
    sink = Recorder()
    row = RowState(GenerationRequest([1, 2, 3], None, params(temperature=0, **given), sink), tokenizer, {2})
    for token in tokenizer(text, add_special_tokens=False)["input_ids"]:
        row.push(token)
    row.push(2)  # end of sequence
    return sink, row


def test_text_streams_in_pieces_that_add_up(tokenizer: Any) -> None:
    sink, _ = feed(tokenizer, "Paris is the capital of France. Café crème!")
    assert "".join(sink.texts) == "Paris is the capital of France. Café crème!"
    assert len(sink.texts) > 3 and sink.finished is not None and sink.finished[0] == "stop"


def test_stop_string_cuts_the_text_even_across_tokens(tokenizer: Any) -> None:
    sink, _ = feed(tokenizer, "First answer.\n\nQuestion: next one", stop=["\n\nQuestion:"])
    assert "".join(sink.texts) == "First answer."
    assert sink.finished is not None and sink.finished[0] == "stop"


def test_max_tokens_ends_the_row_with_length(tokenizer: Any) -> None:
    sink, row = feed(tokenizer, "one two three four five six seven", max_tokens=3)
    assert row.reason == "length" and sink.finished == ("length", 3, 3)
    assert "".join(sink.texts) == tokenizer.decode(row.generated)
