"""Which generation engine the local teacher, the evaluation's answering and a local run's served adapter use.

One place reads DOC2SLM_ENGINE (the serving component reads the same variable through its settings), so the
answering step, the run plan and `doc2slm run`/`doc2slm evaluate` agree on it and on what a bad value says.
"""

from __future__ import annotations

import importlib.util
import os

from doc2slm_common.errors import InvalidInput

ENGINE_ENV = "DOC2SLM_ENGINE"
ENGINES = ("transformers", "onnx")


def configured_engine() -> str:
    """DOC2SLM_ENGINE, transformers (the reference and GPU path) when unset; a bad value is refused."""
    chosen = os.environ.get(ENGINE_ENV, "").strip() or "transformers"
    return checked_engine(chosen)


def checked_engine(name: str) -> str:
    if name not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {name!r} ({ENGINE_ENV})")
    return name


def use_local_engine() -> str:
    """Choose the generation engine of a run on this machine and set it in this process's environment,
    which the local teacher, the answering step and the served model inherit.

    The user's DOC2SLM_ENGINE stands (checked here, before any long work). Otherwise onnx where no GPU is:
    measured on 2 cores, the local teacher ran 6x and the evaluation's answers 4.5-5.6x transformers' speed,
    the answers identical at float32, and a tuned model trained on its teacher's pairs answered as well
    (README "Figures measured"). Where CUDA is, transformers: the GPU path."""
    if os.environ.get(ENGINE_ENV, "").strip():
        return configured_engine()
    import torch

    onnx_installed = importlib.util.find_spec("onnxruntime_genai") is not None
    chosen = "onnx" if onnx_installed and not torch.cuda.is_available() else "transformers"
    os.environ[ENGINE_ENV] = chosen
    return chosen
