"""Answer-first mode asks several questions per answer sentence, in different framings, the later ones
sampled; the held-out twin is asked once per answer, in a framing of its own."""

from __future__ import annotations

import json
from pathlib import Path

from doc2slm_qagen import prompts
from doc2slm_qagen.chunkwork import wording_sampling
from doc2slm_qagen.prompts import Mode
from doc2slm_qagen.records import ChunkRecord

from tests.support.fault_teacher import FaultSchedule, FaultTeacher
from tests.support.qagen_testkit import run_all, settings_for


def test_each_framing_shows_other_examples_and_one_asks_in_reverse() -> None:
    answer = "The spindle must be greased every 40 hours."
    shown = [json.dumps(prompts.answer_first_messages(answer, framing)[1:-1]) for framing in range(3)]
    assert len(set(shown)) == 3
    assert "Which pump must be serviced" in shown[1]  # the subject asked for, the property given
    twin = json.dumps(prompts.second_question_messages(answer)[1:-1])
    assert twin not in shown
    assert prompts.answer_first_messages(answer, 3) == prompts.answer_first_messages(answer, 0)


def test_first_wording_is_greedy_and_the_others_are_seeded_samples() -> None:
    assert wording_sampling("c1", "An answer.", 0) is None
    first, second = wording_sampling("c1", "An answer.", 1), wording_sampling("c1", "An answer.", 2)
    assert first is not None and second is not None and first.seed != second.seed
    assert wording_sampling("c1", "An answer.", 1) == first  # a re-run asks the same


def test_prompt_version_names_the_number_of_wordings() -> None:
    assert prompts.prompt_version(Mode.ANSWER_FIRST, 2, 3).endswith("-q3")
    assert prompts.prompt_version(Mode.QUESTION_ANSWER, 2, 3) == prompts.prompt_version(Mode.QUESTION_ANSWER, 2)


def test_three_wordings_per_answer_reach_the_teacher_and_one_twin(tmp_path: Path) -> None:
    text = ("The spindle of the lathe must be greased every 40 hours of operation. Only lithium grease "
            "may be used on the spindle bearings of the lathe.")
    chunk = ChunkRecord(doc_id="d1", chunk_id="c1", text=text)
    with FaultTeacher(FaultSchedule()) as teacher:
        settings = settings_for(teacher.base_url, tmp_path, mode="answer_first", pairs_per_chunk=2,
                                questions_per_answer=3, paraphrase_share=1.0)
        _events, summary = run_all(settings, [chunk])
        # 2 answers x 3 wordings, and per answer one twin request (a second try only if the first fails).
        assert 2 * 3 + 2 <= teacher.calls_for_chunk(text) <= 2 * 3 + 2 * 2
    assert summary.chunks_failed == 0


def test_contents_lines_are_never_offered_as_answers() -> None:
    chunk = ("45 9.1 What is a bug? . . . . . . . . . . . . . 45 9.2 How to report a bug . . . . . . . 46. "
             "The R core team reads every bug report sent to the bug tracker within a week.")
    assert prompts.answer_candidates(chunk, 3) == [
        "The R core team reads every bug report sent to the bug tracker within a week."]


def test_questions_and_cross_references_are_never_offered_as_answers() -> None:
    """Seen on the Debian FAQ and the R FAQ: a numbered question heading and a pointer to another section
    were picked as answer sentences, and the teacher wrote questions whose answer was a question."""
    chunk = ("14.4 Can I put my commercial program in a Debian package so that it installs on any system? "
             "See Section 3.3 [What are the differences between R and S?], page 12, for further details. "
             "For more information about all possible fields a package can have, please see the Policy Manual. "
             "Commercial programs may be packaged for Debian as long as their licence allows redistribution.")
    assert prompts.answer_candidates(chunk, 4) == [
        "Commercial programs may be packaged for Debian as long as their licence allows redistribution."]


def test_a_heading_or_command_paragraph_is_never_glued_to_the_sentence_after_it() -> None:
    """Seen on the R Data manual and the Debian FAQ: "2.1 Variations on read.table The function read.table
    is ..." and "dpkg --search foo This searches for foo ..." were answers, and the tuned model learnt to
    open answers with section numbers."""
    chunk = ("2.1 Variations on read.table\n\nThe function read.table is the most convenient way to read in a "
             "rectangular grid of data.\n\ndpkg --search foo\n\nThis command searches for foo in the list of "
             "installed packages and prints their names.\n\n9.1.1 aptitude\n\naptitude is the recommended package "
             "manager for Debian systems.\n\nA sentence broken by a page boundary in\n\n"
             "the middle still reads as one sentence here.")
    assert prompts.split_sentences(chunk) == [
        "2.1 Variations on read.table",
        "The function read.table is the most convenient way to read in a rectangular grid of data.",
        "dpkg --search foo",
        "This command searches for foo in the list of installed packages and prints their names.",
        "9.1.1 aptitude",
        "aptitude is the recommended package manager for Debian systems.",
        "A sentence broken by a page boundary in the middle still reads as one sentence here."]
    assert prompts.answer_candidates(chunk, 4) == [
        "The function read.table is the most convenient way to read in a rectangular grid of data.",
        "This command searches for foo in the list of installed packages and prints their names.",
        "aptitude is the recommended package manager for Debian systems.",
        "A sentence broken by a page boundary in the middle still reads as one sentence here."]


