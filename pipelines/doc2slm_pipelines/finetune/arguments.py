"""Command-line flags for every FinetuneConfig field, generated from the dataclass and its help text.

Shared by `python -m doc2slm_pipelines.finetune` and `doc2slm finetune`, so a new field is a new flag in
both without touching either.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .config import FinetuneConfig


def _parse_optional_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("auto", "none", ""):
        return None
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected on, off or auto, got {text!r}")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fine-tune settings")
    defaults = FinetuneConfig()
    for f in dataclasses.fields(FinetuneConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f"{f.metadata.get('help', '')} (default: {default})"
        if f.type in ("bool", bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                               help=help_text)
        elif f.type in ("bool | None",):
            group.add_argument(flag, dest=f.name, type=_parse_optional_bool, default=default,
                               metavar="on|off|auto", help=help_text)
        else:
            kind: Any = {"int": int, "float": float, "str": str}[str(f.type)]
            group.add_argument(flag, dest=f.name, type=kind, default=default, help=help_text)


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(FinetuneConfig)}
    return FinetuneConfig(**values).validate()
