"""Settings: flags over environment over defaults, validated once at start.

Each service defines a `Doc2slmSettings` subclass whose fields carry descriptions and bounds; a bad
value stops the program with a message that names the setting and what it accepts, not a traceback.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from doc2slm_common.contracts import ENV_PREFIX


class ConfigError(ValueError):
    """A setting has a value outside what it accepts."""


class Doc2slmSettings(BaseSettings):
    """Base of every doc2slm settings class: env prefix DOC2SLM_, unknown env vars ignored."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)


S = TypeVar("S", bound=BaseSettings)


def _describe(cls: type[BaseSettings], field: str) -> str:
    info = cls.model_fields.get(field)
    if info is None:
        return ""
    bounds = []
    for meta in info.metadata:
        for name, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, name, None)
            if value is not None:
                bounds.append(f"{symbol} {value}")
    accepted = f" (accepted: {', '.join(bounds)})" if bounds else ""
    return f"{info.description or ''}{accepted}"


def format_validation_error(cls: type[BaseSettings], error: ValidationError) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "?"
        env_name = f"{prefix}{field}".upper()
        detail = _describe(cls, field)
        value = item.get("input")
        lines.append(
            f"invalid setting {field} (--{field.replace('_', '-')} / {env_name}) = {value!r}: "
            f"{item['msg']}" + (f"; {detail}" if detail else "")
        )
    return "\n".join(lines)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from overrides (flags; None means 'not given'), then env, then defaults."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return cls(**given)
    except ValidationError as error:
        raise ConfigError(format_validation_error(cls, error)) from None
