"""Grounded answers: the model drafts from evidence sentences; the pipeline decides what is cited.

A 135M model cannot be trusted to cite or to refuse, so grounding is a property of this pipeline:
every statement that survives is attached to an evidence sentence that supports it (judge.py), the
markers are renumbered to match, and when nothing survives the answer falls back to quoting the
evidence (mode "extractive") or says the articles don't say (mode "abstained").
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Literal

from index.errors import UserError
from index.store import CHUNKS
from rag import qtype
from rag import query as q
from rag import text as t
from rag.conflicts import Conflict, find_conflicts
from rag.judge import judge, passage_context
from rag.llm import ChatModel, TokenSink
from rag.prompts import render
from rag.retrieve import Evidence, Retrieval, Retriever
from rag.timewindow import TimeWindow, resolve

# span: a name, figure or date found in a cited sentence; generated: the model's sentence, verified;
# extractive: the cited sentence quoted; abstained: "the articles don't say" with the closest passages.
Mode = Literal["span", "generated", "extractive", "abstained"]
MAX_QUESTION_CHARS = 2000
CANDIDATE_POOL = 12  # evidence sentences searched for candidate answers (the model sees n_evidence)
MIN_STATEMENT_TERMS = 3  # "Mayor Tefera is" is not a statement worth citing
NOT_FOUND_MARK = "NOT IN THE ARTICLES"
REFUSAL = re.compile(
    r"not in the articles|does not (?:say|mention|answer|provide)|doesn't (?:say|mention)|no information|"
    r"not (?:mentioned|specified|stated|provided)|cannot answer|can't answer|i don't know",
    re.I,
)
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
FOLLOW_UP = re.compile(
    r"^(and|but|so|also|what about|how about|then|why|who else)\b"
    r"|\b(he|she|they|it|that|this|those|them|his|her|their|him)\b",
    re.I,
)


@dataclass
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    title: str
    date: str | None
    page: int | None
    text: str
    start: int
    end: int

    @classmethod
    def from_evidence(cls, n: int, ev: Evidence) -> Citation:
        return cls(n, ev.doc_id, ev.chunk_id, ev.title, ev.date, ev.page, ev.text, ev.start, ev.end)


@dataclass
class Timings:
    """Where an answer's time went; `total_s` excludes model loading (`load_s`)."""

    load_s: float = 0.0
    retrieve_s: float = 0.0
    generate_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of_parts(cls, parts: Sequence[Timings]) -> Timings:
        """A question answered in parts took the sum of its parts."""
        return cls(
            retrieve_s=round(sum(p.retrieve_s for p in parts), 4),
            generate_s=round(sum(p.generate_s for p in parts), 4),
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            completion_tokens=sum(p.completion_tokens for p in parts),
        )


@dataclass
class Answer:
    question: str
    answer: str
    mode: Mode
    abstained: bool
    citations: list[Citation]
    closest: list[Citation]
    conflicts: list[Conflict]
    timings: Timings
    draft: str = ""
    standalone_question: str = ""
    dropped: list[str] = field(default_factory=list)
    retrieved_docs: list[str] = field(default_factory=list)  # evidence order, for retrieval metrics
    confidence: float = 0.0  # 0-1; an answer below `answer_threshold` is not given
    nearest: list[Citation] = field(default_factory=list)  # shown as `closest` if it is withheld
    time_window: dict[str, Any] | None = None  # the dates a relative time in the question resolved to

    def to_json(self) -> dict[str, Any]:
        keys = (
            "question",
            "answer",
            "mode",
            "abstained",
            "confidence",
            "citations",
            "closest",
            "conflicts",
            "time_window",
            "timings",
        )
        data = asdict(self)
        return {k: data[k] for k in keys}


@dataclass
class AnswerOptions:
    k: int = 6
    n_evidence: int = 6
    max_tokens: int = 160
    temperature: float = 0.0
    doc: str | None = None
    since: str | None = None
    until: str | None = None
    min_key_coverage: float = 0.6
    answer_threshold: float = 0.6
    as_of: date | None = None  # "this week" is read against this date; articles after it are unused
    baseline: bool = False  # the usual recipe (top-k chunks, "cite your sources"), for comparison only


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


