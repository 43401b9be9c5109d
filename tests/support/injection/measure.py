"""The planted-instruction measurement: how many instructions planted in real manual text the qagen filter
finds, per language, and how many clean chunks of real manuals it flags.

    python -m tests.support.injection.measure     # prints the table that docs/security.md carries

- clean: manual_chunks.jsonl (build_corpus.py), real manual text in 11 languages;
- planted: each instruction of planted_dev.json (written before the patterns) and planted_heldout.json
  (written after they were frozen, in other words) inserted at a sentence boundary in the middle of a
  clean chunk of its own language (markup into English chunks), and the dev set again disguised four
  ways: zero-width characters inside words, full-width letters, Cyrillic look-alike letters, upper case;
- an instruction is caught when a sentence the filter returns lies within it or holds it (ChunkFilter then
  never offers it as an answer and drops pairs grounded only in it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from doc2slm_qagen.filters import planted_instructions

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "pl", "ru", "zh", "ja")
_BOUNDARY = re.compile(r"(?<=[.!?。！？])\s*")


def clean_chunks() -> list[dict[str, str]]:
    return [json.loads(line) for line in (HERE / "manual_chunks.jsonl").read_text().splitlines()]


def planted_sets() -> dict[str, dict[str, list[str]]]:
    """set name ("dev", "heldout") -> language (or "markup") -> instructions."""
    return {name: json.loads((HERE / f"planted_{name}.json").read_text()) for name in ("dev", "heldout")}


def plant(host: str, instruction: str) -> str:
    """The instruction inserted at the sentence boundary nearest the middle of the host text."""
    middle = len(host) // 2
    cuts = [m.end() for m in _BOUNDARY.finditer(host) if 0 < m.end() < len(host)]
    cut = min(cuts, key=lambda c: abs(c - middle)) if cuts else len(host)
    joiner = "" if re.search(r"[\u3000-\u9fff]", instruction[:1]) else " "
    return f"{host[:cut].rstrip()}{joiner}{instruction}{joiner}{host[cut:].lstrip()}"


def _zero_width(text: str) -> str:
    return re.sub(r"(\w)(\w)", "\\1\u200b\\2", text, count=6)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _homoglyphs(text: str) -> str:
    return text.translate(str.maketrans("aeopci", "аеорсі"))


DISGUISES: dict[str, Callable[[str], str]] = {
    "zero-width characters": _zero_width, "full-width letters": _full_width,
    "Cyrillic look-alikes": _homoglyphs, "upper case": str.upper,
}


@dataclass
class Row:
    label: str
    n: int = 0
    caught: int = 0
    missed: list[str] = field(default_factory=list)

    def record(self, host: str, instruction: str) -> None:
        """Plant the instruction in the host text and count whether it is caught."""
        self.n += 1
        if _caught(plant(host, instruction), instruction):
            self.caught += 1
        else:
            self.missed.append(instruction)

    def rate(self) -> float:
        return self.caught / self.n if self.n else 0.0


def _caught(text: str, instruction: str) -> bool:
    flat = " ".join(instruction.split())
    return any(found in flat or flat in found for found in planted_instructions(text))


def _hosts(chunks: list[dict[str, str]], lang: str) -> list[str]:
    return [c["text"] for c in chunks if c["lang"] == lang]


def measure_planted() -> list[Row]:
    chunks = clean_chunks()
    rows: list[Row] = []
    sets = planted_sets()
    for set_name, by_language in sets.items():
        for lang, instructions in by_language.items():
            hosts = _hosts(chunks, "en" if lang == "markup" else lang)
            row = Row(f"{lang} ({set_name})")
            for i, instruction in enumerate(instructions):
                row.record(hosts[(i * 7) % len(hosts)], instruction)
            rows.append(row)
    for name, disguise in DISGUISES.items():
        row = Row(f"disguised: {name} (dev, all languages)")
        for lang, instructions in sets["dev"].items():
            hosts = _hosts(chunks, "en" if lang == "markup" else lang)
            for i, instruction in enumerate(instructions):
                disguised = disguise(instruction)
                if disguised == instruction:
                    continue
                row.record(hosts[(i * 5 + 3) % len(hosts)], disguised)
        rows.append(row)
    return rows


def measure_clean() -> dict[str, tuple[int, list[str]]]:
    """language -> (chunks, the sentences flagged in them)."""
    found: dict[str, tuple[int, list[str]]] = {}
    for chunk in clean_chunks():
        n, flagged = found.get(chunk["lang"], (0, []))
        found[chunk["lang"]] = (n + 1, flagged + planted_instructions(chunk["text"]))
    return found


def table() -> str:
    lines = ["| planted in real manual text | n | caught |", "| --- | ---: | ---: |"]
    for row in measure_planted():
        lines.append(f"| {row.label} | {row.n} | {row.caught} ({row.rate():.0%}) |")
    lines += ["", "| clean real manual chunks | n | sentences flagged |", "| --- | ---: | ---: |"]
    clean = measure_clean()
    for lang in LANGUAGES:
        n, flagged = clean[lang]
        lines.append(f"| {lang} | {n} | {len(flagged)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    print(table())
    for row in measure_planted():
        for missed in row.missed:
            print(f"missed [{row.label}]: {missed}")
    for lang, (_, flagged) in measure_clean().items():
        for sentence in flagged:
            print(f"false positive [{lang}]: {sentence[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