def test_sentences_that_stand_on_their_own_are_offered_before_those_that_lean_on_an_earlier_one() -> None:
    """Seen on the R Data manual: "It does not require the WWW, however; info can be run from a plain text
    console." was an answer, and no question written from it alone can name what "it" is."""
    chunk = ("GNU info is a hypertext browser for the manuals. It does not require the WWW, however, and it "
             "can be run from a plain text console on any terminal. For example, the R manuals are all "
             "installed as info files by the r-doc-info package of Debian. The function read.table reads a "
             "rectangular grid of data from a text file.")
    assert prompts.answer_candidates(chunk, 2) == [
        "GNU info is a hypertext browser for the manuals.",
        "The function read.table reads a rectangular grid of data from a text file."]
    # Where the chunk has too few sentences that stand alone, the others still make up the number.
    assert len(prompts.answer_candidates(chunk, 4)) == 4
    assert prompts.leans_on_context("“These functions write to a connection.")
    assert not prompts.leans_on_context("There are several lists of Linux Usenet newsgroups.")
    assert not prompts.leans_on_context("Itemised lists are typeset with bullets.")


def test_qa_mode_writes_pairs_from_each_rewritten_view_of_a_chunk(tmp_path: Path) -> None:
    text = ("The spindle of the lathe must be greased every 40 hours of operation. Only lithium grease "
            "may be used on the spindle bearings of the lathe. The lathe stops when its guard is opened.")
    chunk = ChunkRecord(doc_id="d1", chunk_id="c1", text=text)
    with FaultTeacher(FaultSchedule()) as teacher:
        plain, _ = run_all(settings_for(teacher.base_url, tmp_path / "plain", mode="qa", qa_views=""), [chunk])
        plain_calls = teacher.total_calls
        viewed, summary = run_all(settings_for(teacher.base_url, tmp_path / "views", mode="qa",
                                               qa_views="summary,facts"), [chunk])
        assert plain_calls == 1 and teacher.total_calls - plain_calls == 1 + 2 * 2
        assert teacher.calls_for_chunk(text, kind="view") == 2
    assert summary.chunks_failed == 0
    plain_pairs = [e for e in plain if hasattr(e, "pair_id")]
    viewed_pairs = [e for e in viewed if hasattr(e, "pair_id")]
    assert len(viewed_pairs) > len(plain_pairs)
    assert all(p.prompt_version.endswith("-vsummary+facts") for p in viewed_pairs)


def test_a_view_setting_outside_the_known_views_is_refused() -> None:
    import pytest
    from doc2slm_qagen.settings import QAGenSettings
    from pydantic import ValidationError

    assert QAGenSettings(qa_views="facts,summary,facts").views == ("facts", "summary")
    with pytest.raises(ValidationError, match="qa_views"):
        QAGenSettings(qa_views="poem")


def test_headings_in_capitals_or_cut_short_are_never_offered_as_answers() -> None:
    chunk = ("ARE THERE ANY ON-LINE RESOURCES FOR DEBIAN USERS OF ALL KINDS... Users should post non-Debian "
             "questions to one of the Linux USENET groups. The GNU hello program prints a greeting in many "
             "languages and is often used as an example of...")
    assert prompts.answer_candidates(chunk, 3) == [
        "Users should post non-Debian questions to one of the Linux USENET groups."]


def test_code_is_never_offered_as_an_answer() -> None:
    chunk = ("For example R> a <- sqrt(2) R> a * a == 2 [1] FALSE R> a * a - 2 [1] 4.440892e-16. "
             "The function all.equal() compares two objects using a numeric tolerance of about 1.5e-8.")
    assert prompts.answer_candidates(chunk, 3) == [
        "The function all.equal() compares two objects using a numeric tolerance of about 1.5e-8."]


def test_an_unreadable_one_question_reply_is_asked_again_with_another_seed(tmp_path: Path) -> None:
    from tests.support.fault_teacher import Fault

    text = "The spindle of the lathe must be greased every 40 hours of operation by the operator."
    chunk = ChunkRecord(doc_id="d1", chunk_id="c1", text=text)
    with FaultTeacher(FaultSchedule(script=[Fault.MALFORMED])) as teacher:
        settings = settings_for(teacher.base_url, tmp_path, mode="answer_first", pairs_per_chunk=1,
                                questions_per_answer=1)
        _events, summary = run_all(settings, [chunk])
        seeds = [call.seed for call in teacher.calls]
    assert summary.chunks_with_pair == 1 and len(seeds) == 2
    assert seeds[0] is None and seeds[1] is not None  # greedy first, then a sampled second try
