"""Strict construction of an InferenceService through the kserve package's own models.

The generated models silently ignore unknown keys when deserialising, so this walks the manifest
against each model's `openapi_types` / `attribute_map` and rejects any key the model does not have;
constructing each model also runs its own required-field checks.
"""

from __future__ import annotations

import re
from typing import Any

import kserve.models as kserve_models
import kubernetes.client.models as k8s_models

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "bool": (bool,), "float": (int, float), "object": (object,),
    "datetime": (str,), "date": (str,),
}


class ModelMismatch(ValueError):
    """The manifest has a key or value the kserve models do not accept."""


def _model_class(type_name: str) -> type[Any]:
    for module in (kserve_models, k8s_models):
        if hasattr(module, type_name):
            return getattr(module, type_name)  # type: ignore[no-any-return]
    raise ModelMismatch(f"no model class {type_name}")


def build(value: Any, type_name: str, path: str) -> Any:
    """The model object for `value` of the OpenAPI type `type_name`, or ModelMismatch naming `path`."""
    if (match := _LIST.match(type_name)) is not None:
        if not isinstance(value, list):
            raise ModelMismatch(f"{path}: expected a list, got {type(value).__name__}")
        return [build(item, match.group(1), f"{path}[{i}]") for i, item in enumerate(value)]
    if (match := _DICT.match(type_name)) is not None:
        if not isinstance(value, dict):
            raise ModelMismatch(f"{path}: expected a map, got {type(value).__name__}")
        return {k: build(v, match.group(1), f"{path}.{k}") for k, v in value.items()}
    if type_name in _PRIMITIVES:
        if not isinstance(value, _PRIMITIVES[type_name]):
            raise ModelMismatch(f"{path}: expected {type_name}, got {value!r}")
        return value
    cls = _model_class(type_name)
    if not isinstance(value, dict):
        if cls.__name__ == "IntOrString" or type_name.endswith("IntOrString"):
            return value
        raise ModelMismatch(f"{path}: expected an object for {type_name}, got {value!r}")
    by_json_key = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    kwargs = {}
    for json_key, item in value.items():
        if json_key not in by_json_key:
            raise ModelMismatch(f"{path}.{json_key}: not a field of {type_name}")
        attr = by_json_key[json_key]
        kwargs[attr] = build(item, cls.openapi_types[attr], f"{path}.{json_key}")
    try:
        return cls(**kwargs)
    except ValueError as error:
        raise ModelMismatch(f"{path}: {error}") from None


def build_inference_service(manifest: dict[str, Any]) -> Any:
    return build(manifest, "V1beta1InferenceService", manifest["metadata"]["name"])
