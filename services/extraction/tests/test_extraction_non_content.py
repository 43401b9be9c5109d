"""Contents, lists of figures, indexes, title and copyright pages stay out of the chunks; content stays in."""

from __future__ import annotations

from doc2slm_extraction import testing_quality_pdfs as quality_pdfs
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.non_content import looks_like_listing, remove_non_content
from doc2slm_extraction.testing_pdfs import multipage_pdf

PROSE = ["The relief valve opens at 12 bar and must be checked every 200 hours by a service technician.",
         "Stop the unit when the gauge shows more than 11 bar and call the shift supervisor on extension 4711."]


def test_a_manual_loses_its_front_matter_contents_figures_and_index_and_keeps_its_content(
    extractor: Extractor
) -> None:
    outcome = extractor.extract(quality_pdfs.front_and_back_matter_pdf(), "manual.pdf", extractor.options())
    assert set(outcome.non_content) == {"title", "copyright", "contents", "figure_list", "index"}
    assert all(count > 0 for count in outcome.non_content.values())
    # Everything on the four front pages and the index page is counted: nothing of them is kept.
    text = "\n".join(chunk.text for chunk in outcome.chunks)
    for line in [*quality_pdfs.TITLE_LINES, *quality_pdfs.COPYRIGHT_LINES, "Contents", "List of Figures",
                 "Pump overview", "Belt tension gauge", "bearing housing", "relief valve, 5"]:
        assert line not in text, line
    assert ". . ." not in text and not any(looks_like_listing(chunk.text) for chunk in outcome.chunks)
    # The content pages, with their headings, a question, a table of small numbers and a formula, stay whole.
    words = text.split()
    for lines in quality_pdfs.CONTENT_PAGES:
        for line in lines:
            assert " ".join(line.split()) in " ".join(words), line
    assert outcome.chunks[0].page_start == 5 and outcome.chunks[-1].page_end == 7


def test_a_normal_manual_loses_only_its_running_lines(extractor: Extractor) -> None:
    outcome = extractor.extract(multipage_pdf(pages=6), "manual.pdf", extractor.options())
    assert set(outcome.non_content) == {"running_lines"} and outcome.pages_recovered == 0
    assert outcome.warnings == []


def test_a_short_document_has_no_front_matter() -> None:
    # A three-page note whose first page is a few short lines: all of it is content.
    pages = [["Pump P-400", "Quick reference"], [PROSE[0]], [PROSE[1]]]
    kept, dropped = remove_non_content(pages)
    assert kept == pages and dropped == {}


def test_a_title_page_goes_but_a_short_first_page_of_prose_stays() -> None:
    body = [[PROSE[0], PROSE[1]] for _ in range(4)]
    kept, dropped = remove_non_content([["ACME P-400 Pump", "Operator Manual", "2024"], *body])
    assert kept[0] == [] and dropped == {"title": len("ACME P-400 PumpOperator Manual2024")}
    prose_first = [["Introduction", PROSE[0]], *body]
    assert remove_non_content(prose_first) == (prose_first, {})


def test_contents_without_leader_dots_are_recognised_by_rising_page_numbers_and_section_numbers() -> None:
    contents = ["Contents", "1 Definitions and overview 1", "1.1 What is this FAQ? 1", "1.2 What is Debian? 1",
                "2 Getting and installing Debian 5", "2.1 What is the latest version? 5",
                "2.2 Are there package upgrades? 6", "3 Compatibility issues 9"]
    pages = [contents, *[[PROSE[0], PROSE[1]] for _ in range(9)]]
    kept, dropped = remove_non_content(pages)
    assert kept[0] == [] and dropped == {"contents": sum(map(len, contents))}


def test_an_index_continued_without_heading_and_with_wrapped_entries_goes() -> None:
    first = ["Index", "A", "apt, 37", "apt-doc, 36", ", 37", "aptitude, 38", "B", "binutils, 27",
             "build-essential, 18"]
    second = ["dpkg-dev, 33", "ekiga, 20", "labplot,", "8", "libc6, 32", "login, 49", ", 50", "mlmmj, 19"]
    pages = [*[[PROSE[0], PROSE[1]] for _ in range(50)], first, second]
    kept, dropped = remove_non_content(pages)
    assert kept[-2:] == [[], []] and dropped == {"index": sum(map(len, first + second))}


def test_tables_of_data_code_and_prose_with_numbers_stay() -> None:
    table = ["Part Weight in kg", "Intake valve 2", "Pressure sensor 1", "Drive belt 4", "Filter 3",
             "Impeller 6", "Bearing housing 5"]
    readings = ["Reading at hour 1", "Reading at hour 2", "Reading at hour 3", "Reading at hour 4",
                "Reading at hour 5", "Reading at hour 6"]  # rising small numbers, but no section numbers
    code = ["x <- c(1, 2, 3)", "for (i in 1:10)", "  y[i] <- x[i] * 2", "print(y, digits = 3)", "z <- 1:5",
            "sum(z) # 15"]
    faq = ["5.5 How can I create an R package?", "A package consists of a subdirectory containing the files",
           "DESCRIPTION and INDEX; see Section 1.1, page 3, and Section 2.4, page 12 for details."]
    pages = [[PROSE[0], PROSE[1]], table, readings, code, faq, [PROSE[1]]]
    kept, dropped = remove_non_content(pages)
    assert kept == pages and dropped == {}


def test_leader_dots_in_content_stay_when_they_are_few() -> None:
    page = [PROSE[0], "Total . . . . . . 3", PROSE[1], "Wait for the pump to stop . . . then open the valve."]
    pages = [[PROSE[0]], page, [PROSE[1]], [PROSE[0]]]
    assert remove_non_content(pages) == (pages, {})


def test_looks_like_listing_measures_chunks() -> None:
    assert looks_like_listing("1.1 Legalese . . . . . . 1 1.2 Obtaining this document . . . . . . 1 "
                              "1.3 Citing this document . . . . . . 1")
    assert looks_like_listing("clip, 24, 81, 137 clip1in, 191 clipcb, 191 clipping, 85 close, 55")
    assert not looks_like_listing(" ".join(PROSE) + " See Section 3.1, page 12. Version 4.2, 2022.")
    assert not looks_like_listing("> str(c(1,2)) num [1:2] 1 2 > deparse(c(1,2)) <z0,1> <z0,2>")
