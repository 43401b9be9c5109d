"""Rebuild manual_chunks.jsonl: real manual text in 11 languages, the clean side of the planted-instruction
measurement (tests/support/injection/measure.py).

    python -m tests.support.injection.build_corpus [--per-language 30]

Sources (Debian packages, fetched with `apt-get download`; nothing is installed):
- en: the R manuals and the gnuplot manual in tools/manuals (scripts/fetch_manuals.sh), text by pypdfium2
- de fr es it pt ja zh: Debian Reference 2.100 translations (debian-reference-XX), HTML paragraphs
- ru: the Debian FAQ 11.1 in Russian (debian-faq-ru), its plain-text edition
- nl pl: the Dutch and Polish manual pages (manpages-nl, manpages-pl 4.18.1), rendered by man(1)

Chunks are consecutive paragraphs joined up to about 900 characters, taken evenly through each source
so that prose, command lines, tables and lists all appear. The file is committed: tests do not fetch.
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
TARGET_CHARS = 900
HTML_PACKAGES = {"de": "debian-reference-de", "fr": "debian-reference-fr", "es": "debian-reference-es",
                 "it": "debian-reference-it", "pt": "debian-reference-pt", "ja": "debian-reference-ja",
                 "zh": "debian-reference-zh-cn"}
MAN_PACKAGES = {"nl": "manpages-nl", "pl": "manpages-pl"}


class _Paragraphs(html.parser.HTMLParser):
    """Text of <p>, <li>, <td> and <pre> elements."""

    BLOCKS = frozenset({"p", "li", "td", "pre", "dd"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            if self._depth == 0:
                self._parts = []
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS and self._depth:
            self._depth -= 1
            if self._depth == 0:
                self.found.append(" ".join("".join(self._parts).split()))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._parts.append(data)


def _download(packages: Iterable[str], into: Path) -> dict[str, Path]:
    names = list(packages)
    subprocess.run(["apt-get", "download", "-q", *names], cwd=into, check=True, capture_output=True)
    unpacked: dict[str, Path] = {}
    for name in names:
        deb = next(into.glob(f"{name}_*.deb"))
        root = into / name
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        unpacked[name] = root
    return unpacked


def _chunks(paragraphs: Iterable[str]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        paragraph = " ".join(paragraph.split())
        if len(paragraph) < 40:
            continue
        if current and len(current) + len(paragraph) > TARGET_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current} {paragraph}".strip()
    if current:
        chunks.append(current)
    return chunks


def _evenly(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _html_paragraphs(root: Path) -> list[str]:
    paragraphs: list[str] = []
    for page in sorted(root.rglob("*.html")):
        parser = _Paragraphs()
        parser.feed(page.read_text(errors="replace"))
        paragraphs.extend(parser.found)
    return paragraphs


def _text_paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def _man_paragraphs(root: Path, limit: int = 60) -> list[str]:
    paragraphs: list[str] = []
    pages = sorted(root.rglob("man1/*.gz"))
    env = {**os.environ, "MANWIDTH": "200", "MAN_KEEP_FORMATTING": "0", "LANG": "C.UTF-8"}
    for page in _evenly([str(p) for p in pages], limit):
        rendered = subprocess.run(["man", "-l", "-E", "UTF-8", page], capture_output=True, text=True, env=env)
        text = re.sub(r".\x08", "", rendered.stdout)
        paragraphs.extend(_text_paragraphs(text))
    return paragraphs


def _pdf_paragraphs(pdf: Path) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    pages = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    return _text_paragraphs("\n\n".join(pages).replace("\r\n", "\n"))


def build(per_language: int) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    manuals = REPO / "tools" / "manuals"
    subprocess.run(["bash", str(REPO / "scripts" / "fetch_manuals.sh"), str(manuals)], check=True)
    english = [c for name in ("R-intro", "R-admin", "gnuplot") for c in _evenly(
        _chunks(_pdf_paragraphs(manuals / f"{name}.pdf")), per_language // 3)]
    records += [{"lang": "en", "source": "r-doc-pdf/gnuplot-doc manuals", "text": t} for t in english]
    with tempfile.TemporaryDirectory() as scratch:
        unpacked = _download([*HTML_PACKAGES.values(), *MAN_PACKAGES.values(), "debian-faq-ru"], Path(scratch))
        for lang, package in HTML_PACKAGES.items():
            chunks = _evenly(_chunks(_html_paragraphs(unpacked[package])), per_language)
            records += [{"lang": lang, "source": f"{package} 2.100", "text": t} for t in chunks]
        faq = next(unpacked["debian-faq-ru"].rglob("debian-faq.ru.txt.gz"))
        chunks = _evenly(_chunks(_text_paragraphs(gzip.decompress(faq.read_bytes()).decode())), per_language)
        records += [{"lang": "ru", "source": "debian-faq-ru 11.1", "text": t} for t in chunks]
        for lang, package in MAN_PACKAGES.items():
            chunks = _evenly(_chunks(_man_paragraphs(unpacked[package])), per_language)
            records += [{"lang": lang, "source": f"{package} 4.18.1", "text": t} for t in chunks]
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-language", type=int, default=30)
    args = parser.parse_args(argv)
    records = build(args.per_language)
    with (HERE / "manual_chunks.jsonl").open("w") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for record in records:
        counts[record["lang"]] = counts.get(record["lang"], 0) + 1
    print(f"wrote {len(records)} chunks: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
