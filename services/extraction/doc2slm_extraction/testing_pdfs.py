"""A factory of good and broken PDFs, made with fpdf2, for tests, the benchmark and the fuzzing seed corpus.

Every builder is deterministic (fixed creation date, seeded prose), so doc ids and chunk ids in tests are
stable. Broken files are derived from good ones or written by hand where fpdf2 refuses to produce them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import random
import zlib
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF

FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
HEADER_TEXT = "ACME Pump Systems - Operator Manual"
FOOTER_TEXT = "Confidential - ACME Internal"

_COMPONENTS = ["intake valve", "pressure sensor", "drive belt", "control board", "coolant pump", "filter",
               "impeller", "bearing housing", "relief valve", "flow meter"]
_ROLES = ["service technician", "shift supervisor", "safety officer", "plant engineer", "operator"]
_ACTIONS = ["inspected", "cleaned", "replaced", "calibrated", "tightened", "lubricated"]


def prose_sentence(rng: random.Random) -> str:
    """One sentence carrying concrete facts (numbers, names, procedures) a question can be asked about."""
    part = rng.choice(_COMPONENTS)
    return rng.choice([
        f"The {part} must be {rng.choice(_ACTIONS)} every {rng.randint(2, 900)} operating hours "
        f"by a {rng.choice(_ROLES)}.",
        f"If the {part} reports more than {rng.randint(2, 99)} bar, stop the unit and call the "
        f"{rng.choice(_ROLES)} on extension {rng.randint(1000, 9999)}.",
        f"Model P-{rng.randint(100, 999)} ships with a {part} rated for {rng.randint(10, 400)} litres "
        f"per minute at {rng.randint(15, 85)} degrees Celsius.",
        f"Record each {part} check in form QA-{rng.randint(10, 99)} before the end of the shift.",
    ])


def prose_paragraph(rng: random.Random, sentences: int = 4) -> str:
    return " ".join(prose_sentence(rng) for _ in range(sentences))


class _ManualPdf(FPDF):
    """fpdf2 document with a running header, a footer and 'Page N of M' numbers on every page."""

    def __init__(self, header: str = HEADER_TEXT, footer: str = FOOTER_TEXT) -> None:
        super().__init__()
        self.running_header = header
        self.running_footer = footer
        self.set_creation_date(FIXED_DATE)
        self.alias_nb_pages()

    def header(self) -> None:
        if self.running_header:
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, self.running_header, new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

    def footer(self) -> None:
        if self.running_footer:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"{self.running_footer}    Page {self.page_no()} of {{nb}}")


def _plain_pdf() -> FPDF:
    pdf = FPDF()
    pdf.set_creation_date(FIXED_DATE)
    return pdf


def _body(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def multipage_pdf(pages: int = 6, paragraphs_per_page: int = 3, seed: int = 1) -> bytes:
    """Prose pages with a running header, a footer and page numbers; one page break per page."""
    rng = random.Random(seed)
    pdf = _ManualPdf()
    for _ in range(pages):
        pdf.add_page()
        for _ in range(paragraphs_per_page):
            _body(pdf, prose_paragraph(rng))
    return bytes(pdf.output())


def large_pdf(pages: int = 300, seed: int = 7) -> bytes:
    """A manual of several hundred dense pages, for the benchmark (about 2,500 characters a page)."""
    return multipage_pdf(pages=pages, paragraphs_per_page=5, seed=seed)


HYPHENATED_LINES = (
    "The controller keeps infor-\nmation about every ship-\nment in the central ledger.\n"
    "Pre-shift checks are mandatory."
)


def hyphenated_pdf() -> bytes:
    pdf = _plain_pdf()
    pdf.add_page()
    _body(pdf, HYPHENATED_LINES)
    return bytes(pdf.output())


LEFT_COLUMN = "Left column: the intake valve opens at 3 bar. It closes again at 1 bar."
RIGHT_COLUMN = "Right column: the relief valve vents at 12 bar. It resets by hand."


def two_column_pdf() -> bytes:
    pdf = _plain_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    top = pdf.get_y()
    pdf.multi_cell(85, 6, LEFT_COLUMN)
    pdf.set_xy(110, top)
    pdf.multi_cell(85, 6, RIGHT_COLUMN)
    return bytes(pdf.output())


NON_LATIN_TEXT = "Η αντλία λειτουργεί στους 40 βαθμούς. Насос работает при 40 градусах. Crème brûlée à 7 €."


def unicode_font_path() -> Path | None:
    """DejaVuSans from matplotlib's data or the system fonts; core PDF fonts carry only Latin-1."""
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        candidates.insert(0, Path(spec.origin).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf")
    return next((path for path in candidates if path.is_file()), None)


def non_latin_pdf() -> bytes:
    font = unicode_font_path()
    if font is None:
        raise FileNotFoundError("no DejaVuSans.ttf (matplotlib or fonts-dejavu) for non-Latin text")
    pdf = _plain_pdf()
    pdf.add_font("DejaVu", fname=str(font))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(0, 6, NON_LATIN_TEXT)
    return bytes(pdf.output())


def empty_page_pdf() -> bytes:
    """Three pages; the second has no content at all."""
    pdf = _plain_pdf()
    pdf.add_page()
    _body(pdf, "First page: the coolant pump runs at 1450 rpm.")
    pdf.add_page()
    pdf.add_page()
    _body(pdf, "Third page: the drive belt lasts 2000 hours.")
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    """One page holding only a picture, as a scanner would produce: no text layer."""
    from PIL import Image, ImageDraw  # fpdf2 depends on Pillow

    image = Image.new("L", (400, 200), color=255)
    ImageDraw.Draw(image).rectangle((20, 20, 380, 180), outline=0, width=5)
    pdf = _plain_pdf()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=150)
    return bytes(pdf.output())


