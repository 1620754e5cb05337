"""An answer, step by step: analyse -> retrieve -> read -> verify -> compose.

`Answerer.ask` reads like that list. Each step is a module named for it and takes the previous
step's typed value: `analyse` turns the question into a `Query`, `retrieve` the `Query` into
`Evidence`, `read` finds the answer span in the evidence with its probability of being right,
`verify` keeps only what the evidence supports, `compose` writes the cited answer (or the honest
abstention with the closest passages).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from index.errors import UserError
from rag import describe, read, verify
from rag.analyse import Query, analyse, previous_question
from rag.compose import add_conflict_notes, merge_slots, quote, render_answer, statement, withhold
from rag.conflicts import Conflict, find_conflicts
from rag.judge import judge
from rag.llm import ChatModel, Completion, TokenSink
from rag.nlp import lexicon, nlp
from rag.prompts import draft_messages, focused_messages, render
from rag.records import MARKER, Answer, Citation, Mode, Timings
from rag.retrieve import Evidence, Retrieval, Retriever
from rag.settings import Settings
from rag.text import byline_name, content_terms, numbers, written_date

MAX_QUESTION_CHARS = 2000
CANDIDATE_POOL = 12  # evidence sentences searched for candidate answers (the model sees n_evidence)
HEAD_FIT_SCALE = 0.45  # MiniLM cosine of a noun and a typical instance of it ("river", "Danube")
KIND_CONTRAST = 2.0  # how steeply a place nearer another kind of place loses its fit to the asked kind

__all__ = ["Answer", "Answerer", "AnswerOptions", "Citation", "Timings", "check_question", "withhold"]


def _default(name: str) -> Any:
    """A setting's default: options built without settings (tests, eval) answer like `rag ask`."""
    return Settings.model_fields[name].default


@dataclass
class AnswerOptions:
    k: int = _default("k")
    n_evidence: int = 6
    max_tokens: int = _default("max_tokens")
    temperature: float = _default("temperature")
    doc: str | None = None
    since: str | None = None
    until: str | None = None
    min_key_coverage: float = 0.6
    answer_threshold: float = _default("answer_threshold")
    as_of: date | None = None  # "this week" is read against this date; articles after it are unused


def check_question(question: str) -> str:
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise UserError("the question is empty", 'ask something, e.g. rag ask "What did the leaders agree?"')
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise UserError(
            f"the question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}",
            "ask a shorter question",
        )
    return cleaned


