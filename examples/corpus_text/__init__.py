"""Text of doc2slm's bundled example corpus: a product manual, a policy handbook and a technical FAQ."""

from __future__ import annotations

from typing import Union

# A section is a heading and its blocks: a paragraph (str) or a numbered list of steps (list[str]).
Block = Union[str, list[str]]  # noqa: UP007 (a runtime alias)
Section = tuple[str, list[Block]]
