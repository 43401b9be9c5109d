"""A CLI flag and the pipeline parameter for one knob share name, default and meaning."""

from __future__ import annotations

import inspect

import pytest
from doc2slm_cli.main import build_parser
from doc2slm_pipelines.pipeline import doc2slm_pipeline

# Every pipeline parameter the `qagen` and `split` commands expose, by the parameter's name.
QAGEN_KNOBS = ("teacher_base_url", "teacher_model", "generation_mode", "pairs_per_chunk", "questions_per_answer",
               "paraphrase_share", "max_teacher_requests", "split_seed", "heldout_docs_share", "seen_share",
               "validation_share")
SPLIT_KNOBS = ("split_seed", "heldout_docs_share", "seen_share", "validation_share")
EVALUATE_KNOBS = ("base_model", "max_new_tokens")


def pipeline_defaults() -> dict[str, object]:
    signature = inspect.signature(doc2slm_pipeline.pipeline_func)
    return {name: parameter.default for name, parameter in signature.parameters.items()}


@pytest.mark.parametrize(("argv", "knobs"), [
    (["qagen", "chunks.jsonl", "--out", "qa.jsonl"], QAGEN_KNOBS),
    (["split", "qa.jsonl", "--out", "dataset/"], SPLIT_KNOBS),
    (["evaluate", "--eval", "e.jsonl", "--adapter", "adapter/", "--out", "report/"], EVALUATE_KNOBS),
])
def test_flags_take_the_pipeline_parameters_names_and_defaults(argv: list[str], knobs: tuple[str, ...]) -> None:
    args = vars(build_parser().parse_args(argv))
    defaults = pipeline_defaults()
    assert {knob: args[knob] for knob in knobs} == {knob: defaults[knob] for knob in knobs}


def test_flags_are_spelled_as_the_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["qagen", "--help"])
    help_text = capsys.readouterr().out
    for knob in QAGEN_KNOBS:
        assert f"--{knob.replace('_', '-')}" in help_text, knob


def test_older_spellings_still_work() -> None:
    args = build_parser().parse_args(["qagen", "c.jsonl", "--out", "q.jsonl", "--mode", "qa", "--max-requests",
                                      "7", "--seed", "3"])
    assert (args.generation_mode, args.max_teacher_requests, args.split_seed) == ("qa", 7, 3)


def test_run_passes_a_training_seed_only_when_given() -> None:
    import json

    from doc2slm_cli.commands.run import run_options

    default = json.loads(run_options(build_parser().parse_args(["run"])).finetune_config())
    seeded = json.loads(run_options(build_parser().parse_args(["run", "--train-seed", "99"])).finetune_config())
    assert seeded["seed"] == 99 and "seed" not in default
    assert {k: v for k, v in seeded.items() if k != "seed"} == default
