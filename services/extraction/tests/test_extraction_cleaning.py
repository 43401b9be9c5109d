"""Cleaning and token counting on text alone (no PDF parsing)."""

from __future__ import annotations

from doc2slm_extraction.cleaning import assemble_document, normalize_page, remove_running_lines
from doc2slm_extraction.tokens import count_tokens


def test_normalize_page_applies_nfkc_and_drops_control_characters() -> None:
    raw = "ﬁrst\x00 line\u00a0with\t tabs \r\nsoft\u00adhyphen\u200b here\x0c"
    assert normalize_page(raw) == "first line with tabs\nsofthyphen here"


def test_running_headers_footers_and_page_numbers_are_removed() -> None:
    bodies = ["The intake valve opens at 3 bar.", "Call extension 4711.", "Check the filter daily.",
              "Belts last 2000 hours.", "Record checks in form QA-12."]
    pages = [["ACME Manual", body, f"Page {n} of 5"] for n, body in enumerate(bodies, start=1)]
    cleaned, removed = remove_running_lines(pages)
    assert all(lines == [pages[i][1]] for i, lines in enumerate(cleaned))
    assert removed == sum(len(p[0]) + len(p[2]) for p in pages)


def test_lines_repeating_on_few_pages_are_kept() -> None:
    pages = [["Warning: hot surface.", f"Text {n}."] for n in range(8)]
    pages[0][0] = pages[1][0] = "Only twice at the top."
    cleaned, _ = remove_running_lines(pages)
    assert cleaned[0][0] == "Only twice at the top."


def test_running_headers_of_one_chapter_are_removed_but_short_code_lines_kept() -> None:
    # As in the R manuals: each chapter's pages carry "Chapter N: <title> <page>", on 5 of 20 pages, far
    # below the document-wide share; a closing brace at the edge of several pages in a row is code.
    titles = ["Introduction and preliminaries", "Simple manipulations", "Objects and their modes",
              "Ordered and unordered factors"]
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo",
             "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
    pages = []
    for number, word in enumerate(words, start=1):
        title = titles[(number - 1) // 5]
        body = [f"The {word} step comes next.", "}" if 6 <= number <= 9 else f"{word} <- TRUE"]
        pages.append([f"Chapter {(number - 1) // 5 + 1}: {title} {number}", *body])
    cleaned, removed = remove_running_lines(pages)
    assert [lines[0] for lines in cleaned] == [page[1] for page in pages]
    assert removed == sum(len(page[0]) for page in pages)
    assert [lines[-1] for lines in cleaned[5:9]] == ["}"] * 4


def test_hyphenated_line_breaks_are_joined_and_real_hyphens_kept() -> None:
    document = assemble_document(["The unit keeps infor-\nmation about ship-\nment dates.\nPre-shift checks."])
    assert document.text == "The unit keeps information about shipment dates.\n\nPre-shift checks."


def test_paragraphs_join_full_lines_and_break_after_short_sentence_ends() -> None:
    long_line = "This line is long enough to count as a full line of the page body text here,"
    page = f"{long_line}\nand it goes on here.\nHeading\n{long_line}\nends."
    document = assemble_document([page])
    assert document.text == f"{long_line} and it goes on here.\n\nHeading\n\n{long_line} ends."


def test_paragraph_cut_by_a_page_break_is_joined_and_pages_are_mapped() -> None:
    long_line = "A sentence that runs over the page break keeps going until the next page where"
    document = assemble_document([f"Start.\n{long_line}", "it ends.", "", "Last page."])
    assert document.text == f"Start.\n\n{long_line} it ends.\n\nLast page."
    assert document.page_at(0) == 1
    assert document.page_at(document.text.index("it ends")) == 2
    assert document.page_at(len(document.text) - 1) == 4
    assert document.page_numbers == [1, 2, 4]


def test_token_estimate_is_additive_over_whitespace_and_counts_digits() -> None:
    assert count_tokens("pump") == 1
    assert count_tokens("2024") == 5
    assert count_tokens("the pump 2024") == count_tokens("the") + count_tokens("pump") + count_tokens("2024")
    assert count_tokens("Насос") == 5
    assert count_tokens("") == 0


def test_capital_running_headers_that_name_each_section_are_removed() -> None:
    # As in the Debian FAQ (DocBook/dblatex): "CHAPTER 4. COMPATIBILITY ISSUES 4.2. WHAT KERNELS DOES
    # DEBIAN..." tops each page, its section part changing every page or two, so the whole line never repeats.
    sections = ["WHAT KERNELS DOES DEBIAN...", "CAN I USE DEBIAN PACKAGES...", "HOW CAN I INSTALL A...",
                "WHERE CAN I GET MORE ...", "ARE THERE ANY ON-LINE..."]
    parts = ["intake", "outlet", "bearing", "gasket", "impeller", "shaft", "filter", "relief", "drain", "motor"]
    pages = []
    for number, part in enumerate(parts, start=1):
        header = f"CHAPTER {number // 4 + 1}. COMPATIBILITY ISSUES {number // 4 + 1}.{number}. {sections[number % 5]}"
        body = [f"The following check keeps the {part} clean.", f"Replace the {part} when it leaks."]
        pages.append([header, *body, str(number)])
    # A warning in capitals at the top of two pages, and body lines whose first words repeat, are content.
    pages[2].insert(1, "WARNING: DISCONNECT THE POWER FIRST.")
    pages[7].insert(1, "WARNING: DISCONNECT THE POWER FIRST.")
    cleaned, removed = remove_running_lines(pages)
    assert cleaned == [page[1:-1] for page in pages]
    assert removed == sum(len(page[0]) + len(page[-1]) for page in pages)
