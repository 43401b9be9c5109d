"""Pages whose words run together: judged without a dictionary, read again with another reader, counted."""

from __future__ import annotations

import io

import pypdf
import pypdfium2
import pytest
from doc2slm_extraction import testing_quality_pdfs as quality_pdfs
from doc2slm_extraction.backends import PageRangeRequest, extract_page_range
from doc2slm_extraction.cleaning import normalize_page
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.text_quality import judge, reads_as_words

PROSE = ("This document gives frequently asked questions with their answers about the Debian distribution "
         "and about the Debian project. If applicable, pointers to other documentation will be given. ") * 3


def _mean_token_length(text: str) -> float:
    tokens = text.split()
    return sum(map(len, tokens)) / len(tokens)


def test_the_judge_tells_glued_words_from_prose_identifiers_and_urls() -> None:
    glued = PROSE.replace(" ", "")
    # As on the real pages measured: long tokens that are not glued prose (see text_quality's docstring).
    identifiers = "\n".join(f"_R_CHECK_{name}_=TRUE" for name in
                            ["CODE_ASSIGN_TO_GLOBALENV", "DEPRECATED_DEFUNCT", "REPLACING_IMPORTS"] * 5)
    urls = "See https://cran.r-project.org/web/packages/available_packages_by_name.html and " * 6
    flags = "-fsanitize=alignment,bool,bounds,builtin,enum,float-cast-overflow,float-divide-by-zero " * 4
    assert judge(glued).glued and judge(glued).bad and judge(glued).glued_share > 0.9
    for text in [PROSE, identifiers, urls, flags, "Donaudampfschifffahrtsgesellschaft " + PROSE]:
        assert not judge(text).bad and reads_as_words(text), text[:60]
    # The quick check that every page goes through agrees with the judge, also on one glued token.
    one_token = "Thisdocumentgivesfrequently(askedquestionswiththeir)answersaboutthedebiandistribution"
    assert not reads_as_words(glued) and not reads_as_words(one_token) and judge(one_token).bad
    assert not judge("Thisdocumentgivesfrequentlyaskedquestions").bad  # too little text to judge


def test_the_judge_finds_characters_no_font_maps() -> None:
    garbled = "\ufffd\ufffd\ue001 \ue002\ue003\ufffd " * 40 + PROSE[:200]
    assert judge(garbled).garbled and judge(garbled).bad and not judge(garbled).glued
    assert not reads_as_words(garbled)
    assert not judge(PROSE + "\ufffd").bad


def test_the_fixture_fonts_still_glue_where_the_docstring_says() -> None:
    """The recovery tests below rely on which reader glues which PDF; this shows it, reader by reader."""
    for font, glued_by in [(quality_pdfs.PYPDF_GLUES, {"pypdf"}), (quality_pdfs.PDFIUM_GLUES, {"pypdfium2"}),
                           (quality_pdfs.BOTH_GLUE, {"pypdf", "pypdfium2"})]:
        data = quality_pdfs.glued_words_pdf(font, glued_pages=1)
        texts = {"pypdf": pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text(),
                 "pypdfium2": pypdfium2.PdfDocument(data)[0].get_textpage().get_text_range()}
        assert {name for name, text in texts.items() if judge(normalize_page(text)).glued} == glued_by, font


@pytest.mark.parametrize(("font", "backend", "reader"), [
    (quality_pdfs.PYPDF_GLUES, "pypdf", "pypdfium2"),
    (quality_pdfs.PDFIUM_GLUES, "pypdfium2", "pypdf"),
])
def test_glued_pages_are_read_again_with_the_other_backend_and_counted(
    extractor: Extractor, font: tuple[str, int], backend: str, reader: str
) -> None:
    data = quality_pdfs.glued_words_pdf(font, glued_pages=2)  # 3 pages: ranges of 2 in the test settings
    outcome = extractor.extract(data, "glued.pdf", extractor.options(backend=backend))
    assert outcome.pages_recovered == 2 and outcome.pages_unrecoverable == 0
    assert outcome.warnings == [f"2 of 3 pages did not read as words (run together or unmapped characters) and "
                                f"were extracted again with {reader}: 1, 2"]
    text = " ".join(chunk.text for chunk in outcome.chunks)
    assert "frequently asked questions with their answers" in text
    assert _mean_token_length(text) < 7
    again = extractor.extract(data, "glued.pdf", extractor.options(backend=backend))
    assert [chunk.to_record() for chunk in again.chunks] == [chunk.to_record() for chunk in outcome.chunks]


def test_a_normal_page_is_read_once_and_kept_as_it_was() -> None:
    data = quality_pdfs.glued_words_pdf(quality_pdfs.PYPDF_GLUES, glued_pages=1)
    result = extract_page_range(PageRangeRequest(data, "pypdf", "", 0, -1, 100))
    plain = normalize_page(pypdf.PdfReader(io.BytesIO(data)).pages[1].extract_text())
    assert result.recovered == {1: "pypdfium2"} and result.unrecoverable == []
    assert result.pages[1] == plain and quality_pdfs.NORMAL_PAGE_TEXT in plain.replace("\n", " ")


def test_pages_no_reader_fixes_are_kept_counted_and_warned_about(extractor: Extractor) -> None:
    data = quality_pdfs.glued_words_pdf(quality_pdfs.BOTH_GLUE, glued_pages=1)
    outcome = extractor.extract(data, "glued.pdf", extractor.options())
    assert outcome.pages_recovered == 0 and outcome.pages_unrecoverable == 1
    assert outcome.warnings == ["1 of 2 pages do not read as words with any reader (run together or unmapped "
                                "characters); their text is kept as it is: 1"]
    assert "Thisdocumentgivesfrequentlyaskedquestions" in outcome.chunks[0].text


def test_the_counts_travel_in_the_document_result() -> None:
    from doc2slm_extraction.documents import DocumentOutcome
    from doc2slm_extraction.service import outcome_events

    outcome = DocumentOutcome(source="a.pdf", pages=9, pages_recovered=3, pages_unrecoverable=1,
                              non_content={"contents": 120, "running_lines": 40})
    result = list(outcome_events(outcome))[-1].result
    assert (result.pages_recovered, result.pages_unrecoverable) == (3, 1)
    assert dict(result.non_content_chars) == {"contents": 120, "running_lines": 40}
