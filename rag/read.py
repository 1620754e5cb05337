"""Step 3 of an answer: read the evidence. Which span answers the question, and how likely is it right?

Candidates are spans of the expected type in the evidence sentences (spaCy entities and noun
phrases), merged by spelling. Each gets the rule features of where and how it occurs (sentence
relevance, constraints met, tie to the question's words in the parse, agreement across articles,
fit to the asked noun, how rare it is in the collection). Then the chat model reads: the top
sentences and the question go into one prompt, and each candidate is scored by the model's
log-probability of it as the whole answer. A small logistic model over these features
(`rag/reader.json`, fit on the dev set by `python -m eval.calibrate`) turns them into the
probability that the candidate is right: the best one is the answer, its probability the
confidence. A better chat model gives sharper, more often right probabilities, and they count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag import text as t
from rag.analyse import Query
from rag.nlp import lexicon, parse

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

    from rag.retrieve import Evidence

# Scoring of candidate spans by rule (see `rule_scores`): how fast evidence further down the
# ranking counts less, how much a missed constraint of the question costs, and how far (in
# dependency arcs) a span may sit from the question's words before it stops counting as tied.
RANK_DECAY = 0.5
MISSED_NAME = 0.35
MISSED_NUMBER = 0.15
TIE_ARCS = 3.0
UNTIED = 0.33  # the tie of a span in a sentence without any of the question's words
AGREEMENT_BONUS = 0.35
AGREEMENT_CAP = 3
HEAD_FIT_FLOOR = 0.2
# Types whose candidates are instances of the asked noun ("which river": the Danube is one).
INSTANCE_TYPES = ("person", "organisation", "place", "event", "other", "date", "number")
BACKGROUND_WEIGHT = 0.6
BACKGROUND_SHARE = 0.2  # a name in this share of all sentences counts as background in full
POOL_TO_COLLECTION = 0.2  # without an index: share of the evidence pool, scaled to the collection
DRAFT_VOTE = 0.5  # extra weight of a candidate the model's free draft names
STRONG_SCORE = 0.5  # a typed span, tied to the question's words, in a sentence meeting its constraints


@dataclass
class Occurrence:
    evidence: int  # index into the evidence list
    start: int  # characters within the evidence sentence
    end: int
    score: float


@dataclass
class Candidate:
    text: str
    label: str
    occurrences: list[Occurrence] = field(default_factory=list)
    docs: set[str] = field(default_factory=set)
    score: float = 0.0

    @property
    def best(self) -> Occurrence:
        return max(self.occurrences, key=lambda o: o.score)


@dataclass
class Choice:
    text: str
    evidence: list[int]  # the sentence spelling the answer in full, then the best support if another
    start: int
    end: int
    confidence: float
    candidates: list[Candidate]


HeadFit = Callable[[str, Sequence[str]], list[float]]
Share = Callable[[str], float]  # share of the collection's sentences that mention a text


def constraint_factor(query: Query, ev: Evidence) -> float:
    """1.0 when the sentence, or its article's title and date, carries every constraint."""
    haystack = t.haystack(" ".join([ev.text, ev.title, ev.date or ""]))
    factor = 1.0
    for c in query.constraints:
        if c.kind == "name":
            if not all(
                t.name_in(w, haystack) for w in (x.lower() for x in t.words(c.text)) if w not in t.STOPWORDS
            ):
                factor *= MISSED_NAME
        elif not re.search(rf"(?<![\d.]){re.escape(c.text)}(?![\d])", haystack.replace(",", "")):
            factor *= MISSED_NUMBER
    return factor


def _spans(query: Query, doc: Doc) -> list[tuple[Span, str, float]]:
    """Spans of the expected type in a sentence, with their label weight."""
    weights: dict[str, float] = lexicon()["label_weights"][query.answer_type]
    out = [(e, e.label_, weights[e.label_]) for e in doc.ents if e.label_ in weights]
    if query.answer_type == "duration":
        units = set(lexicon()["duration_units"])
        out = [(e, lab, w) for e, lab, w in out if units & set(t.words(e.text.lower())) or "-long" in e.text]
    if query.answer_type == "date":
        vague = set(lexicon()["vague_time"])
        out = [(e, lab, w * (0.3 if vague & set(t.words(e.text.lower())) else 1.0)) for e, lab, w in out]
    if "CHUNK" in weights:
        ents = {(e.start, e.end) for e in doc.ents}
        for chunk in doc.noun_chunks:
            body = _trim(query, chunk)
            if body is not None and (body.start, body.end) not in ents:
                out.append((body, "CHUNK", weights["CHUNK"]))
    return out


def _trim(query: Query, chunk: Span) -> Span | None:
    """A noun phrase without its determiner and without the question's own words at its edges:
    "the Zephyr class of trains" answers "which class of trains" as "Zephyr"."""
    doc = chunk.doc
    start, end = chunk.start, chunk.end

    def skip(tok: Token) -> bool:
        return tok.pos_ in ("DET", "PRON", "ADV", "PUNCT", "CCONJ", "ADP") or t.stem(tok.text) in query.words

    while start < end and skip(doc[start]):
        start += 1
    while end > start and skip(doc[end - 1]):
        end -= 1
    if start >= end or not any(tok.pos_ in ("NOUN", "PROPN") for tok in doc[start:end]):
        return None
    return doc[start:end]


def _own_words(query: Query, text: str) -> bool:
    """A span made only of the question's words restates the question; it answers nothing."""
    terms = t.content_terms(text)
    return not terms or terms <= query.words


