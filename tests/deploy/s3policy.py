"""A small evaluator of S3 identity policies (the IAM JSON MinIO and AWS read) for the storage tests.

It answers "may this identity do this action on this bucket / key (or list this prefix)?" for what the
chart renders: Allow statements, Action and Resource with "*" and "?" wildcards, and StringLike on
s3:prefix. Anything else in a policy (Deny, NotAction, other conditions) is refused loudly rather than
guessed, so a policy the evaluator does not understand fails the tests instead of passing them.
"""

from __future__ import annotations

import re
from typing import Any

Policy = dict[str, Any]


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z")


def _matches(patterns: str | list[str], value: str) -> bool:
    return any(_glob(p).match(value) for p in ([patterns] if isinstance(patterns, str) else patterns))


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator != "StringLike":
            raise ValueError(f"condition operator {operator} is not modelled")
        for key, patterns in tests.items():
            if key not in context or not _matches(patterns, context[key]):  # a missing key never matches
                return False
    return True


def allowed(policy: Policy, action: str, bucket: str, key: str | None = None, prefix: str | None = None) -> bool:
    """Whether `policy` allows `action` on the bucket (key None) or on the object `key`; `prefix` is the
    s3:prefix of a ListBucket request (None: the request names none)."""
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
    context = {} if prefix is None else {"s3:prefix": prefix}
    for statement in policy["Statement"]:
        unknown = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        if statement["Effect"] != "Allow" or unknown:
            raise ValueError(f"statement {statement.get('Sid')} uses what the evaluator does not model: "
                             f"{statement['Effect']} {sorted(unknown)}")
        if (_matches(statement["Action"], action) and _matches(statement["Resource"], resource)
                and _condition_holds(statement.get("Condition", {}), context)):
            return True
    return False
