"""Write doc2slm's example corpus: three PDFs a company could have, made with fpdf2.

    python examples/make_corpus.py examples/docs

A product manual, a policy handbook and a technical FAQ (about 25 A5 pages together) with running
headers, footers and page numbers, as real documents have, so that extraction has something to clean.
The output is the same byte for byte on every run (fixed creation date, no randomness), which keeps
doc ids, chunk ids and the teacher cache stable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from fpdf import FPDF

sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus_text sits beside this script

from corpus_text import Section, faq, handbook, manual

CREATION_DATE = dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.UTC)
DOCUMENTS: dict[str, ModuleType] = {
    "aquaflow-af300-operator-manual.pdf": manual,
    "northwind-employee-handbook.pdf": handbook,
    "helix-object-storage-faq.pdf": faq,
}
BODY_SIZE = 10.5
LINE_MM = 5.2


class CorpusPdf(FPDF):
    """A5 pages with a running header, a footer line and 'Page N of M'."""

    def __init__(self, header_text: str, footer_text: str) -> None:
        super().__init__(format=(148, 210))  # A5 in millimetres
        self.header_text = header_text
        self.footer_text = footer_text
        self.set_creation_date(CREATION_DATE)
        self.set_margins(14, 16, 14)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("Helvetica", "I", 7.5)
        self.set_y(7)
        self.cell(0, 4, self.header_text, align="R")
        self.set_y(16)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 7.5)
        self.cell(0, 4, self.footer_text)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")


def _title(pdf: CorpusPdf, title: str, subtitle: str) -> None:
    pdf.set_font("Helvetica", "B", 17)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def _heading(pdf: CorpusPdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 45:  # keep a heading with the start of its section
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _paragraph(pdf: CorpusPdf, text: str) -> None:
    # In the FAQ the questions stand alone as bold lines; answers and all other text are plain.
    pdf.set_font("Helvetica", "B" if text.endswith("?") else "", BODY_SIZE)
    pdf.multi_cell(0, LINE_MM, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2.5)


def _steps(pdf: CorpusPdf, steps: list[str]) -> None:
    pdf.set_font("Helvetica", "", BODY_SIZE)
    for number, step in enumerate(steps, start=1):
        pdf.set_x(pdf.l_margin + 4)
        pdf.multi_cell(0, LINE_MM, f"{number}. {step}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.ln(1.5)


def render(module: ModuleType) -> bytes:
    """One document from a corpus_text module (TITLE, SUBTITLE, HEADER, FOOTER, sections())."""
    pdf = CorpusPdf(module.HEADER, module.FOOTER)
    pdf.set_title(f"{module.TITLE} - {module.SUBTITLE}")
    pdf.set_author(module.FOOTER.split(",")[0].split(" - ")[0])
    pdf.add_page()
    _title(pdf, module.TITLE, module.SUBTITLE)
    build_sections: Callable[[], list[Section]] = module.sections
    for heading, blocks in build_sections():
        _heading(pdf, heading)
        for block in blocks:
            if isinstance(block, list):
                _steps(pdf, block)
            else:
                _paragraph(pdf, block)
    return bytes(pdf.output())


def write_corpus(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, module in DOCUMENTS.items():
        path = directory / name
        path.write_bytes(render(module))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write doc2slm's example corpus (three PDFs).")
    parser.add_argument("directory", type=Path, help="where to write the PDFs (created if missing)")
    args = parser.parse_args(argv)
    for path in write_corpus(args.directory):
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