def _tie(query: Query, doc: Doc, span: Span) -> float:
    """How closely a span is tied to the question's words in its sentence: the mean closeness (1 for
    a neighbour in the parse, falling with each dependency arc) over the question's words found
    there. "Marlow voted to keep the line, while Denby voted to close it": Marlow is nearer to
    "keep" and "line" than Denby is."""
    closeness = []
    for term in query.focus:
        anchors = [tok for tok in doc if t.stem(tok.text) == term and not span.start <= tok.i < span.end]
        if anchors:
            arcs = min(_arcs(span.root, a) for a in anchors)
            closeness.append(1.0 / (1.0 + max(0, arcs - 1) / TIE_ARCS))
    if not closeness:
        return UNTIED
    return max(closeness)


def _arcs(a: Token, b: Token) -> int:
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    index_b = {tok.i: n for n, tok in enumerate(up_b)}
    for n, tok in enumerate(up_a):
        if tok.i in index_b:
            return n + index_b[tok.i]
    return len(up_a) + len(up_b)


def _key(text: str) -> str:
    words = [w.lower() for w in t.words(text) if w.lower() not in ("the", "a", "an")]
    return " ".join(w.removesuffix("'s") for w in words).removesuffix(" s")


def gather(query: Query, evidence: Sequence[Evidence]) -> list[Candidate]:
    """Every typed span of the evidence, merged by spelling, scored by where and how it occurs."""
    found: dict[str, Candidate] = {}
    for i, ev in enumerate(evidence):
        weight = (0.2 + ev.lexical) * constraint_factor(query, ev) / (1.0 + RANK_DECAY * i)
        doc = parse(ev.text)
        for span, label, label_w in _spans(query, doc):
            if _own_words(query, span.text):
                continue
            start, end = span.start_char, span.end_char
            key = _key(ev.text[start:end])
            if not key:
                continue
            cand = found.setdefault(key, Candidate(ev.text[start:end], label))
            score = weight * label_w * _tie(query, doc, span)
            cand.occurrences.append(Occurrence(i, start, end, score))
            cand.docs.add(ev.doc_id)
    return _merge_short_forms(list(found.values()))


def _merge_short_forms(cands: list[Candidate]) -> list[Candidate]:
    """ "Brody" is the same answer as "Adrien Brody": short forms join the longest spelling."""
    cands.sort(key=lambda c: len(_key(c.text)), reverse=True)
    kept: list[Candidate] = []
    for cand in cands:
        words = _key(cand.text).split()
        home = next(
            (
                k
                for k in kept
                if len(words) < len(_key(k.text).split())
                and re.search(rf"\b{re.escape(' '.join(words))}\b", _key(k.text))
            ),
            None,
        )
        if home is not None and cand.label == home.label:
            home.occurrences.extend(cand.occurrences)
            home.docs |= cand.docs
        else:
            kept.append(cand)
    return kept


def pool_share(cand: Candidate, evidence: Sequence[Evidence]) -> float:
    """Share of the evidence sentences that mention a candidate (used where no index is at hand)."""
    key = _key(cand.text)
    return sum(bool(re.search(rf"\b{re.escape(key)}\b", _key(ev.text))) for ev in evidence) / len(evidence)


def choose(
    query: Query,
    evidence: Sequence[Evidence],
    head_fit: HeadFit | None = None,
    share: Share | None = None,
    draft: str | None = None,
    cands: list[Candidate] | None = None,
) -> Choice | None:
    """The best-supported candidate and a confidence in 0-1; None when no span of the type exists.

    A candidate scores by its best occurrence (sentence relevance x type fit x tie to the question's
    words), more when several articles carry it, less when it runs through the whole collection (a
    story's protagonist is in every sentence; the asked-for name is in a few). A candidate the
    model's own draft names (`draft`) counts more: two different readers agreeing. `cands` are
    `gather`'s result when the caller already has it.
    """
    cands = gather(query, evidence) if cands is None else cands
    if not cands:
        return None
    fits = [1.0] * len(cands)
    if head_fit is not None and query.head and query.answer_type in INSTANCE_TYPES:
        fits = head_fit(query.head, [c.text for c in cands])
    for cand, fit in zip(cands, fits, strict=True):
        agreement = 1.0 + AGREEMENT_BONUS * (min(len(cand.docs), AGREEMENT_CAP) - 1)
        spread = share(cand.text) if share else pool_share(cand, evidence) * POOL_TO_COLLECTION
        background = 1.0 - BACKGROUND_WEIGHT * min(1.0, spread / BACKGROUND_SHARE)
        cand.score = cand.best.score * agreement * max(HEAD_FIT_FLOOR, fit) * background
        if draft and named_in(cand.text, draft):
            cand.score *= 1.0 + DRAFT_VOTE
    cands.sort(key=lambda c: c.score, reverse=True)
    top = cands[0]
    best, full = top.best, _spelled_in_full(top)
    mass = top.score / sum(c.score for c in cands[:5])
    strength = min(1.0, top.score / STRONG_SCORE)
    confidence = round(mass**0.5 * strength, 4)
    sources = [full.evidence] + ([best.evidence] if best.evidence != full.evidence else [])
    text = evidence[full.evidence].text[full.start : full.end]
    return Choice(text, sources, full.start, full.end, confidence, cands)


def named_in(span: str, text: str) -> bool:
    key, haystack = _key(span), _key(text)
    return bool(key) and re.search(rf"\b{re.escape(key)}\b", haystack) is not None


def _spelled_in_full(cand: Candidate) -> Occurrence:
    """The best occurrence that spells the answer in full ("Ines Varga", not "Varga"): the answer
    names it, and its sentence is cited beside the one that supports it best."""
    full = [o for o in cand.occurrences if o.end - o.start >= len(cand.text)]
    return max(full or cand.occurrences, key=lambda o: o.score)
