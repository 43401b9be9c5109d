"""PDFs made with fpdf2 whose text is hard to read well: words placed without space characters, and the
pages around a manual's content (title, copyright, contents, list of figures, index). For tests.

Glued words: each line is one TJ array of words with a gap between them but no space character, as
LaTeX/DocBook toolchains write them. Whether a reader sees a word gap depends on its own threshold, which
depends on the font: with DejaVu Sans Mono and a gap of 0.2 em pypdf glues the words and pdfium does not;
with STIX and 0.12 em pdfium glues and pypdf does not; with DejaVu Sans and 0.1 em both glue (measured with
pypdf 7.1 and pypdfium2 4.x; `test_extraction_text_quality` checks that it still holds).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fpdf import FPDF

from doc2slm_extraction.testing_pdfs import FIXED_DATE

GLUED_SENTENCE = ("This document gives frequently asked questions with their answers about the coolant pump "
                  "the intake valve and the drive belt of every unit")
NORMAL_PAGE_TEXT = ("The relief valve vents at 12 bar and resets by hand. Check the drive belt every 200 hours "
                    "and replace it after 2000 hours.")
# (font file, gap between words in thousandths of an em) for which one backend glues, see the docstring.
PYPDF_GLUES = ("DejaVuSansMono.ttf", 200)
PDFIUM_GLUES = ("STIXGeneral.ttf", 120)
BOTH_GLUE = ("DejaVuSans.ttf", 100)


def font_path(name: str) -> Path | None:
    """A TrueType font from matplotlib's data or the system's DejaVu fonts."""
    candidates = [Path("/usr/share/fonts/truetype/dejavu") / name]
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        candidates.insert(0, Path(spec.origin).parent / "mpl-data/fonts/ttf" / name)
    return next((path for path in candidates if path.is_file()), None)


def _glued_page(pdf: FPDF, gap: int, lines: int) -> None:
    pdf.add_page()
    pdf.text(14, 14, "FAQ")  # puts the font in the page's resources, which the raw TJ below uses
    font = pdf.current_font
    assert font is not None  # set by the caller
    y = 780.0
    for _ in range(lines):
        parts = [font.encode_text(word).removesuffix(" Tj") for word in GLUED_SENTENCE.split(" ")]
        pdf._out(f"BT /F{font.i} 11 Tf 40 {y:.2f} Td [{f' -{gap} '.join(parts)}] TJ ET")
        y -= 14


def glued_words_pdf(font: tuple[str, int] = PYPDF_GLUES, glued_pages: int = 2) -> bytes:
    """glued_pages pages of words without space characters, then one normal page (core font, spaces)."""
    path = font_path(font[0])
    if path is None:
        raise FileNotFoundError(f"no {font[0]} (matplotlib or fonts-dejavu) for the glued-words PDF")
    pdf = FPDF()
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_font("Glued", fname=str(path))
    pdf.set_font("Glued", size=11)
    for _ in range(glued_pages):
        _glued_page(pdf, font[1], lines=8)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, NORMAL_PAGE_TEXT)
    return bytes(pdf.output())


TITLE_LINES = ["ACME P-400 Pump", "Operator Manual", "Edition 3", "ACME Pump Systems"]
COPYRIGHT_LINES = ["Copyright (c) 2024 ACME Pump Systems. All rights reserved.",
                   "Permission is granted to copy this manual for use with ACME pumps."]
CONTENTS = [("1 Safety", 5), ("1.1 Hot surfaces", 5), ("1.2 Pressure limits", 5), ("2 Maintenance", 6),
            ("2.1 Drive belt", 6), ("2.2 Filters", 6), ("3 Questions and answers", 7), ("4 Data", 7)]
FIGURES = [("1 Pump overview", 5), ("2 Belt tension gauge", 6), ("3 Filter housing", 6), ("4 Flow curve", 7)]
INDEX = ["B", "bearing housing, 6", "belt tension, 6, 7", "C", "coolant pump, 5, 7", "F", "filter, 6",
         "flow meter, 7", "P", "pressure limits, 5", "R", "relief valve, 5, 7", "S", "safety, 5"]
CONTENT_PAGES = [
    ["1 Safety", "Never touch the pump housing while it runs: its surface reaches 85 degrees Celsius.",
     "1.2 Pressure limits", "The relief valve opens at 12 bar. Stop the unit when the gauge shows 11 bar."],
    ["2 Maintenance", "Replace the drive belt every 2000 operating hours.",
     "Clean the filter every 200 hours; replace it after 5 cleanings."],
    ["3 Questions and answers", "Why does the pump hum after stopping?",
     "The coolant pump runs on for 30 seconds to cool the bearings.", "4 Data",
     "Part Weight in kg", "Intake valve 2", "Pressure sensor 1", "Drive belt 4", "Filter 3", "Impeller 6",
     "Flow in litres per minute, by speed:", "speed = 1450", "flow = speed * 0.12 + 3"],
]


def _lines_page(pdf: FPDF, lines: list[str], size: int = 11) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", size=size)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")


def _leader_line(title: str, page: int) -> str:
    return f"{title} {' .' * max(3, 30 - len(title) // 2)} {page}"


def front_and_back_matter_pdf() -> bytes:
    """Eight pages: title, copyright, contents and list of figures (leader dots), three pages of content
    (prose, a question and answer, a table of small numbers, a formula), an index."""
    pdf = FPDF()
    pdf.set_creation_date(FIXED_DATE)
    _lines_page(pdf, TITLE_LINES, size=20)
    _lines_page(pdf, COPYRIGHT_LINES, size=9)
    _lines_page(pdf, ["Contents", *(_leader_line(title, page) for title, page in CONTENTS)])
    _lines_page(pdf, ["List of Figures", *(_leader_line(title, page) for title, page in FIGURES)])
    for lines in CONTENT_PAGES:
        _lines_page(pdf, lines)
    _lines_page(pdf, ["Index", *INDEX])
    return bytes(pdf.output())