def encrypted_pdf(user_password: str = "secret") -> bytes:
    """RC4-encrypted; with user_password="" any reader opens it without asking."""
    pdf = _plain_pdf()
    pdf.set_encryption(owner_password="owner-pass", user_password=user_password)
    pdf.add_page()
    _body(pdf, "Encrypted page: the service code is 4711.")
    return bytes(pdf.output())


def truncated_pdf() -> bytes:
    data = multipage_pdf(pages=2)
    return data[: len(data) // 3]


def random_bytes_pdf(size: int = 4096, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(size)


def flipped_bytes_pdf(seed: int = 5) -> bytes:
    """A good PDF with every byte of its compressed page streams and xref XOR-ed: nothing parses."""
    data = bytearray(multipage_pdf(pages=2))
    rng = random.Random(seed)
    for index in range(9, len(data)):
        if rng.random() < 0.2:
            data[index] ^= 0xFF
    return bytes(data)


def zero_byte_pdf() -> bytes:
    return b""


def _zeros_zlib(size_mib: int) -> bytes:
    """zlib stream of size_mib MiB of zero bytes, built from one repeated full-flush block (fast)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * (1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    raw = block * size_mib + compressor.flush(zlib.Z_FINISH)
    adler = (((size_mib << 20) % 65521) << 16) | 1  # adler32 of n zero bytes: a = 1, b = n mod 65521
    return b"\x78\xda" + raw + adler.to_bytes(4, "big")


def decompression_bomb_pdf(size_mib: int = 4096) -> bytes:
    """A one-page PDF whose content stream inflates (two Flate layers) from about 5 KB to size_mib MiB."""
    stream = zlib.compress(_zeros_zlib(size_mib), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(stream)
        + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


GOOD_PDFS: dict[str, Callable[[], bytes]] = {
    "multipage.pdf": multipage_pdf,
    "hyphenated.pdf": hyphenated_pdf,
    "two_column.pdf": two_column_pdf,
    "non_latin.pdf": non_latin_pdf,
    "empty_page.pdf": empty_page_pdf,
    "image_only.pdf": image_only_pdf,
    "empty_password.pdf": lambda: encrypted_pdf(user_password=""),
}
BROKEN_PDFS: dict[str, Callable[[], bytes]] = {
    "encrypted.pdf": encrypted_pdf,
    "truncated.pdf": truncated_pdf,
    "random_bytes.pdf": random_bytes_pdf,
    "flipped_bytes.pdf": flipped_bytes_pdf,
    "zero_byte.pdf": zero_byte_pdf,
    "decompression_bomb.pdf": decompression_bomb_pdf,
}

# The status each broken file must get from either backend (the good ones extract, with warnings at most).
EXPECTED_STATUS: dict[str, str] = {
    "encrypted.pdf": "FAILED_PRECONDITION",
    "truncated.pdf": "INVALID_ARGUMENT",
    "random_bytes.pdf": "INVALID_ARGUMENT",
    "flipped_bytes.pdf": "INVALID_ARGUMENT",
    "zero_byte.pdf": "INVALID_ARGUMENT",
    "decompression_bomb.pdf": "RESOURCE_EXHAUSTED",
}


def seed_corpus(directory: str | Path, include_large: bool = True) -> list[Path]:
    """Write every good and broken PDF (and the large one) into directory; returns the paths written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    builders = {**GOOD_PDFS, **BROKEN_PDFS}
    if include_large:
        builders["large.pdf"] = large_pdf
    written = []
    for name, build in builders.items():
        path = target / name
        path.write_bytes(build())
        written.append(path)
    return written
