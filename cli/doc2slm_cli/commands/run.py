"""`doc2slm run`: the whole job on this machine, PDFs in, a tuned and served adapter out.

Starts the four services and (unless --teacher-base-url) the local teacher, runs the pipeline through
kfp.local, prints the summary and one answer of the served tuned model, and stops what it started.
By default every content chunk of the documents goes to the teacher (--max-chunks caps it, sampled evenly);
the run prints its plan and estimated cost once the chunks are known. Exit codes: 0 done and served, 1 a
step failed, 3 the quality gate refused the adapter (worse than its base on held-out questions), 128+N
stopped by signal N (SIGTERM, SIGINT, SIGHUP, a parent's timeout): everything the run started is stopped
first. The steps' own output goes to OUT/logs/kfp.log; a failure prints one line with a status name and
where its log is (a failed step's last lines above it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doc2slm_cli.progress import Phases
from doc2slm_cli.shutdown import Stopped
from doc2slm_cli.step_watch import StepWatch

if TYPE_CHECKING:
    from doc2slm_pipelines.local import LocalRunOptions

DEFAULT_DOCS = Path("examples/docs")
CORPUS_SCRIPT = Path("examples/make_corpus.py")
GATE_REFUSED_EXIT = 3
KFP_LOG = "kfp.log"


def register(subparsers: Any) -> None:
    from doc2slm_pipelines.finetune.config import FinetuneConfig
    from doc2slm_pipelines.local import LocalRunOptions

    d = LocalRunOptions()
    parser = subparsers.add_parser("run", help="run the whole pipeline locally on a folder of PDFs",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default=str(DEFAULT_DOCS),
                        help="folder (or s3:// prefix) of PDFs; the example corpus is generated when the "
                             f"default {DEFAULT_DOCS} is empty")
    parser.add_argument("--out", default="out/run", help="where the run's files go (default out/run)")
    parser.add_argument("--teacher-base-url", default="", help="an OpenAI-compatible endpoint to use as teacher "
                        "instead of the local SmolLM2 (OPENAI_API_KEY from the environment)")
    parser.add_argument("--teacher-model", default="", help="the teacher's model name at that endpoint")
    parser.add_argument("--base-model", default=d.base_model, help="model to fine-tune: bundled, a path, "
                        "s3:// or a hub id (default bundled SmolLM2-135M-Instruct)")
    parser.add_argument("--max-chunks", type=int, default=d.max_chunks,
                        help="cap on the chunks sent to the teacher, sampled evenly over documents and positions "
                             f"(seeded by split_seed); 0 = every content chunk (default {d.max_chunks})")
    parser.add_argument("--pairs-per-chunk", type=int, default=d.pairs_per_chunk,
                        help=f"answer sentences (or QA pairs) asked per chunk (default {d.pairs_per_chunk})")
    parser.add_argument("--questions-per-answer", type=int, default=d.questions_per_answer,
                        help="answer_first: training questions per answer sentence, each in another framing "
                             f"(default {d.questions_per_answer})")
    parser.add_argument("--generation-mode", default=d.generation_mode, choices=["answer_first", "question_answer"],
                        help=f"answer_first suits weak teachers (default {d.generation_mode})")
    parser.add_argument("--epochs", type=float, default=d.epochs, help=f"training epochs (default {d.epochs})")
    parser.add_argument("--max-steps", type=int, default=d.max_steps,
                        help="cap on optimizer steps; 0 = from epochs (default 0)")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate,
                        help=f"peak AdamW learning rate (default {d.learning_rate:g}, measured for the "
                             "local student); 0 = the trainer's default (2e-4)")
    parser.add_argument("--max-length", type=int, default=d.max_length,
                        help=f"training sequence length in tokens (default {d.max_length})")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the fine-tune's data order, LoRA init and dropout (default: the trainer's, "
                             f"{FinetuneConfig.seed}); another seed on the same pairs measures how much a result "
                             "owes to chance")
    parser.add_argument("--max-eval-questions", type=int, default=d.max_eval_questions,
                        help=f"questions answered by base and tuned model (default {d.max_eval_questions})")
    parser.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens,
                        help=f"answer length cap in evaluation (default {d.max_new_tokens})")
    parser.add_argument("--serving-port", type=int, default=d.serving_port,
                        help=f"HTTP port of the served tuned model (default {d.serving_port})")
    parser.add_argument("--teacher-port", type=int, default=8080, help="HTTP port of the local teacher (8080)")
    parser.add_argument("--service-port", action="append", default=[], metavar="NAME=PORT",
                        help="move one gRPC service off its contract port, e.g. qagen=60052 (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other pipeline parameter (JSON values), e.g. split_seed=3")
    parser.set_defaults(func=run_command)


def allow_run_paths(docs: str, out: Path) -> None:
    """Let this run's services and steps use the folders its user named.

    Storage calls are confined to DOC2SLM_ALLOWED_URI_PREFIXES (by default the working directory, the
    temporary directory and the doc2slm cache). The person who runs `doc2slm run --docs D --out O` may
    read D and write O, so both join the prefixes, in this process's environment, which the services,
    the local teacher and the KFP step processes inherit.
    """
    import os

    from doc2slm_common import uri_access

    current = os.environ.get(uri_access.ENV_NAME) or ",".join(uri_access.default_prefixes())
    named = [docs if "://" in docs else str(Path(docs).resolve()), str(out)]
    os.environ[uri_access.ENV_NAME] = ",".join([current, *named])


def run_options(args: argparse.Namespace) -> LocalRunOptions:
    """The run's knobs from its flags."""
    from doc2slm_pipelines.local import LocalRunOptions
    from doc2slm_pipelines.submit import parse_parameters

    return LocalRunOptions(
        max_chunks=args.max_chunks, pairs_per_chunk=args.pairs_per_chunk,
        questions_per_answer=args.questions_per_answer, generation_mode=args.generation_mode,
        epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.learning_rate, max_length=args.max_length,
        train_seed=args.train_seed,
        max_eval_questions=args.max_eval_questions, max_new_tokens=args.max_new_tokens,
        teacher_base_url=args.teacher_base_url, teacher_model=args.teacher_model, base_model=args.base_model,
        serving_port=args.serving_port, extra=parse_parameters(args.set))


