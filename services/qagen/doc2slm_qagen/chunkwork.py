"""What happens to one chunk: cache lookup, the teacher request(s), parsing, filters, second questions.

Runs on a worker thread; never raises: every outcome, failures included, comes back as a ChunkResult.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from doc2slm_common.errors import DomainError

from doc2slm_qagen import prompts
from doc2slm_qagen.cache import TeacherCache, cache_key
from doc2slm_qagen.filters import ChunkFilter, FilterSettings
from doc2slm_qagen.parsing import MalformedReply, RawPair, parse_pairs, parse_question
from doc2slm_qagen.prompts import Mode
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.teacher import BudgetExhausted, Sampling, TeacherClient, TeacherFailure
from doc2slm_qagen.textsim import content_tokens, jaccard, normalise

log = logging.getLogger("doc2slm.qagen.chunk")

# Status name recorded for a chunk whose teacher replies could not be read twice running.
MALFORMED_CODE = "DATA_LOSS"

T = TypeVar("T")

# Reply length for one-question prompts (answer-first, paraphrase): room for a JSON pair from a strong
# teacher that answers in the pairs format anyway.
QUESTION_MAX_TOKENS = 96
# The second question of a pair (its held-out twin) is sampled: greedy decoding of the same answer gives
# the first question back. Each try has its own seed derived from chunk and answer, so re-runs repeat.
SECOND_QUESTION_TEMPERATURE = 0.8
SECOND_QUESTION_TRIES = 2
# Training wordings past the first (greedy) one are sampled as well, each with its own seed, so that two
# wordings asked with the same examples still differ.
EXTRA_WORDING_TEMPERATURE = 0.7
REASK_SEED = 7919
# A rewritten view of a 256-token chunk; a view shorter than VIEW_MIN_WORDS has nothing to ask about.
VIEW_MAX_TOKENS = 400
VIEW_MIN_WORDS = 8


@dataclass(frozen=True)
class WorkPlan:
    mode: Mode
    pairs_per_chunk: int
    paraphrase_share: float
    near_duplicate_threshold: float
    filters: FilterSettings
    # Answer-first mode: training questions written per answer sentence, one per framing (prompts.FRAMINGS).
    questions_per_answer: int = 1
    # Question-answer mode: rewritten views of each chunk (prompts.VIEW_ASKS) that each yield pairs too.
    views: tuple[str, ...] = ()

    @property
    def prompt_version(self) -> str:
        return prompts.prompt_version(self.mode, self.pairs_per_chunk, self.questions_per_answer, self.views)


@dataclass(frozen=True)
class ChunkFailure:
    item_id: str
    code: str
    message: str
    fatal: bool = False
    unreachable: bool = False


@dataclass
class ChunkResult:
    chunk: ChunkRecord
    pairs: list[PairRecord] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    failure: ChunkFailure | None = None
    cached: bool = False
    not_started: bool = False
    budget_stopped: bool = False


def second_question_seed(chunk_id: str, answer: str, attempt: int) -> int:
    digest = hashlib.sha256(f"{chunk_id}\x00{answer}\x00{attempt}".encode()).hexdigest()
    return int(digest[:8], 16)


def wording_sampling(chunk_id: str, answer: str, framing: int) -> Sampling | None:
    """Greedy for the first wording of an answer (what earlier prompt revisions asked), sampled after."""
    if framing == 0:
        return None
    return Sampling(EXTRA_WORDING_TEMPERATURE, second_question_seed(chunk_id, answer, 1000 + framing))


def wants_paraphrase(chunk_id: str, share: float) -> bool:
    """A fixed share of chunks, chosen by hash so a re-run picks the same ones."""
    return int(hashlib.sha256(chunk_id.encode()).hexdigest()[:8], 16) / 2**32 < share


class ChunkWorker:
    def __init__(self, teacher: TeacherClient, cache: TeacherCache | None, plan: WorkPlan) -> None:
        self.teacher = teacher
        self.cache = cache
        self.plan = plan

    def process(self, chunk: ChunkRecord) -> ChunkResult:
        problem = chunk.problem()
        if problem:
            return ChunkResult(chunk, failure=ChunkFailure(chunk.chunk_id or "?", "INVALID_ARGUMENT", problem))
        try:
            return self._process(chunk)
        except BudgetExhausted:
            return ChunkResult(chunk, budget_stopped=True)
        except TeacherFailure as error:
            unreachable = error.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
            return ChunkResult(chunk, failure=ChunkFailure(chunk.chunk_id, error.code, error.message,
                                                           fatal=error.fatal, unreachable=unreachable))
        except MalformedReply as error:
            return ChunkResult(chunk, failure=ChunkFailure(
                chunk.chunk_id, MALFORMED_CODE, f"teacher reply unreadable twice: {error}"))
        except Exception as error:  # a bug must not end the run; it is logged with its traceback
            log.exception("chunk failed unexpectedly", extra={"chunk_id": chunk.chunk_id})
            return ChunkResult(chunk, failure=ChunkFailure(chunk.chunk_id, "INTERNAL", f"internal error: {error}"))

    def _process(self, chunk: ChunkRecord) -> ChunkResult:
        version = self.plan.prompt_version
        key = cache_key(chunk.chunk_id, self.teacher.config.model, version, self.teacher.config.base_url)
        entry = self.cache.get(key) if self.cache is not None else None
        cached = entry is not None
        chunk_filter = ChunkFilter(chunk.text, self.plan.filters)
        if entry is None:
            entry = self._ask_pairs(chunk, chunk_filter, key)
            if entry["pairs"]:
                self._save(entry)
        result = ChunkResult(chunk, cached=cached)
        kept: list[RawPair] = []
        for raw in entry["pairs"]:
            pair = RawPair(str(raw.get("question", "")), str(raw.get("answer", "")))
            reason = chunk_filter.reason_to_drop(pair)
            if reason:
                result.dropped[reason] += 1
            else:
                kept.append(pair)
        # Whether this chunk's pairs get second questions depends on this run's share only: second questions
        # cached by an earlier run with a larger share are kept in the cache but not used.
        wanted = wants_paraphrase(chunk.chunk_id, self.plan.paraphrase_share)
        if kept and wanted and entry.get("paraphrases") is None:
            entry = self._add_paraphrases(entry, kept, chunk_filter)
            result.cached = False
        paraphrases: dict[str, str] = (entry.get("paraphrases") or {}) if wanted else {}
        for pair in kept:
            paraphrase = paraphrases.get(pair.question, "")
            if paraphrase and not self._usable_paraphrase(pair, paraphrase, chunk_filter):
                paraphrase = ""
            result.pairs.append(PairRecord.build(chunk, pair.question, pair.answer, str(entry["teacher"]),
                                                 version, paraphrase))
        return result

    def _ask(self, messages: list[prompts.Message], parse: Callable[[str], T], sampling: Sampling | None = None
             ) -> tuple[T, str]:
        """One request, and one more if the reply cannot be read (then MalformedReply propagates)."""
        one_question = parse is parse_question
        # A single question needs few tokens; a small teacher left at 512 rambles on and costs minutes.
        limit = QUESTION_MAX_TOKENS if one_question else None
        reply = self.teacher.complete(messages, json_reply=not one_question, max_tokens=limit, sampling=sampling)
        try:
            return parse(reply.text), reply.model
        except MalformedReply:
            log.info("unreadable teacher reply, asking once more")
        if one_question:
            # The same seed (or greedy decoding) on the local teacher writes the same unreadable reply again
            # (measured: half of all teacher calls on a real manual were such repeats), so the second try
            # samples with a seed of its own, still fixed per request so that a re-run repeats it.
            sampling = Sampling(EXTRA_WORDING_TEMPERATURE, (sampling.seed if sampling else REASK_SEED) + 1)
        reply = self.teacher.complete(messages, json_reply=not one_question, max_tokens=limit, sampling=sampling)
        return parse(reply.text), reply.model

    def _ask_pairs(self, chunk: ChunkRecord, chunk_filter: ChunkFilter, key: str) -> dict[str, Any]:
        n = self.plan.pairs_per_chunk
        model = self.teacher.config.model
        entry: dict[str, Any] = {"key": key, "chunk_id": chunk.chunk_id, "teacher_model": model,
                                 "prompt_version": self.plan.prompt_version, "pairs": [], "paraphrases": None}
        if self.plan.mode is Mode.ANSWER_FIRST:
            answers = [s for s in prompts.answer_candidates(chunk.text, n + len(chunk_filter.planted))
                       if chunk_filter.is_usable_answer(s)][:n]
            unreadable: MalformedReply | None = None
            for answer in answers:
                for framing in range(max(1, self.plan.questions_per_answer)):
                    try:
                        question, model = self._ask(prompts.answer_first_messages(answer, framing), parse_question,
                                                    wording_sampling(chunk.chunk_id, answer, framing))
                    except MalformedReply as error:
                        unreadable = error
                        question = ""  # dropped as empty; the chunk fails only if no answer got a question
                    entry["pairs"].append({"question": question, "answer": answer})
            if unreadable is not None and not any(p["question"] for p in entry["pairs"]):
                raise unreadable
        else:
            parsed, model = self._ask(prompts.question_answer_messages(chunk.text, n), parse_pairs)
            entry["pairs"] = [{"question": p.question, "answer": p.answer} for p in parsed[:n]]
            entry["pairs"] += self._pairs_from_views(chunk, n)
        entry["teacher"] = model
        return entry

    def _pairs_from_views(self, chunk: ChunkRecord, n: int) -> list[dict[str, str]]:
        """Pairs written from each rewritten view of the chunk. The filters later judge them against the
        chunk itself, so a view that invented facts yields ungrounded pairs, which are dropped; a view
        that cannot be read costs only its own pairs."""
        pairs: list[dict[str, str]] = []
        for view in self.plan.views:
            reply = self.teacher.complete(prompts.view_messages(chunk.text, view), json_reply=False,
                                          max_tokens=VIEW_MAX_TOKENS)
            rewritten = reply.text.strip()
            if len(rewritten.split()) < VIEW_MIN_WORDS:
                continue
            try:
                parsed, _ = self._ask(prompts.question_answer_messages(rewritten, n), parse_pairs)
            except MalformedReply:
                log.info("no pairs from a view", extra={"chunk_id": chunk.chunk_id, "view": view})
                continue
            pairs += [{"question": p.question, "answer": p.answer, "view": view} for p in parsed[:n]]
        return pairs

    def _add_paraphrases(self, entry: dict[str, Any], kept: list[RawPair], chunk_filter: ChunkFilter
                         ) -> dict[str, Any]:
        """Per kept pair, a second question for the same answer, asked in separate requests (the first
        question is not shown). A try whose question fails the checks is asked again with the next seed,
        up to SECOND_QUESTION_TRIES; the first usable one, else the last one read, is cached."""
        paraphrases: dict[str, str] = {}
        answered: set[str] = set()
        for pair in kept:
            # One held-out twin per answer sentence, not per training wording: the twin asks about the fact.
            if pair.answer in answered:
                continue
            answered.add(pair.answer)
            for attempt in range(SECOND_QUESTION_TRIES):
                sampling = Sampling(SECOND_QUESTION_TEMPERATURE,
                                    second_question_seed(entry["chunk_id"], pair.answer, attempt))
                try:
                    paraphrases[pair.question], _ = self._ask(prompts.second_question_messages(pair.answer),
                                                              parse_question, sampling)
                except (MalformedReply, TeacherFailure) as error:
                    # The pair stands without a held-out twin; a later run does not ask again for it.
                    log.info("no second question", extra={"chunk_id": entry["chunk_id"], "reason": str(error)})
                    break
                except BudgetExhausted:
                    return entry  # not cached: a later run with budget left asks for them
                if self._usable_paraphrase(pair, paraphrases[pair.question], chunk_filter):
                    break
        updated = {**entry, "paraphrases": paraphrases}
        self._save(updated)
        return updated

    def _save(self, entry: dict[str, Any]) -> None:
        """Cache the teacher's answer. A cache that cannot be written costs a repeated call in a later run,
        not this run's pairs, so the failure is logged and the chunk goes on."""
        if self.cache is None:
            return
        try:
            self.cache.put(entry)
        except (DomainError, OSError) as error:
            log.warning("teacher cache not written", extra={"chunk_id": entry.get("chunk_id"), "reason": str(error)})

    def _usable_paraphrase(self, pair: RawPair, paraphrase: str, chunk_filter: ChunkFilter) -> bool:
        """A second question worth holding out: it passes every filter the first one passed (with the same
        answer: a real question, grounded in the chunk, no copied example) and is not a near-duplicate of
        the first question. Near-duplicates of other training questions are dropped by the split."""
        if normalise(paraphrase) == normalise(pair.question):
            return False
        if chunk_filter.reason_to_drop(RawPair(paraphrase, pair.answer)) is not None:
            return False
        similarity = jaccard(set(content_tokens(paraphrase)), set(content_tokens(pair.question)))
        return similarity < self.plan.near_duplicate_threshold