def _add_usage(timings: Timings, completion: Completion) -> None:
    timings.add(completion.seconds, completion.prompt_tokens, completion.completion_tokens)


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        chat: ChatModel,
        score_replies: bool = True,
        reading: read.ReadFrom = "auto",
    ) -> None:
        self.retriever = retriever
        self.chat = chat
        self._kind_vectors: list[list[list[float]]] | None = None
        self.reader = read.Reader(
            chat, self.head_fit, retriever.store.sentence_share, score_replies, retriever.passages, reading
        )

    def load(self) -> float:
        """Load models up front so `load_s` is reported apart from answer latency."""
        t0 = time.perf_counter()
        _ = self.retriever.embedder.dimension
        nlp()  # the English pipeline for question analysis
        loader = getattr(self.chat, "load", None)
        if loader:
            loader()
        return time.perf_counter() - t0

    def ask(
        self,
        question: str,
        options: AnswerOptions | None = None,
        history: Sequence[tuple[str, str]] = (),
        on_token: TokenSink | None = None,
    ) -> Answer:
        opts = options or AnswerOptions()
        question = check_question(question)
        load_s = self.load()
        t0 = time.perf_counter()
        query = self.analyse(question, history, opts)
        if query.slots:
            parts = [withhold(self._answer(slot, opts, None), opts.answer_threshold) for slot in query.slots]
            answer = merge_slots(question, parts)
        else:
            answer = withhold(self._answer(query, opts, on_token), opts.answer_threshold)
        answer.timings.load_s = round(load_s, 4)
        answer.timings.total_s = round(time.perf_counter() - t0, 4)
        return answer

    def analyse(self, question: str, history: Sequence[tuple[str, str]], opts: AnswerOptions) -> Query:
        """Step 1: the question as a `Query`, its relative times read against the as-of date."""
        dated = [r.date for r in self.retriever.store.documents().values() if r.date]
        as_of = opts.as_of or date.today()
        return analyse(question, previous_question(question, history), as_of, dated)

    def _answer(self, query: Query, opts: AnswerOptions, on_token: TokenSink | None) -> Answer:
        """retrieve -> read -> verify -> compose, for one asked slot."""
        found = self.retrieve(query, opts)
        result = _unanswered(query, found)
        if not query.asks:
            result.answer = render("abstain_topic", question=query.text)
            return result
        window = query.window
        if window is not None and not window.soft and not found.evidence:
            result.answer = render("abstain_window", window=window.describe(), question=query.text)
            nearby = self.retrieve(query, opts, in_window=False).evidence[:3]  # outside the window, not cited
            result.closest = result.nearest = [Citation.from_evidence(n, e) for n, e in enumerate(nearby, 1)]
            return result
        if query.asks_writer and found.evidence:
            return self._from_opening(query, found.evidence[0], result, writer=True)
        if query.asks_dateline and found.evidence:
            dated = self._from_opening(query, found.evidence[0], result, writer=False)
            if not dated.abstained:
                return dated
        evidence = found.evidence[: opts.n_evidence]
        read_from = found.evidence if query.wants_span else evidence  # what the reader will read
        coverage, _missing = verify.key_coverage(query, read_from)
        if not evidence or coverage < opts.min_key_coverage:
            return result
        if query.describes:
            described = self._described(query, found.evidence, result)
            if described is not None:
                return described
        if query.wants_span:
            return self._span_answer(query, found.evidence, opts, result)
        return self._generated_answer(query, evidence, opts, on_token, result)

    def retrieve(self, query: Query, opts: AnswerOptions, in_window: bool = True) -> Retrieval:
        """Step 2: evidence sentences. A window from the question restricts the articles; "recently"
        only prefers recent ones."""
        window = query.window if in_window else None
        soft = window is not None and window.soft
        return self.retriever.retrieve(
            query,
            k=opts.k,
            n_evidence=max(opts.n_evidence, CANDIDATE_POOL) if query.wants_span else opts.n_evidence,
            doc=opts.doc,
            since=opts.since,
            until=opts.until,
            as_of=(opts.as_of or date.today()).isoformat(),
            window=None if soft else window,
            prefer=window if soft else None,
        )

    def _from_opening(self, query: Query, top: Evidence, result: Answer, writer: bool) -> Answer:
        """ "Who wrote the article about …", "when was it published": the byline or the dateline of
        the article the question finds best, cited. An article without one gives no writer (the
        people it mentions did not write it); a date then is read from the evidence as usual."""
        record = self.retriever.store.documents().get(top.doc_id)
        for line in self.retriever.opening(top.doc_id):
            where = (
                byline_name(line.text) if writer else written_date(line.text, record.date if record else None)
            )
            if where is not None:
                text, citations = render_answer([(line.text[where[0] : where[1]], [0])], [line])
                result.confidence = read.OPENING_CONFIDENCE
                return self._finish(query, result, text, "span", citations, [line])
        return result

    def _described(self, query: Query, pool: Sequence[Evidence], result: Answer) -> Answer | None:
        """ "Who is Ines Varga?": the description a sentence attaches to the name, quoted."""
        found = describe.describe(query.describes or "", pool)
        if found is None:
            return None
        text, citations = render_answer([(describe.statement(found), [found.evidence])], pool)
        result.confidence = read.DESCRIPTION_CONFIDENCE
        return self._finish(query, result, text, "span", citations, pool)

    def _span_answer(
        self, query: Query, pool: Sequence[Evidence], opts: AnswerOptions, result: Answer
    ) -> Answer:
        """Step 3 for a name, figure or date: the reader finds the span in the evidence and the
        probability that it is right; the answer cites the sentence it came from."""
        reading = self.reader.read(query, pool, opts.temperature)
        if reading is None:
            return result
        result.timings.add(reading.seconds, reading.prompt_tokens, reading.completion_tokens)
        result.draft = reading.draft
        choice = reading.choice
        result.confidence = choice.confidence
        thing = query.answer_type == "other" and not choice.kind_named  # a name the text gives it stands
        if thing and choice.confidence < read.open_confidence("generated"):
            verified = self._verified_draft(query, reading.draft, pool[: opts.n_evidence], result)
            if verified is not None:
                return verified
        sources = [pool[i] for i in choice.evidence]
        sentence = statement(query, choice.text)
        if not judge(sentence, [verify.context(e) for e in sources]).supported:
            sentence = choice.text.rstrip(".") + "."
        text, citations = render_answer([(sentence, list(range(len(sources))))], sources)
        return self._finish(query, result, text, "span", citations, pool, reading.rivals)

    def _verified_draft(
        self, query: Query, draft: str, evidence: Sequence[Evidence], result: Answer
    ) -> Answer | None:
        """A thing ("which repairs", "what worry") is often a phrase no typed span holds whole;
        when the rules read it less surely than a verified statement is right, the model's draft
        answers, each statement supported by the evidence and saying nothing of the question that
        the cited sentence does not. A name the sentence calls the asked noun ("Tropical Storm
        Velmora") is not a phrase of that kind: it answers itself."""
        kept, _ = verify.answering_statements(draft, evidence, query)
        if not kept:
            return None
        text, citations = render_answer(kept, evidence)
        result.confidence = read.open_confidence("generated")
        return self._finish(query, result, text, "generated", citations, evidence)

    def _generated_answer(
        self,
        query: Query,
        evidence: Sequence[Evidence],
        opts: AnswerOptions,
        on_token: TokenSink | None,
        result: Answer,
    ) -> Answer:
        """Step 3 for open questions ("what did the council decide?"): the model drafts, step 4
        verifies each statement against the evidence."""
        completion = self.chat.complete(
            draft_messages(query.text, evidence),
            max_tokens=opts.max_tokens,
            temperature=opts.temperature,
            on_token=on_token,
        )
        _add_usage(result.timings, completion)
        result.draft = completion.text.strip()
        kept, result.dropped = verify.answering_statements(result.draft, evidence, query)
        if kept:
            text, citations = render_answer(kept, evidence)
            result.confidence = read.open_confidence("generated")
            return self._finish(query, result, text, "generated", citations, evidence)
        picked = verify.pick_quotes(query, evidence)
        if not picked:
            return result
        mode, (text, citations) = self._focused(query, picked[0], opts, result)
        if mode == "extractive":
            text, citations = quote(picked)
        result.confidence = read.open_confidence(mode)
        return self._finish(query, result, text, mode, citations, evidence)

    def _focused(
        self, query: Query, sentence: Evidence, opts: AnswerOptions, result: Answer
    ) -> tuple[Mode, tuple[str, list[Citation]]]:
        """The second, narrower try: the model answers from the one sentence that holds the answer,
        asked plainly and then after worked examples. Verified the same way; only if both fail is the
        sentence quoted."""
        for examples in (False, True):
            focused = self.chat.complete(
                focused_messages(query.text, sentence, examples), max_tokens=60, temperature=opts.temperature
            )
            _add_usage(result.timings, focused)
            rewritten, _ = verify.attach_citations(focused.text.strip().split("\n")[0], [sentence], query)
            copied = rewritten and content_terms(rewritten[0][0]) >= content_terms(sentence.text)
            if rewritten and not copied:
                return "generated", render_answer(rewritten[:1], [sentence])
        return "extractive", ("", [])

    def _finish(
        self,
        query: Query,
        result: Answer,
        text: str,
        mode: Mode,
        citations: list[Citation],
        evidence: Sequence[Evidence],
        rivals: Sequence[Conflict] = (),
    ) -> Answer:
        """Step 5: compose. A conflict is noted only when two articles give different values for
        what was asked (the reader's rivals, or two figures of one unit in the cited sentences, one
        of them the answer's); articles published on different days are not a conflict."""
        cited = {(c.doc_id, c.start) for c in citations}
        conflicts = list(rivals)
        if query.answer_type in ("number", "duration"):
            answered = numbers(MARKER.sub(" ", text))  # a dispute of another figure is not about the answer
            conflicts += [
                c
                for c in find_conflicts(evidence, kinds=("number",))
                if cited & {(side.doc_id, side.start) for side in c.sides}
                and answered & {n for side in c.sides for n in numbers(side.value)}
                and not any({s.doc_id for s in c.sides} == {s.doc_id for s in r.sides} for r in conflicts)
            ]
        text, citations = add_conflict_notes(text, citations, conflicts, evidence)
        result.answer, result.mode, result.abstained = text, mode, False
        result.citations, result.closest, result.conflicts = citations, [], conflicts
        return result

    def head_fit(self, head: str, texts: Sequence[str]) -> list[float]:
        """How well each candidate fits the asked-about noun ("which city": London, not Labour),
        as the embedding similarity scaled so a typical fit reads 1; for a kind of place, less when
        the candidate is nearer another kind ("which state": a country is not one)."""
        vectors = self.retriever.embedder.embed([head, *texts])
        base = vectors[0]
        fits = [min(1.0, _cosine(base, v) / HEAD_FIT_SCALE) for v in vectors[1:]]
        own = next((n for n, words in enumerate(lexicon()["place_kinds"]) if head.lower() in words), None)
        if own is None:
            return fits
        kinds = self._place_kinds()
        for n, v in enumerate(vectors[1:]):
            near = [max(_cosine(w, v) for w in kind) for kind in kinds]
            rival = max(s for k, s in enumerate(near) if k != own)
            fits[n] *= min(1.0, near[own] / max(rival, 1e-9)) ** KIND_CONTRAST
        return fits

    def _place_kinds(self) -> list[list[list[float]]]:
        """The vectors of the kinds of place that exclude one another (a country, a state, a city…),
        embedded once per process."""
        if self._kind_vectors is None:
            self._kind_vectors = [self.retriever.embedder.embed(words) for words in lexicon()["place_kinds"]]
        return self._kind_vectors


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The embedder's vectors are unit length: their dot product is the cosine."""
    return sum(x * y for x, y in zip(a, b, strict=True))


def _unanswered(query: Query, found: Retrieval) -> Answer:
    """The abstention every slot starts from: the closest passages, no citation."""
    closest = [Citation.from_evidence(n, e) for n, e in enumerate(found.evidence[:3], 1)]
    return Answer(
        question=query.text,
        answer=render("abstain", question=query.text),
        mode="abstained",
        abstained=True,
        citations=[],
        closest=closest,
        conflicts=[],
        timings=Timings(retrieve_s=round(found.seconds, 4)),
        nearest=list(closest),
        standalone_question=query.search_text,
        retrieved_docs=[e.doc_id for e in found.evidence],
        time_window=query.window.to_json() if query.window else None,
    )