def standalone(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Make a follow-up retrievable on its own by carrying the previous question's subject along.

    Deterministic on purpose: a 135M model rewrites questions less reliably than it answers them.
    """
    previous = previous_question(question, history)
    return f"{question} (about: {previous})" if previous else question


def previous_question(question: str, history: Sequence[tuple[str, str]]) -> str | None:
    """The question a follow-up ("and how long did it last?") leans on, if it is one."""
    return history[-1][0] if history and FOLLOW_UP.search(question) else None


def key_coverage(
    question: str, evidence: Sequence[Evidence], specific_from: str | None = None
) -> tuple[float, list[str]]:
    """Share of the question's key terms that the evidence contains, and the missing ones.

    Names and numbers in the question count double: a question about a person or figure the
    articles never mention is the typical unanswerable question.
    """
    terms = t.topic_terms(question)
    if not terms:
        return 1.0, []
    joined = " ".join(passage_context(e.text, e.title, e.date) for e in evidence)
    haystack = t.haystack(joined)
    have = t.content_terms(joined)
    important = t.specific_terms(specific_from or question)
    weight = {term: (2.0 if term in important else 1.0) for term in terms}
    found = {term for term in terms if term in have or t.name_in(term, haystack)}
    missing = sorted(terms - found)
    score = sum(weight[x] for x in found) / sum(weight.values())
    if any(term in important for term in missing):
        score = min(score, 0.49)
    return score, missing


def split_statements(answer: str) -> list[str]:
    from index.chunking import sentence_spans

    return [s.text.strip() for s in sentence_spans(answer) if s.text.strip()]


CLAUSE_BREAK = re.compile(
    r",\s|;\s|\s(?:which|who|during|in the|on the|between|while|because|after|before|as part of|according to|"
    r"with the|for the|at the)\s",
    re.I,
)
META_PREFIX = re.compile(r"^\s*(the answer is|answer|the facts are|facts?|based on the facts)\s*:\s*", re.I)


def clause_prefixes(statement: str) -> list[str]:
    """The statement, then ever shorter prefixes ending before a clause break.

    Small models restate the question or add a flourish ("…on Wednesday, which is a day of the
    week"); cutting the unsupported tail keeps the supported claim instead of discarding it.
    """
    cuts = sorted({m.start() for m in CLAUSE_BREAK.finditer(statement) if m.start() > 0}, reverse=True)
    out = [statement]
    for cut in cuts:
        prefix = statement[:cut].rstrip(" ,;:")
        if prefix and prefix not in out:
            out.append(prefix + ".")
    return out


def _misses_what_was_asked(
    question: str, statement: str, sources: Sequence[Evidence], evidence: Sequence[Evidence]
) -> bool:
    """A figure from the question (a year, a number) that the evidence has but this passage lacks.

    "How large is the 2025 budget?" answered from a sentence about the tram budget: the evidence
    mentions 2025 elsewhere, so this passage is about something else.
    """
    own = question.split(" (about: ")[0]
    cited = t.haystack(" ".join(e.text for e in sources) + " " + statement)
    elsewhere = t.haystack(" ".join(e.text + " " + (e.date or "") for e in evidence))
    figures = {term for term in t.specific_terms(own) if any(ch.isdigit() for ch in term)}
    return any(t.name_in(term, elsewhere) and not t.name_in(term, cited) for term in figures)


def attach_citations(
    draft: str, evidence: Sequence[Evidence], question: str = ""
) -> tuple[list[tuple[str, list[int]]], list[str]]:
    """Pair each statement with the evidence (0-based) that supports it; return the unsupported ones."""
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    kind = qtype.expected_type(question) if question else None
    own_question = question.split(" (about: ")[0]
    key = t.key_terms(own_question) or t.key_terms(question)
    asked = t.content_terms(question)
    for raw in split_statements(draft):
        hinted = [int(x) - 1 for m in MARKER.finditer(raw) for x in m.group(1).split(",")]
        statement = META_PREFIX.sub("", MARKER.sub("", raw)).strip(" ()[]*")
        if len(t.content_terms(statement)) < MIN_STATEMENT_TERMS or REFUSAL.search(statement):
            continue
        if q.instruction_echo(statement):
            dropped.append(statement)  # about the prompt, not the news: rejected like an unsupported one
            continue
        order = [i for i in hinted if 0 <= i < len(evidence)] + [
            i for i in range(len(evidence)) if i not in hinted
        ]
        found: tuple[str, list[int]] | None = None
        for candidate in clause_prefixes(statement):
            if len(t.content_terms(candidate)) < MIN_STATEMENT_TERMS:
                break
            if question and not qtype.satisfies(kind, candidate, question):
                continue  # true or not, it does not answer what was asked
            terms = t.content_terms(candidate)
            if not terms - asked:
                continue  # only restates the question
            if key and not key & terms and kind not in ("person", "place"):
                continue  # a true sentence about something else
            support = next((i for i in order if judge(candidate, [_context(evidence[i])]).supported), None)
            sources = [support] if support is not None else _support_by_pair(candidate, evidence)
            if sources and not _misses_what_was_asked(
                question, candidate, [evidence[i] for i in sources], evidence
            ):
                found = (candidate, sources)
                break
        if found and not any(
            found[1] == k[1] and t.content_terms(found[0]) == t.content_terms(k[0]) for k in kept
        ):
            kept.append(found)
        else:
            dropped.append(statement)
    return kept, dropped


def _context(ev: Evidence) -> str:
    return passage_context(ev.text, ev.title, ev.date)


def _support_by_pair(statement: str, evidence: Sequence[Evidence]) -> list[int] | None:
    if t.numbers(statement):
        return None  # a figure must come from one passage: pairs are how 37.8 becomes "the new record"
    for i in range(len(evidence)):
        for j in range(i + 1, len(evidence)):
            if evidence[i].doc_id != evidence[j].doc_id:
                continue  # a sentence stitched from two articles is how attributions get swapped
            if judge(statement, [_context(evidence[i]), evidence[j].text]).supported:
                return [i, j]
    return None


def render_answer(
    statements: Sequence[tuple[str, list[int]]], evidence: Sequence[Evidence]
) -> tuple[str, list[Citation]]:
    """Number citations in order of first use so [1] is always the first one the reader meets."""
    numbering: dict[int, int] = {}
    parts = []
    for statement, sources in statements:
        marks = []
        for idx in sources:
            if idx not in numbering:
                numbering[idx] = len(numbering) + 1
            marks.append(numbering[idx])
        body = statement.rstrip()
        end = ""
        if body and body[-1] in ".!?":
            body, end = body[:-1], body[-1]
        parts.append(f"{body} {''.join(f'[{m}]' for m in sorted(set(marks)))}{end or '.'}")
    citations = [
        Citation.from_evidence(n, evidence[idx]) for idx, n in sorted(numbering.items(), key=lambda x: x[1])
    ]
    return " ".join(parts), citations


def _spell_date(iso: str) -> str:
    from datetime import date

    day = date.fromisoformat(iso)
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def add_conflict_notes(
    text: str, citations: list[Citation], conflicts: list[Conflict], evidence: Sequence[Evidence]
) -> tuple[str, list[Citation]]:
    """Say where the articles disagree, citing both sides, instead of silently picking one."""
    citations = list(citations)
    notes = []
    for conflict in conflicts[:2]:
        marks = []
        for side in conflict.sides:
            existing = next((c for c in citations if c.doc_id == side.doc_id and c.start == side.start), None)
            if existing is None:
                ev = next(e for e in evidence if e.doc_id == side.doc_id and e.start == side.start)
                existing = Citation.from_evidence(len(citations) + 1, ev)
                citations.append(existing)
            value = _spell_date(side.value) if conflict.kind == "date" else side.value
            marks.append(f"{value} [{existing.n}]")
        notes.append(render(f"conflict_{conflict.kind}", first=marks[0], second=marks[1]))
    return " ".join([text, *notes]), citations


def is_headline(sentence: str) -> bool:
    return not sentence.rstrip().endswith((".", "!", "?", '"', "”", "’", ")"))


def draft_messages(question: str, evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """The prompt `ask` sends: the system prompt (a static prefix in the KV cache), then the facts."""
    return [
        {"role": "system", "content": render("system")},
        {"role": "user", "content": render("answer", evidence=format_evidence(evidence), question=question)},
    ]


CONTROL_TOKENS = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<<\/?SYS>>", re.I)


def focused_messages(question: str, sentence: Evidence, examples: bool = True) -> list[dict[str, str]]:
    """The second try: answer from the one sentence that holds the answer, optionally after two
    worked examples (which stop some restated questions and copied sentences, and cause others)."""
    messages = []
    for n in (1, 2) if examples else ():
        messages.append({"role": "user", "content": render(f"rewrite_question_{n}")})
        messages.append({"role": "assistant", "content": render(f"rewrite_answer_{n}")})
    content = render("rewrite_answer", sentence=as_quoted_data(sentence.text), question=question)
    messages.append({"role": "user", "content": content})
    return messages


def as_quoted_data(text: str) -> str:
    """An article sentence as the model sees it: no chat-template tokens, no citation-like markers.

    Citations keep the verbatim text; only the prompt copy is defanged, so an article cannot open a
    fake system turn or plant "[3]" where the model would take it for one of our markers.
    """
    text = CONTROL_TOKENS.sub(" ", text)
    text = MARKER.sub("", text)
    return " ".join(text.split())


def format_evidence(evidence: Sequence[Evidence]) -> str:
    lines = []
    for n, ev in enumerate(evidence, 1):
        lines.append(render("evidence_line", n=n, text=as_quoted_data(ev.text)))
    return "\n".join(lines)


def pick_quotes(question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence that best answers the question, of the right kind; empty when none does."""
    terms = t.key_terms(question) - t.specific_terms(question) or t.key_terms(question)
    kind = qtype.expected_type(question)
    usable = [
        e
        for e in evidence
        if qtype.satisfies(kind, e.text, question)
        and terms & t.content_terms(e.text)
        and not is_headline(e.text)
        and not _misses_what_was_asked(question, "", [e], evidence)
    ]
    if not usable and kind == "number":  # a count or duration, never a name or place: those need
        return _same_article_pair(question, terms, kind, evidence)  # the sentence that states them
    if not usable:
        return []
    amount = qtype.AMOUNT_ASKED.search(question)  # "what pay rise": the sentence naming the rise first
    head = t.content_terms(amount.group(1)) if amount and amount.group(1) else set()
    ranked = sorted(
        usable,
        key=lambda e: (head <= t.content_terms(e.text), len(terms & t.content_terms(e.text)), e.score),
        reverse=True,
    )
    return ranked[:2] if len(ranked) > 1 and ranked[1].lexical >= 0.5 else ranked[:1]


def _same_article_pair(
    question: str, terms: set[str], kind: str, evidence: Sequence[Evidence]
) -> list[Evidence]:
    """The answer and what the question is about can sit in two sentences of one article: "How long
    was the call in which the plants were discussed?" — one sentence gives "hour-long call", another
    of the same article the plants. Both are quoted; a sentence from another article is not used."""
    for about in evidence:
        if is_headline(about.text) or not terms & t.content_terms(about.text):
            continue
        for answer in evidence:
            if (
                answer is not about
                and answer.doc_id == about.doc_id
                and not is_headline(answer.text)
                and qtype.satisfies(kind, answer.text, question)
            ):
                return [answer, about]
    return []


def extractive(question: str, evidence: Sequence[Evidence]) -> tuple[str, list[Citation]] | None:
    """Quote the evidence that best answers the question; None when nothing of the right kind exists."""
    picked = pick_quotes(question, evidence)
    return quote(picked) if picked else None


def quote(picked: Sequence[Evidence]) -> tuple[str, list[Citation]]:
    quotes = " ".join(f"“{' '.join(e.text.split())}” [{n}]" for n, e in enumerate(picked, 1))
    return render("extractive", quotes=quotes), [
        Citation.from_evidence(n, e) for n, e in enumerate(picked, 1)
    ]


DRAFT_TOKENS = 60  # the model's draft for a span question is a vote; one short sentence is enough
EXTRACTIVE_DISCOUNT = 0.8  # a quoted sentence answers less directly than a verified one
HEAD_FIT_SCALE = 0.45  # MiniLM cosine of a noun and a typical instance of it ("river", "Danube")


def _add_usage(timings: Timings, completion: Any) -> None:
    timings.generate_s = round(timings.generate_s + completion.seconds, 4)
    timings.prompt_tokens += completion.prompt_tokens
    timings.completion_tokens += completion.completion_tokens


def withhold(answer: Answer, threshold: float) -> Answer:
    """Below the threshold an answer is not given: the reader gets the closest passages instead."""
    if answer.abstained or answer.confidence >= threshold:
        return answer
    return replace(
        answer,
        answer=render("abstain", question=answer.question),
        mode="abstained",
        abstained=True,
        citations=[],
        closest=answer.nearest,
        conflicts=[],
    )


def _shift_markers(text: str, offset: int) -> str:
    return MARKER.sub(lambda m: " " + "".join(f"[{int(x) + offset}]" for x in m.group(1).split(",")), text)


def merge_slots(question: str, parts: Sequence[Answer]) -> Answer:
    """One answer per asked slot, each cited or said to be missing, numbered as one answer."""
    texts: list[str] = []
    citations: list[Citation] = []
    for part in parts:
        if part.abstained:
            texts.append(render("abstain_slot", question=part.question))
            continue
        texts.append(_shift_markers(part.answer, len(citations)))
        offset = len(citations)
        citations += [Citation(**{**asdict(c), "n": c.n + offset}) for c in part.citations]
    answered = [p for p in parts if not p.abstained]
    timings = Timings.of_parts([p.timings for p in parts])
    if not answered:
        first = parts[0]
        return Answer(
            question,
            render("abstain", question=question),
            "abstained",
            True,
            [],
            first.closest,
            [],
            timings,
            retrieved_docs=[d for p in parts for d in p.retrieved_docs],
            time_window=first.time_window,
        )
    return Answer(
        question=question,
        answer=" ".join(texts),
        mode=min((p.mode for p in answered), key=("span", "generated", "extractive").index),
        abstained=False,
        citations=citations,
        closest=[],
        conflicts=[c for p in parts for c in p.conflicts],
        timings=timings,
        retrieved_docs=[d for p in parts for d in p.retrieved_docs],
        confidence=min(p.confidence for p in answered),
        nearest=parts[0].nearest,
        time_window=parts[0].time_window,
    )


class Answerer:
    def __init__(self, retriever: Retriever, chat: ChatModel) -> None:
        self.retriever = retriever
        self.chat = chat

    def load(self) -> float:
        """Load models up front so `load_s` is reported apart from answer latency."""
        t0 = time.perf_counter()
        _ = self.retriever.embedder.dimension
        q.nlp()  # the English pipeline for question analysis
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
        if opts.baseline:
            return self.ask_baseline(question, opts, history)
        load_s = self.load()
        t0 = time.perf_counter()
        query = q.analyse(question, previous_question(question, history))
        if query.slots:
            parts = [withhold(self._answer(slot, opts, None), opts.answer_threshold) for slot in query.slots]
            answer = merge_slots(question, parts)
        else:
            answer = withhold(self._answer(query, opts, on_token), opts.answer_threshold)
        answer.timings.load_s = round(load_s, 4)
        answer.timings.total_s = round(time.perf_counter() - t0, 4)
        return answer

    def _retrieve(self, query: q.Query, opts: AnswerOptions, window: TimeWindow | None) -> Retrieval:
        """A window from the question restricts the articles; "recently" only prefers recent ones."""
        soft = window is not None and window.soft
        return self.retriever.retrieve(
            query.search_text,
            k=opts.k,
            n_evidence=max(opts.n_evidence, CANDIDATE_POOL) if query.wants_span else opts.n_evidence,
            doc=opts.doc,
            since=opts.since,
            until=opts.until,
            focus=query.text if query.about else None,
            as_of=(opts.as_of or date.today()).isoformat(),
            window=None if soft else window,
            prefer=window if soft else None,
        )

    def _answer(self, query: q.Query, opts: AnswerOptions, on_token: TokenSink | None) -> Answer:
        """analyse -> retrieve -> choose -> write -> verify, for one asked slot."""
        as_of = opts.as_of or date.today()
        dated = [r.date for r in self.retriever.store.documents().values() if r.date]
        window = resolve(query.text, as_of, dated) or (
            resolve(query.about, as_of, dated) if query.about else None
        )
        found = self._retrieve(query, opts, window)
        pool = found.evidence
        evidence = pool[: opts.n_evidence]
        timings = Timings(retrieve_s=round(found.seconds, 4))
        result = Answer(
            question=query.text,
            answer=render("abstain", question=query.text),
            mode="abstained",
            abstained=True,
            citations=[],
            closest=[Citation.from_evidence(n, e) for n, e in enumerate(pool[:3], 1)],
            conflicts=[],
            timings=timings,
            nearest=[Citation.from_evidence(n, e) for n, e in enumerate(pool[:3], 1)],
            standalone_question=query.search_text,
            retrieved_docs=[e.doc_id for e in pool],
            time_window=window.to_json() if window else None,
        )
        if window is not None and not window.soft and not pool:
            result.answer = render("abstain_window", window=window.describe(), question=query.text)
            nearby = self._retrieve(query, opts, None).evidence[:3]  # outside the window, not cited
            result.closest = result.nearest = [Citation.from_evidence(n, e) for n, e in enumerate(nearby, 1)]
            return result
        coverage, _missing = key_coverage(query.search_text, evidence, specific_from=query.text)
        if not evidence or coverage < opts.min_key_coverage:
            return result
        if query.wants_span:
            return self._span_answer(query, pool, opts, result)
        return self._generated_answer(query, evidence, coverage, opts, on_token, result)

    def _span_answer(
        self, query: q.Query, pool: Sequence[Evidence], opts: AnswerOptions, result: Answer
    ) -> Answer:
        """The candidate span the evidence supports best, in a sentence that cites where it is.

        The model drafts an answer from the top evidence first; its draft is only a vote among the
        candidates found in the articles, never the answer itself."""
        cands = q.gather(query, pool)
        if cands:
            evidence = pool[: opts.n_evidence]
            completion = self.chat.complete(
                draft_messages(query.text, evidence), max_tokens=DRAFT_TOKENS, temperature=opts.temperature
            )
            _add_usage(result.timings, completion)
            result.draft = completion.text.strip()
        share = self.retriever.store.sentence_share
        choice = q.choose(query, pool, self.head_fit, share, result.draft or None, cands)
        if choice is None:
            return result
        result.confidence = choice.confidence
        sources = [pool[i] for i in choice.evidence]
        sentence = q.statement(query, choice.text)
        if not judge(sentence, [_context(e) for e in sources]).supported:
            sentence = choice.text.rstrip(".") + "."
        text, citations = render_answer([(sentence, list(range(len(sources))))], sources)
        return self._finish(query, result, text, "span", citations, pool)

    def _generated_answer(
        self,
        query: q.Query,
        evidence: Sequence[Evidence],
        coverage: float,
        opts: AnswerOptions,
        on_token: TokenSink | None,
        result: Answer,
    ) -> Answer:
        """Open questions ("what did the council decide?"): the model drafts, the judge verifies."""
        question, search = query.text, query.search_text
        completion = self.chat.complete(
            draft_messages(question, evidence),
            max_tokens=opts.max_tokens,
            temperature=opts.temperature,
            on_token=on_token,
        )
        _add_usage(result.timings, completion)
        result.draft = completion.text.strip()
        kept, result.dropped = attach_citations(result.draft, evidence, search)
        if kept:
            text, citations = render_answer(kept, evidence)
            result.confidence = round(coverage, 4)
            return self._finish(query, result, text, "generated", citations, evidence)
        picked = pick_quotes(question, evidence)
        if not picked:
            return result
        # Second, narrower try: the model answers from the one sentence that holds the answer,
        # asked plainly and then after worked examples. Verified the same way; only if both fail
        # is the sentence quoted.
        mode: Mode = "extractive"
        text, citations = quote(picked)
        for examples in (False, True):
            focused = self.chat.complete(
                focused_messages(question, picked[0], examples), max_tokens=60, temperature=opts.temperature
            )
            _add_usage(result.timings, focused)
            rewritten, _ = attach_citations(focused.text.strip().split("\n")[0], picked[:1], search)
            copied = rewritten and t.content_terms(rewritten[0][0]) >= t.content_terms(picked[0].text)
            if rewritten and not copied:
                (text, citations), mode = render_answer(rewritten[:1], picked[:1]), "generated"
                break
        result.confidence = round(coverage * (1.0 if mode == "generated" else EXTRACTIVE_DISCOUNT), 4)
        return self._finish(query, result, text, mode, citations, evidence)

    def _finish(
        self,
        query: q.Query,
        result: Answer,
        text: str,
        mode: Mode,
        citations: list[Citation],
        evidence: Sequence[Evidence],
    ) -> Answer:
        """A conflict is noted only when two articles give different figures for what was asked;
        articles published on different days are not a conflict."""
        cited = {(c.doc_id, c.start) for c in citations}
        conflicts = (
            [
                c
                for c in find_conflicts(evidence, kinds=("number",))
                if cited & {(side.doc_id, side.start) for side in c.sides}
            ]
            if query.answer_type in ("number", "duration")
            else []
        )
        text, citations = add_conflict_notes(text, citations, conflicts, evidence)
        result.answer, result.mode, result.abstained = text, mode, False
        result.citations, result.closest, result.conflicts = citations, [], conflicts
        return result

    def head_fit(self, head: str, texts: Sequence[str]) -> list[float]:
        """How well each candidate fits the asked-about noun ("which city": London, not Labour),
        as the embedding similarity scaled so a typical fit reads 1."""
        vectors = self.retriever.embedder.embed([head, *texts])
        base = vectors[0]
        return [
            min(1.0, sum(a * b for a, b in zip(base, v, strict=True)) / HEAD_FIT_SCALE) for v in vectors[1:]
        ]

    def ask_baseline(
        self, question: str, opts: AnswerOptions, history: Sequence[tuple[str, str]] = ()
    ) -> Answer:
        """The plain recipe other tools ship: top-k chunks by embedding, the model cites as it likes.

        Kept only so `rag eval --baseline` can measure what the grounded pipeline adds.
        """
        load_s = self.load()
        t0 = time.perf_counter()
        query = standalone(question, history)
        vector = self.retriever.embedder.embed([query])[0]
        chunks = self.retriever.store.query(CHUNKS, vector, min(opts.k, 4))
        retrieve_s = time.perf_counter() - t0
        sources = "\n\n".join(f"[{n}] {' '.join(h.text.split())}" for n, h in enumerate(chunks, 1))
        messages = [{"role": "user", "content": render("baseline", sources=sources, question=question)}]
        completion = self.chat.complete(messages, max_tokens=opts.max_tokens, temperature=opts.temperature)
        text = completion.text.strip()
        cited = sorted({int(x) for m in MARKER.finditer(text) for x in m.group(1).split(",")})
        citations = []
        for n in cited:
            if 1 <= n <= len(chunks):
                meta = chunks[n - 1].metadata
                page = int(meta.get("page", -1))
                citations.append(
                    Citation(
                        n,
                        str(meta["doc_id"]),
                        chunks[n - 1].id,
                        str(meta.get("title", "")),
                        str(meta.get("date") or "") or None,
                        page if page >= 0 else None,
                        chunks[n - 1].text,
                        int(meta["start"]),
                        int(meta["end"]),
                    )
                )
        abstained = bool(re.search(r"don'?t know|do not know", text, re.I))
        return Answer(
            question=question,
            answer=text,
            mode="abstained" if abstained else "generated",
            abstained=abstained,
            citations=citations,
            closest=[],
            conflicts=[],
            timings=Timings(
                load_s=round(load_s, 4),
                retrieve_s=round(retrieve_s, 4),
                generate_s=round(completion.seconds, 4),
                total_s=round(time.perf_counter() - t0, 4),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            ),
            draft=text,
            standalone_question=query,
            retrieved_docs=[str(h.metadata["doc_id"]) for h in chunks],
        )