def run_command(args: argparse.Namespace) -> int:
    from doc2slm_common import storage
    from doc2slm_common.config import ConfigError
    from doc2slm_common.supervisor import ProcessFailed
    from doc2slm_pipelines.engine_choice import use_local_engine
    from doc2slm_pipelines.kfp_log import StepFailed
    from doc2slm_pipelines.local import (
        ask_served_model,
        ensure_example_corpus,
        first_question,
        local_arguments,
        run_local,
        stop_local_serving,
    )
    from doc2slm_pipelines.local_stack import TEACHER_MODEL, LocalStack
    from doc2slm_pipelines.run_plan import plan_run
    from doc2slm_pipelines.summary import format_summary, load_summary

    phases = Phases(total=5)
    out = Path(args.out).resolve()
    work_uri = storage.to_uri(out)
    phases.step(f"corpus: {args.docs}")
    if Path(args.docs) == DEFAULT_DOCS and ensure_example_corpus(DEFAULT_DOCS, CORPUS_SCRIPT):
        phases.note(f"generated the example corpus into {DEFAULT_DOCS}")
    try:
        ports = {name: int(port) for name, port in (item.split("=", 1) for item in args.service_port)}
    except ValueError:
        raise ConfigError("--service-port takes NAME=PORT, e.g. qagen=60052") from None
    allow_run_paths(args.docs, out)
    phases.note(f"engine: {use_local_engine()} (DOC2SLM_ENGINE; the local teacher, the answers, the served model)")
    use_local_teacher = not args.teacher_base_url
    options = run_options(args)
    logs = out / "logs"
    try:
        with LocalStack(log_dir=logs, ports=ports, start_teacher=use_local_teacher, teacher_port=args.teacher_port,
                        base_model=args.base_model, external_teacher_base_url=args.teacher_base_url) as stack:
            phases.step("starting services" + (" and the local teacher" if use_local_teacher else ""))
            stack.start(on_ready=lambda name: phases.note(f"{name} ready"))
            if use_local_teacher:
                options.teacher_base_url, options.teacher_model = stack.teacher_base_url, TEACHER_MODEL
            arguments = local_arguments(args.docs, str(out), options, ports=ports)
            phases.step(f"running the pipeline: extract, generate QA, split, fine-tune, evaluate, deploy "
                        f"(step logs: {logs / KFP_LOG})")

            def plan_lines(chunks: int) -> list[str]:
                return plan_run(chunks, arguments).lines(use_local_teacher)

            try:
                with StepWatch(out, phases.note, plan_lines):
                    run_local(arguments, out / "kfp", log_path=logs / KFP_LOG)
                summary = load_summary(work_uri)
                served = None
                if summary.get("deploy", "published", default=True):
                    phases.step("asking the served tuned model")
                    question = first_question(work_uri)
                    served = (question, ask_served_model(work_uri, question))
            finally:
                stop_local_serving(work_uri)
    except StepFailed as failed:
        print(f"step {failed.task} failed; its last lines:", file=sys.stderr)
        for line in failed.lines:
            print(f"  {line}", file=sys.stderr)
        print(f"{failed.status}: step {failed.task} failed: {failed.reason} (step log: {failed.log_path}; "
              f"service logs: {logs})", file=sys.stderr)
        return 1
    except ProcessFailed as failed:
        print(f"{failed.code_name}: {failed.message}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"{stopped.status}: doc2slm run {stopped} and stopped what it started (logs: {logs})",
              file=sys.stderr)
        return stopped.exit_code
    phases.step("done; services stopped")
    print(format_summary(summary, served))
    # A run whose adapter the quality gate refused did its job (the report says why) but made nothing to
    # serve: a distinct exit code lets a script tell that from success and from a failure.
    return 0 if served is not None or summary.get("deploy", "mode") == "none" else GATE_REFUSED_EXIT
