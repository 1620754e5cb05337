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

import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from rag import text as t
from rag.analyse import Query
from rag.conflicts import Conflict, ConflictSide
from rag.llm import ChatModel, Scores, can_score
from rag.nlp import is_passive, lexicon, parse, word_set
from rag.prompts import draft_messages, passage_messages, render
from rag.records import MARKER

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
STRONG_SCORE = 0.5  # a typed span, tied to the question's words, in a sentence meeting its constraints
TITLE_MATCH = 3.0  # a name titled with the asked noun in full ("which deputy mayor": Deputy Mayor X)
KIND_IN_NAME = 3.0  # other names count this much less beside one named as the asked noun ("University of X")
NAME_VARIANT_LENGTH = 6  # name words this long match other endings of themselves (Horodetsky, Horodetskyy)
NAMED_PLACE = 0.8  # label weight of a name after "in" that the pipeline did not label a place
# Label weight of a proper name the sentence says is the asked kind (doing the asked verb, after the
# asked title) that the pipeline left unlabelled or labelled as something else.
NAMED_SUBJECT = 0.8
SUBJECT_LABELS = {"person": "PERSON", "organisation": "ORG"}
EDGE_MARKS = '•·*–—"“”‘’()[],;: '  # bullets, dashes, quotes and brackets; not a minus or apostrophe
SUBJECT_WEIGHT = 2.0  # label weight of a name that does the asked verb: the best evidence of who did it
TITLE_TAIL_CHARS = 60  # how far a quoted title may run on past where the pipeline ended it
UNCOUNTED = 0.6  # a figure beside one that counts the asked noun ("900 species, 40 of them")
AGE_ARCS = 3  # how far up the parse an age is followed to whom it belongs ("71" -> "old" -> the name)
ROLE_MISS = 0.3  # a span beside the asked verb whose subject is someone else ("the judge demanded")
KIND_NAMED_WEIGHT = 1.0  # label weight of a name the sentence calls the asked noun, whatever its label
SORT_WEIGHT = 1.0  # label weight of the asked noun with its modifiers, for "what kind of" questions
SORT_MODIFIERS = ("amod", "compound", "nmod", "npadvmod")  # dependents that say which sort a noun is
FIT_OVER_LABEL = 0.9  # a name this typical of the asked noun keeps full weight whatever its label
NAMED_TYPES = ("organisation", "place", "event", "other")  # answers that are names of things
NAME_LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT")


@dataclass
class Occurrence:
    evidence: int  # index into the evidence list
    start: int  # characters within the evidence sentence
    end: int
    score: float
    label_weight: float = 1.0  # the weight its label gave it in its sentence (in `score`)


@dataclass
class Candidate:
    text: str
    label: str
    occurrences: list[Occurrence] = field(default_factory=list)
    docs: set[str] = field(default_factory=set)
    score: float = 0.0  # by rule (`rule_scores`)
    fit: float | None = None  # to the asked noun (`rule_scores` measures it once)
    kind_named: bool = False  # a name whose head noun is the asked one (`_named_for_kind`)

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
    kind_named: bool = False  # the sentence itself calls it the asked noun ("Tropical Storm Velmora")


HeadFit = Callable[[str, Sequence[str]], list[float]]
Share = Callable[[str], float]  # share of the collection's sentences that mention a text


def constraint_factor(query: Query, ev: Evidence) -> float:
    """1.0 when the sentence, or its article's title and date, carries every constraint.

    Each missed constraint costs its factor, less when it is one of many the sentence does carry:
    with m of n names missed the cost is MISSED_NAME ** (m * m / n), the full price when the
    only name or every name is missed, and a fraction of it for one of three ("Danish Ines
    Varga, 1980, at the Games" read from "Varga won five golds at the 1980 Games").
    """
    haystack = t.haystack(" ".join([ev.text, ev.title, ev.date or ""]))
    missed = {"name": 0, "number": 0}
    total = {"name": 0, "number": 0}
    for c in query.constraints:
        group = "name" if c.kind == "name" else "number"
        total[group] += 1
        if c.kind == "name":
            words = (x.lower() for x in t.words(c.text))
            held = all(t.name_in(w, haystack) for w in words if w not in t.STOPWORDS)
        else:
            held = bool(re.search(rf"(?<![\d.]){re.escape(c.text)}(?![\d])", haystack.replace(",", "")))
        missed[group] += not held
    factor = 1.0
    for group, price in (("name", MISSED_NAME), ("number", MISSED_NUMBER)):
        if missed[group]:
            factor *= price ** (missed[group] ** 2 / total[group])
    return factor


def sentence_weight(query: Query, ev: Evidence, rank: int) -> float:
    """How much a span found in an evidence sentence counts, before its label and its tie to the
    question: the sentence's match with the question, the constraints it meets, its rank."""
    return (0.2 + ev.lexical) * constraint_factor(query, ev) / (1.0 + RANK_DECAY * rank)


def _spans(
    query: Query, doc: Doc, doers: Sequence[Token] = (), known: frozenset[str] = frozenset()
) -> list[tuple[Span, str, float]]:
    """Spans of the expected type in a sentence, with their label weight."""
    weights: dict[str, float] = lexicon()["label_weights"][query.answer_type]
    out = [(_whole_title(e), e.label_, weights[e.label_]) for e in doc.ents if e.label_ in weights]
    if query.answer_type == "place":
        out += _named_places(doc)
    if query.answer_type in NAMED_TYPES:
        out += _kind_named(query, doc, weights)
    if query.sort_of:
        out += _sorts(query, doc)
    elif query.wh_role == "subject":
        out += _asked_noun_doing(query, doc)
    if query.title and query.answer_type == "person":
        out += _titled_names(query, doc, [e for e, _, _ in out])
    if doers:
        out += _unlabelled_subjects(query, doc, doers, [e for e, _, _ in out], known)
    if query.answer_type == "duration":
        out = [(e, lab, w) for e, lab, w in out if _is_length_of_time(e.text)]
    if query.answer_type == "number" and query.head and query.head in lexicon()["duration_units"]:
        out += _counted_times(query.head, doc)
    if query.answer_type == "number" and query.counted:
        out = [(e, lab, w) for e, lab, w in out if not _counts_another_asked_noun(query, e)]
        if query.counted not in _share_stems():
            out = [(e, lab, w) for e, lab, w in out if lab != "PERCENT"]  # a count of lawmakers, not a share
        if any(_counts_asked_noun(query, e) for e, _, _ in out):  # the others count something else
            out = [(e, lab, w if _counts_asked_noun(query, e) else w * UNCOUNTED) for e, lab, w in out]
    if query.asks_age:
        out = _ages(query, doc)
    if query.asks_clock:
        out = [(e, lab, w) for e, lab, w in out if lab == "TIME" and not _is_length_of_time(e.text)]
    if query.asks_weekday:
        out = [(e, lab, w) for e, lab, w in out if word_set("weekdays") & set(t.words(e.text.lower()))]
    if query.answer_type == "date":
        vague = set(lexicon()["vague_time"])
        out = [(e, lab, w * (0.3 if vague & set(t.words(e.text.lower())) else 1.0)) for e, lab, w in out]
    if "CHUNK" in weights:
        ents = {(e.start, e.end) for e in doc.ents}
        for chunk in doc.noun_chunks:
            body = _trim(query, chunk)
            if body is not None and (body.start, body.end) not in ents and not _describes_a_name(body):
                out.append((body, "CHUNK", weights["CHUNK"]))
    return out


def _whole_title(span: Span) -> Span:
    """A title in quotation marks is the whole quote: the small pipeline ends "The Late Hour with"
    where a name inside the title begins."""
    text = span.doc.text
    if span.label_ != "WORK_OF_ART" or span.start_char == 0 or text[span.start_char - 1] not in '“"':
        return span
    rest = text[span.end_char : span.end_char + TITLE_TAIL_CHARS]
    close = re.search(r"[”\"]", rest)
    if close is None or "“" in rest[: close.start()]:
        return span
    whole = span.doc.char_span(span.start_char, span.end_char + close.start(), alignment_mode="expand")
    return whole if whole is not None else span


def _kind_named(query: Query, doc: Doc, weights: dict[str, float]) -> list[tuple[Span, str, float]]:
    """A name the sentence calls the asked noun ("the Ostrava region" for "which region") is one,
    whatever the small pipeline labelled it (it tags unknown regions as products)."""
    return [
        (e, e.label_, KIND_NAMED_WEIGHT)
        for e in doc.ents
        if e.label_ in NAME_LABELS and e.label_ not in weights and _named_for_kind(query, e, e.label_)
    ]


def _sorts(query: Query, doc: Doc) -> list[tuple[Span, str, float]]:
    """For "what kind of boats": each mention of the asked noun with the words that say which
    sort it is ("electric rescue boats", "a partial refund"), the noun kept so the answer
    reads whole."""
    mentions = [tok for tok in doc if tok.pos_ == "NOUN" and tok.lemma_.lower() == query.head]
    return [(span, "SORT", SORT_WEIGHT) for span in map(_sort_span, mentions) if span is not None]


def _sort_span(tok: Token) -> Span | None:
    """A noun with the words before it that say which sort it is; None when nothing does."""
    modifiers = [c for c in tok.lefts if c.dep_ in SORT_MODIFIERS]
    if not modifiers:
        return None
    start = min(m.left_edge.i for m in modifiers)
    vague = word_set("vague_amounts")
    while start < tok.i and (tok.doc[start].pos_ in ("DET", "PRON") or tok.doc[start].lower_ in vague):
        start += 1  # "several", "their": how many or whose, not which sort
    return tok.doc[start : tok.i + 1] if start < tok.i else None


def _asked_noun_doing(query: Query, doc: Doc) -> list[tuple[Span, str, float]]:
    """ "Which allies voiced concern?" over "Nordic allies voiced concern": the asked noun itself
    does the asked verb, and its modifiers say which ones."""
    if query.head is None or query.answer_type != "other":
        return []  # a company or a town is asked by name, not by sort
    subjects = _subjects_of_asked_verb(query, doc)
    mentions = [tok for tok in subjects if tok.pos_ == "NOUN" and tok.lemma_.lower() == query.head]
    return [(span, "SORT", SORT_WEIGHT) for span in map(_sort_span, mentions) if span is not None]


def _describes_a_name(chunk: Span) -> bool:
    """A common noun phrase in apposition to a name says what the name is ("the club's coach, Tom
    Hale"; "Tom Hale, the club's coach"): the name is the answer, the phrase only its description,
    and as a candidate of its own it would split the name's weight."""
    root = chunk.root
    if root.pos_ != "NOUN":
        return False
    if root.dep_ == "appos" and root.head.pos_ == "PROPN":
        return True
    return any(c.dep_ == "appos" and c.pos_ == "PROPN" for c in root.children)


@cache
def _share_stems() -> frozenset[str]:
    """ "How many percentage points" asks for a share; any other counted noun does not."""
    return frozenset(t.stem(w) for w in lexicon()["share_nouns"])


def _counts_asked_noun(query: Query, span: Span) -> bool:
    """ "900 species" answers "how many species"; "40 of them" in the same sentence counts a part."""
    root = span.root
    return root.dep_ == "nummod" and t.stem(root.head.text) == query.counted


def _counts_another_asked_noun(query: Query, span: Span) -> bool:
    """ "27 flags" does not answer "how many stars were on the first flag": the figure counts a
    thing the question names for another role. A noun the question does not name may be the asked
    one in other words ("12 villagers" for "how many people"), so it stays."""
    root = span.root
    if root.dep_ != "nummod" or root.head.pos_ not in ("NOUN", "PROPN"):
        return False
    noun = t.stem(root.head.text)
    return noun != query.counted and noun in query.words


def _is_length_of_time(text: str) -> bool:
    """ "30-day", "40 minutes", "an hour-long": a length of time, not a point in time ("next week",
    "four years later") or an age ("100 years old")."""
    words = set(re.split(r"[^a-z]+", text.lower()))
    return bool(words & set(lexicon()["duration_units"])) and not words & set(lexicon()["time_points"])


def _named_places(doc: Doc) -> list[tuple[Span, str, float]]:
    """A name after "in" or "near" is a place whatever the small pipeline called it: it labels
    many towns and regions it does not know as people or products ("talks in Brno")."""
    prepositions = lexicon()["place_prepositions"]
    return [
        (e, e.label_, NAMED_PLACE)
        for e in doc.ents
        if e.label_ in ("PERSON", "PRODUCT")
        and e.root.pos_ == "PROPN"
        and e.root.dep_ == "pobj"
        and e.root.head.lower_ in prepositions
    ]


def _counted_times(unit: str, doc: Doc) -> list[tuple[Span, str, float]]:
    """ "How many days …?" is answered by a span of time that counts them: spaCy labels "a 30-day
    truce" and "for 40 minutes" as dates and times, not as figures."""
    unit = unit.removesuffix("s")
    return [
        (e, e.label_, 1.0)
        for e in doc.ents
        if e.label_ in ("DATE", "TIME")
        and t.numbers(e.text)
        and any(w.removesuffix("s") == unit for w in re.findall(r"[a-z]+", e.text.lower()))
    ]


def _ages(query: Query, doc: Doc) -> list[tuple[Span, str, float]]:
    """ "How old was Ines Varga?" is answered by an age ("71-year-old", "aged 64", "Tom Hale, 54,"),
    never by another figure of the sentence (a phone number, a count); the age of someone else the
    sentence names ("71-year-old Ines Varga and her 68-year-old husband") weighs less."""
    spans = []
    for start, end in t.ages(doc.text):
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    for tok in doc[2:-1]:
        after_name = doc[tok.i - 1].text == "," and doc[tok.i - 2].pos_ == "PROPN"
        if after_name and tok.text.isdigit() and len(tok.text) <= 3 and doc[tok.i + 1].text == ",":
            spans.append(doc[tok.i : tok.i + 1])  # "Tom Hale, 54, said"
    return [(span, "CARDINAL", 1.0 if _aged(query, span) else ROLE_MISS) for span in spans]


def _aged(query: Query, span: Span) -> bool:
    """Whether the age is that of one the question names: the noun the age describes ("71-year-old
    Ines Varga", "Tom Hale, 54", "her 68-year-old husband Tom"), or the subject of the verb it goes
    with ("Tom Hale, who died aged 64")."""
    tok, steps = span.root, 0
    while steps < AGE_ARCS and tok.head is not tok:
        tok = tok.head
        if tok.lower_ in word_set("age_words") or tok.is_punct:
            continue  # the age's own words: "year", "old", "aged"
        steps += 1
        if tok.pos_ == "VERB":
            owner = _subject(tok, is_passive(tok))
            if (owner is None or owner.tag_ in ("WP", "WDT")) and tok.dep_ == "relcl":
                owner = tok.head  # "Tom Hale, who died aged 64"
            return owner is not None and _is_named_one(query, owner)
        if tok.pos_ in ("NOUN", "PROPN"):
            return _is_named_one(query, tok)
    return False


def _is_named_one(query: Query, noun: Token) -> bool:
    """Whether a noun is the one the question names: its name ("Ines Varga"; "husband Tom") shares a
    word with the question's names and has none where the question's has another ("Tom Varga" is
    not "Ines Varga"). A question without names ("the oldest tree") is matched by its words."""
    described = [c for c in noun.children if c.dep_ in ("amod", "compound") and c.pos_ != "PROPN"]
    if noun.dep_ == "appos":
        described.append(noun.head)
    if any(t.stem(word.text) in query.focus for word in described):
        return True  # "the driver, 33-year-old Tom Hale" for "how old is the driver"
    asked = t.names(query.text)
    if not asked:
        return t.stem(noun.text) in query.focus
    words = [c for c in noun.children if c.dep_ == "compound"] + [noun]
    if noun.pos_ == "NOUN":
        words += [c for c in noun.children if c.dep_ == "appos"] + list(
            itertools.takewhile(lambda tok: tok.pos_ == "PROPN", noun.doc[noun.i + 1 :])
        )
    named = {tok.lower_ for tok in words if tok.pos_ == "PROPN"}
    return bool(named & asked) and not (asked - named and named - asked)


def _joined(spans: list[tuple[Span, str, float]]) -> list[tuple[Span, str, float]]:
    """Names joined by "and" ("Ines Varga and Tom Hale") as one span: a question asking for several
    ("which *towns*") is answered by all of them. Joined are spans of one label, or two proper
    names (the small pipeline often labels the two names of a pair differently)."""
    by_root = {span.root.i: (span, label) for span, label, _ in spans}

    def alike(first: Span, label: str, other: tuple[Span, str]) -> bool:
        return other[1] == label or (first.root.pos_ == "PROPN" and other[0].root.pos_ == "PROPN")

    out = []
    for span, label, weight in spans:
        members, tok = [span], span.root
        head = by_root.get(span.root.head.i)
        inside = span.root.dep_ == "conj" and head is not None and alike(head[0], head[1], (span, label))
        while not inside:
            conj = [c for c in tok.children if c.dep_ == "conj" and c.i in by_root]
            nxt = next((c for c in conj if alike(span, label, by_root[c.i])), None)
            if nxt is None:
                break
            members.append(by_root[nxt.i][0])
            tok = nxt
        if len(members) > 1:
            out.append((span.doc[span.start : members[-1].end], label, weight))
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


def _own_words(query: Query, text: str, label: str = "") -> bool:
    """A span made only of the question's words restates the question; it answers nothing. Nor does
    a person the question names, in full or in part ("Tom Hale" when it asks who stood beside
    Hale, or beside "him" after a question about Hale), in any of the spellings articles give a
    transliterated name ("Horodetskiy" for "Horodetsky"): the asked person is someone else."""
    terms = t.content_terms(text) | t.figure_values(text)  # "two" is a stop word, yet a count
    if not terms or terms <= query.words | query.numbers:
        return True
    if label != "PERSON":
        return False
    spelled = t.words(text)
    return any(
        c.kind == "name"
        and (named := t.words(c.text))
        and all(any(t.same_name_word(w, s, NAME_VARIANT_LENGTH) for s in spelled) for w in named)
        for c in query.constraints
    )


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
    known = _names_in(evidence) if _asks_doer(query) else frozenset()
    for i, ev in enumerate(evidence):
        weight = sentence_weight(query, ev, i)
        doc = parse(ev.text)
        doers = _doers(query, doc)
        spans = _spans(query, doc, doers, known)
        for span, label, label_w in spans + (_joined(spans) if query.plural else []):
            if _own_words(query, span.text, label):
                continue
            start, end = _inside_marks(ev.text, span.start_char, span.end_char)
            key = _key(ev.text[start:end])
            if not key or _cut_off(ev.text, end):
                continue
            cand = found.setdefault(key, Candidate(ev.text[start:end], label))
            titled = bool(query.title) and query.title <= _title_before(span)
            if titled and span.root.pos_ == "PROPN":
                label_w = max(label_w, NAMED_SUBJECT)  # "goalkeeper Tom Hale" is a person, whatever his label
            score = weight * _subject_role(span, doers, label_w) * _tie(query, doc, span)
            if titled:
                score *= TITLE_MATCH  # "Vice President Ines Varga" for "which vice president"
            if titled or _named_for_kind(query, span, label):
                cand.kind_named = True
            cand.occurrences.append(Occurrence(i, start, end, score, label_w))
            cand.docs.add(ev.doc_id)
    return _merge_short_forms(list(found.values()), lexicon()["label_weights"][query.answer_type])


def _cut_off(text: str, end: int) -> bool:
    """A span just before an ellipsis may be the start of a longer name a shortened headline cut
    ("… about the Vltava ..."): it is not read as a whole name."""
    return re.match(r"\s*(?:\.\.\.|…)", text[end:]) is not None


def _asks_doer(query: Query) -> bool:
    """ "Who demanded …?" asks for whoever did it. Not "which deputy mayor met …", where the title
    says who is meant whatever the sentence's subject; nor where, when or how many."""
    return query.verb is not None and query.head is None and query.answer_type in SUBJECT_LABELS


def _doers(query: Query, doc: Doc) -> list[Token]:
    """Who does the asked verb in a sentence (`_subject`), for a question that asks who did it."""
    return _subjects_of_asked_verb(query, doc) if _asks_doer(query) else []


def _subjects_of_asked_verb(query: Query, doc: Doc) -> list[Token]:
    """Who or what does the question's verb in a sentence, wherever the sentence uses it."""
    if query.verb is None:
        return []
    verbs = [tok for tok in doc if tok.pos_ == "VERB" and _is_verb(tok, query.verb)]
    subjects = [
        subject
        for verb in verbs
        if not _says_it_in_a_clause(query, verb) and (subject := _subject(verb, query.passive)) is not None
    ]
    return [_antecedent(s) for s in subjects]


def _says_it_in_a_clause(query: Query, verb: Token) -> bool:
    """ "'… the song …,' Tom Hale wrote" is not Tom Hale writing the song: the question's words
    are inside what the verb reports (its clausal complement), not what it acts on. "Who said the
    bridge would reopen" asks for that clause's speaker."""
    if query.verb in word_set("speech_verbs"):
        return False
    clauses = [c for c in verb.children if c.dep_ == "ccomp"]
    anchors = [
        tok for tok in verb.doc if t.stem(tok.text) in query.focus and tok != verb and not tok.is_punct
    ]
    inside = [a for a in anchors if any(c.left_edge.i <= a.i <= c.right_edge.i for c in clauses)]
    return bool(clauses) and bool(anchors) and len(inside) == len(anchors)


def _antecedent(subject: Token) -> Token:
    """ "Ines Varga, a poet, in 1813, when she wrote …": a personal pronoun stands for the one person
    the sentence names before it; with none or several, the pronoun stays (whoever it is)."""
    if subject.pos_ != "PRON" or subject.lower_ not in word_set("personal_pronouns"):
        return subject
    before = [e for e in subject.doc.ents if e.label_ == "PERSON" and e.end <= subject.i]
    return before[0].root if len(before) == 1 else subject


def _is_verb(tok: Token, lemma: str) -> bool:
    """By lemma or by stem: spaCy lemmatises some forms oddly ("fined" -> "fin"). Verbs of saying
    are one verb: "who said …" is answered by whoever stated, noted or added it."""
    own = tok.lemma_.lower()
    if own == lemma or t.stem(tok.text) == t.stem(lemma):
        return True
    speech = word_set("speech_verbs")
    return lemma in speech and own in speech


def _subject_role(span: Span, doers: Sequence[Token], label_weight: float) -> float:
    """A span's label weight, by the role it plays. For "who demanded a recount?", a sentence where
    the judge demanded it answers with the judge (or whoever is named inside that subject: "the
    judge, Ines Varga"), not with another name beside it; and the one doing the asked verb is the
    asked kind whatever its label ("who" demanded it: a council, labelled an organisation). Only
    where the sentence has the asked verb in the asked voice and a subject for it: a sentence that
    words it otherwise says nothing of roles."""
    if any(span.start <= s.i < span.end for s in doers):
        return max(label_weight, SUBJECT_WEIGHT)
    if not doers or any(s.pos_ == "PRON" or s.left_edge.i <= span.root.i <= s.right_edge.i for s in doers):
        return label_weight  # "he demanded": whoever he is may be the span
    return label_weight * ROLE_MISS


def _names_in(evidence: Sequence[Evidence]) -> frozenset[str]:
    """Every name the pipeline labelled somewhere in the evidence."""
    return frozenset(
        e.text for ev in evidence for e in parse(ev.text).ents if e.label_ in SUBJECT_LABELS.values()
    )


def _unlabelled_subjects(
    query: Query, doc: Doc, doers: Sequence[Token], spans: list[Span], known: frozenset[str] = frozenset()
) -> list[tuple[Span, str, float]]:
    """The proper name doing the asked verb ("Ines Varga also urged …") where the small pipeline
    labelled no name there: it misses many, and this is the one the question asks for. At the start
    of a sentence it may tag a name as a common noun; a capitalised subject it labels a name in
    another evidence sentence is that name."""
    out = []
    for subject in doers:
        named = subject.pos_ == "PROPN" or (subject.is_title and subject.text in known)
        if not named or any(s.start <= subject.i < s.end for s in spans):
            continue
        start = min(
            [subject.i] + [c.i for c in subject.children if c.dep_ == "compound" and c.pos_ == "PROPN"]
        )
        out.append((doc[start : subject.i + 1], SUBJECT_LABELS[query.answer_type], NAMED_SUBJECT))
    return out


def _titled_names(query: Query, doc: Doc, spans: list[Span]) -> list[tuple[Span, str, float]]:
    """A proper name after the asked title ("Special Envoy Tom Hale" for "which envoy") where the
    small pipeline labelled no name: the title says it is a person."""
    out = []
    for tok in doc:
        if tok.pos_ != "PROPN" or tok.dep_ == "compound" or any(s.start <= tok.i < s.end for s in spans):
            continue
        chain = [c for c in tok.lefts if c.dep_ == "compound" and c.pos_ in ("PROPN", "NOUN")]
        titled = [c for c in chain if c.lower_ in query.title or c.lemma_.lower() in query.title]
        if titled:
            start = titled[-1].i + 1
            if start <= tok.i and all(w.is_title for w in doc[start : tok.i + 1]):
                out.append((doc[start : tok.i + 1], "PERSON", NAMED_SUBJECT))
    return out


def _subject(verb: Token, passive: bool, depth: int = 0) -> Token | None:
    """Who does what the verb says (for a passive question, who undergoes it): its subject, or the
    agent of a passive ("shared by Tom Hale"); the noun a relative clause hangs on ("Hale, who
    demanded"); the subject of the verb it completes ("Hale is set to demand"). None where the
    sentence does not say."""
    if passive:
        return next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
    agent = next((c for c in verb.children if c.dep_ == "agent"), None)
    if agent is not None:
        return next((c for c in agent.children if c.dep_ == "pobj"), None)
    if is_passive(verb):
        return None
    own = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    if own is not None and own.tag_ in ("WP", "WDT") and verb.dep_ == "relcl":
        return verb.head
    if own is not None:
        return own
    if verb.dep_ == "xcomp" and depth < 3:
        return _subject(verb.head, passive, depth + 1)
    if verb.tag_ == "VBG" and verb.dep_ == "acl":
        return _named(verb.head)  # "the adviser, Ines Varga, stating that …"
    if verb.tag_ == "VBG" and verb.dep_ == "advcl" and depth < 3:
        with_ = [c for c in verb.head.children if c.dep_ == "prep" and c.lower_ == "with" and c.i < verb.i]
        objects = [p for w in with_ for p in w.children if p.dep_ == "pobj"]
        if objects:
            return _named(objects[-1])  # "…, with the mayor's spokesman, Tom Hale, stating that …"
        return _subject(verb.head, passive, depth + 1)  # "The council met, saying that …"
    return None


def _named(noun: Token) -> Token:
    """The name in apposition to a noun ("the adviser, Ines Varga"), else the noun."""
    return next((c for c in noun.children if c.dep_ == "appos" and c.pos_ == "PROPN"), noun)


def _inside_marks(text: str, start: int, end: int) -> tuple[int, int]:
    """A span without the bullet, dash or quote mark the pipeline took in at its edges ("• Ines
    Varga"): the answer names what the span names."""
    while start < end and text[start] in EDGE_MARKS:
        start += 1
    while end > start and text[end - 1] in EDGE_MARKS:
        end -= 1
    return start, end


def _named_for_kind(query: Query, span: Span, label: str) -> bool:
    """A name says what kind of thing it is when its head noun is the asked one ("the University of
    Brno" is a university), when it stands in apposition to the asked noun ("the club, Vltava
    Eagles"), when the asked noun is said to be called so ("a club called Vltava Eagles"), or when
    it names the asked noun it is compounded to ("Brno rowing club" for "which club"; not for
    people: "Brno officials" are not Brno). Spelled as asked, so "the United States" is not a
    "state"; noun phrases ("the first state") are not names unless the sentence says the asked
    noun is called so ("an antiviral drug named velorin")."""
    if query.head is None or label == "READ":
        return False
    naming = _naming_verb(span.root)
    if naming is not None and naming.dep_ == "acl" and _is_asked_noun(query.head, naming.head):
        return True  # "a rowing club called Vltava Eagles", "a storm known as Ines", "a drug named x"
    if span.root.pos_ == "PROPN" and query.answer_type != "person":
        titles = _title_before(span) | {c.lemma_.lower() for c in span.root.children if c.dep_ == "compound"}
        if query.head in titles:
            return True  # "Tropical Storm Velmora" for "which storm", "Lake Kestrin" for "which lake"
    if not label.isupper() or label == "CHUNK" or span.root.pos_ != "PROPN":
        return False
    if span.root.lower_ == query.head:
        return True
    if span.root.dep_ == "appos" and _is_asked_noun(query.head, span.root.head):
        return True  # "the harbour's two rowing clubs, Vltava Eagles and Brno Oars"
    if any(c.dep_ == "appos" and _is_asked_noun(query.head, c) for c in span.root.children):
        return True  # "Vltava Eagles, a rowing club from Brno"
    if query.answer_type == "person":
        return False
    tok = span.root
    for _ in range(3):
        if tok.dep_ != "compound":
            return False
        tok = tok.head
        if tok.lemma_.lower() == query.head and not span.start <= tok.i < span.end:
            return True
    return False


def _naming_verb(tok: Token) -> Token | None:
    """The verb that gives a noun its name: "called" of "a club called Vltava Eagles", "known" of
    "a storm known as Ines"."""
    verb = tok.head
    if tok.dep_ == "pobj" and verb.lower_ == "as":
        verb = verb.head
    elif tok.dep_ not in ("oprd", "dobj", "attr", "xcomp"):
        return None
    return verb if verb.pos_ == "VERB" and verb.lemma_.lower() in lexicon()["naming_verbs"] else None


def _is_asked_noun(head: str, tok: Token) -> bool:
    """A noun that is the asked one or is compounded with it ("club" of "rowing club")."""
    if tok.pos_ != "NOUN":
        return False
    return tok.lemma_.lower() == head or any(
        c.dep_ == "compound" and c.lemma_.lower() == head for c in tok.children
    )


def _title_before(span: Span) -> set[str]:
    """The words compounded before a name that title it: "Vice President" of "Vice President Ines
    Varga", "head coach" of "head coach Tom Hale"."""
    words: set[str] = set()
    tok = span.doc[span.start - 1] if span.start > 0 else None
    while tok is not None and tok.dep_ == "compound" and span.start - 4 <= tok.i and tok.is_alpha:
        if not (tok.head.i >= tok.i + 1 and tok.head.i < span.end):
            break
        words.add(tok.lemma_.lower())
        words.add(tok.lower_)
        tok = span.doc[tok.i - 1] if tok.i > 0 else None
    return words


def _merge_short_forms(cands: list[Candidate], weights: dict[str, float]) -> list[Candidate]:
    """ "Brody" is the same answer as "Adrien Brody": short forms join the longest spelling of the
    same label, and a lone surname joins its person, weighed then as a person."""
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
        if home is not None and _bounds(home.text, words):
            kept.append(cand)  # "two" is a count; "no more than two" a limit: two answers
        elif home is not None and cand.label == home.label:
            home.occurrences.extend(cand.occurrences)
            home.docs |= cand.docs
            home.kind_named |= cand.kind_named
        elif home is not None and _surname_of(words, home, weights):
            full = weights.get(home.label, 0.0)  # each occurrence as if labelled like its person
            home.occurrences.extend(
                replace(o, score=o.score * max(1.0, full / max(1e-9, o.label_weight)))
                for o in cand.occurrences
            )
            home.docs |= cand.docs
        else:
            kept.append(cand)
    return kept


def _bounds(longer: str, words: list[str]) -> bool:
    """Whether a longer spelling makes a figure a limit or one end of a range ("no more than two",
    "up to 40", "between five and seven")."""
    key = _key(longer)
    return bool(t.numbers(" ".join(words))) and any(
        key.startswith(f"{bound} ") for bound in lexicon()["figure_bounds"]
    )


def _surname_of(words: list[str], person: Candidate, weights: dict[str, float]) -> bool:
    """A lone surname is the person named in full elsewhere ("Novak" of "Maria Novak"), whatever
    label the small pipeline gave it: it often tags a bare surname as an organisation or place.
    Not where the question asks for its own label rather than a person: for "which city", a town
    that shares a surname with someone named in the evidence stays a town."""
    return (
        person.label == "PERSON"
        and len(words) == 1
        and _key(person.text).split()[-1] == words[0]
        and weights.get("PERSON", 0.0) >= max(weights.values(), default=0.0)
    )


def pool_share(cand: Candidate, evidence: Sequence[Evidence]) -> float:
    """Share of the evidence sentences that mention a candidate (used where no index is at hand)."""
    key = _key(cand.text)
    return sum(bool(re.search(rf"\b{re.escape(key)}\b", _key(ev.text))) for ev in evidence) / len(evidence)


def rule_scores(
    query: Query,
    evidence: Sequence[Evidence],
    cands: list[Candidate],
    head_fit: HeadFit | None = None,
    share: Share | None = None,
    draft: str | None = None,
) -> list[Candidate]:
    """The candidates ranked by rule, best first.

    A candidate scores by its best occurrence (sentence relevance x type fit x tie to the question's
    words), more when several articles carry it, less when it runs through the whole collection (a
    story's protagonist is in every sentence; the asked-for name is in a few). A candidate the
    model's own draft names counts more: two different readers agreeing.
    """
    if any(c.fit is None for c in cands):
        fits = [1.0] * len(cands)
        if head_fit is not None and query.head and query.answer_type in INSTANCE_TYPES:
            fits = head_fit(query.head, [c.text for c in cands])
        for cand, fit in zip(cands, fits, strict=True):
            cand.fit = 1.0 if cand.kind_named else fit  # the sentence itself calls it one
    named_kind = any(c.kind_named for c in cands)
    measured = head_fit is not None and bool(query.head) and query.answer_type in INSTANCE_TYPES
    for cand in cands:
        fit = cand.fit if cand.fit is not None else 1.0
        agreement = 1.0 + AGREEMENT_BONUS * (min(len(cand.docs), AGREEMENT_CAP) - 1)
        spread = share(cand.text) if share else pool_share(cand, evidence) * POOL_TO_COLLECTION
        background = 1.0 - BACKGROUND_WEIGHT * min(1.0, spread / BACKGROUND_SHARE)
        cand.score = cand.best.score * agreement * max(HEAD_FIT_FLOOR, fit) * background
        if measured:
            cand.score *= _label_lift(query, cand, fit)  # only a measured fit says what a name is
        if draft and drafted(query, cand.text, draft):
            cand.score *= 1.0 + DRAFT_VOTE
        typical_place = measured and query.answer_type == "place" and fit >= FIT_OVER_LABEL
        if named_kind and not cand.kind_named and not typical_place:
            cand.score /= KIND_IN_NAME  # beside "the University of Brno", a ministry is no university;
            # a typical city stays one beside a city with "City" in its name (places' fit is contrasted)
    cands.sort(key=lambda c: c.score, reverse=True)
    return cands


def _label_lift(query: Query, cand: Candidate, fit: float) -> float:
    """A name the embedder reads as a typical instance of the asked noun ("Brno" for "which city")
    is one, whatever label the small pipeline gave it (it tags many towns as people): its label
    weight is lifted to full."""
    weight = lexicon()["label_weights"][query.answer_type].get(cand.label)
    if fit < FIT_OVER_LABEL or cand.label not in NAME_LABELS or not weight or weight >= 1.0:
        return 1.0
    return 1.0 / weight


def rule_confidence(cands: Sequence[Candidate], n: int = 0) -> float:
    """The rules' own confidence in candidate n: its share of the top candidates' score mass,
    scaled by its score against a strong one."""
    mass = cands[n].score / max(1e-9, sum(c.score for c in cands[:5]))
    return round(mass**0.5 * min(1.0, cands[n].score / STRONG_SCORE), 4)


def choose(
    query: Query,
    evidence: Sequence[Evidence],
    head_fit: HeadFit | None = None,
    share: Share | None = None,
    cands: list[Candidate] | None = None,
    draft: str | None = None,
) -> Choice | None:
    """The best candidate by rule alone, with the rules' confidence; None when no span of the type
    exists. `cands` are `gather`'s result when the caller already has it."""
    cands = gather(query, evidence) if cands is None else cands
    if not cands:
        return None
    rule_scores(query, evidence, cands, head_fit, share, draft)
    return _choice(evidence, cands, 0, rule_confidence(cands))


def _choice(evidence: Sequence[Evidence], cands: list[Candidate], n: int, confidence: float) -> Choice:
    """Candidate n as the answer: spelled in full, citing that sentence and the best support."""
    top = cands[n]
    best, full = top.best, _spelled_in_full(top)
    sources = [full.evidence] + ([best.evidence] if best.evidence != full.evidence else [])
    text = evidence[full.evidence].text[full.start : full.end]
    return Choice(text, sources, full.start, full.end, confidence, cands, top.kind_named)


def drafted(query: Query, span: str, draft: str) -> bool:
    """Whether the model's draft names a candidate: its words, or for a count the same value spelled
    another way ("6" for "the sixth time"), not counting figures the question itself gives."""
    if named_in(span, draft):
        return True
    if query.answer_type not in DISPUTABLE:
        return False
    values = t.figure_values(span) - t.figure_values(query.text)
    return bool(values) and values <= t.figure_values(MARKER.sub(" ", draft))  # "[1]" cites, not counts


def named_in(span: str, text: str) -> bool:
    key, haystack = _key(span), _key(text)
    return bool(key) and re.search(rf"\b{re.escape(key)}\b", haystack) is not None


def _spelled_in_full(cand: Candidate) -> Occurrence:
    """The best occurrence that spells the answer in full ("Ines Varga", not "Varga"): the answer
    names it, and its sentence is cited beside the one that supports it best."""
    full = [o for o in cand.occurrences if o.end - o.start >= len(cand.text)]
    return max(full or cand.occurrences, key=lambda o: o.score)


# -- the model reads -------------------------------------------------------------------------------

DRAFT_VOTE = 0.5  # extra rule weight of a candidate the model's free draft names
DRAFT_TOKENS = 60  # the draft is a reading, not the answer: one short sentence is enough
DRAFT_EVIDENCE = 6  # sentences the draft is written from
READ_CANDIDATES = 6  # candidates the model scores: the rules' best, in their order
RIVAL_SHARE = 0.5  # another article's different value read this close to the answer's is said too
# What kind of value a label gives: a sum of money is no rival to a head count, nor a share to either.
VALUE_KINDS = {
    "money": ("MONEY",),
    "share": ("PERCENT",),
    "amount": ("CARDINAL", "QUANTITY"),
    "time": ("DATE", "TIME"),
}
DISPUTABLE = ("number", "duration")  # one true value: two articles giving two disagree (dates name events)
DESCRIPTION_CONFIDENCE = 0.8  # a title or apposition the sentence gives the asked name
OPENING_CONFIDENCE = 0.8  # a byline or dateline says it; the doubt is whether the question found its article
CONFIDENCE_CAP = 0.99  # a probability, never a certainty
READ_PASSAGES = 2  # passages (the chunks of the best evidence) a passage reader is given
PASSAGE_READER_PARAMS = 1_000_000_000  # on 'auto', models this large read passages
REPLY_TOKENS = 24  # a passage reader replies with the answer's own words: a name, a figure, a date
READ_LABEL_WEIGHT = 1.0  # rule weight of a span only the passage reader found (no typed label)

ReadFrom = Literal["auto", "sentences", "passages"]
Passages = Callable[[Sequence["Evidence"], int], list[str]]


@dataclass
class Reading:
    """The reader's verdict: the chosen span, where it is, and the probability that it is right."""

    choice: Choice
    features: dict[str, float]
    probabilities: list[float]  # per candidate, in `choice.candidates` order
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    draft: str = ""  # the model's own short answer, one of its readings
    rivals: list[Conflict] = field(default_factory=list)  # other articles' values for what was asked


@dataclass(frozen=True)
class Calibration:
    """A logistic model over named features: P(candidate is right) = sigmoid(w . x + b)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * values.get(f, 0.0) for f, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@cache
def calibrations() -> dict[str, dict[str, Calibration]]:
    """The fitted models (`rag/reader.json`), for readers with the chat model's scores ("model")
    and for chat models that cannot score replies, a remote server ("rules"): `choose` ranks a
    question's candidates, `confidence` is the probability that the chosen one is right."""
    data = json.loads(resources.files("rag").joinpath("reader.json").read_text("utf-8"))
    return {
        stage: {
            name: Calibration(tuple(spec["features"]), tuple(spec["weights"]), float(spec["bias"]))
            for name, spec in models.items()
        }
        for stage, models in data["stages"].items()
    }


@cache
def open_confidence(mode: str) -> float:
    """The probability that an answer to an open question is right, by how it was written (verified
    statements of the model, or a quote): measured on the dev sets (`rag/reader.json`), since the
    key coverage of the evidence did not tell right from wrong."""
    data = json.loads(resources.files("rag").joinpath("reader.json").read_text("utf-8"))
    return min(CONFIDENCE_CAP, float(data["open"][mode]))


def rule_features(
    query: Query, evidence: Sequence[Evidence], cands: Sequence[Candidate]
) -> list[dict[str, float]]:
    """What the rules know of each candidate, on scales that do not depend on the question."""
    out = []
    for n, cand in enumerate(cands):
        best = cand.best
        ev = evidence[best.evidence]
        out.append(
            {
                "rule_confidence": rule_confidence(cands, n),
                "rule_first": 1.0 if n == 0 else 0.0,
                "articles": float(min(len(cand.docs), AGREEMENT_CAP) - 1),
                "lexical": ev.lexical,
                "constraints": constraint_factor(query, ev),
                "sentence_rank": 1.0 / (1.0 + best.evidence),
                "fit": cand.fit if cand.fit is not None else 1.0,
            }
        )
    return out


def model_features(probabilities: Sequence[float], none: float) -> list[dict[str, float]]:
    """What the chat model's reading says of each candidate: its probability among the candidates,
    its margin over the best other one, and how likely the model found "not stated"."""
    out = []
    for n, p in enumerate(probabilities):
        rival = max((q for m, q in enumerate(probabilities) if m != n), default=0.0)
        out.append({"model_p": p, "model_margin": p - rival, "model_none": none})
    return out


def reading_messages(draft_prompt: Sequence[dict[str, str]], draft: str) -> list[dict[str, str]]:
    """The prompt candidates are scored on: the model's own draft conversation, then a request for
    the answer's exact words. It continues the draft's prompt, so the evidence is read once."""
    return [
        *draft_prompt,
        {"role": "assistant", "content": draft},
        {"role": "user", "content": render("read_short")},
    ]


class Reader:
    """Finds the answer span among the candidates: the rules rank them, the chat model reads (the
    evidence sentences, or for a large model the passages around them) and scores each candidate as
    the answer, the calibration weighs both."""

    def __init__(
        self,
        chat: ChatModel,
        head_fit: HeadFit | None = None,
        share: Share | None = None,
        score_replies: bool = True,
        passages: Passages | None = None,
        reading: ReadFrom = "auto",
    ) -> None:
        self.chat = chat
        self.head_fit = head_fit
        self.share = share
        self.score_replies = score_replies and can_score(chat)
        self.passages = passages
        self.reading = reading
        self._reads_passages: bool | None = None
        self.trace: list[dict[str, Any]] | None = None  # set by `eval.calibrate` to collect features

    def reads_passages(self) -> bool:
        """Whether the model is given passages (`reads_from`)."""
        if self._reads_passages is None:
            size = getattr(self.chat, "parameters", None)
            parameters = size() if callable(size) and self.reading == "auto" else None
            self._reads_passages = (
                self.passages is not None and reads_from(self.reading, parameters) == "passages"
            )
        return self._reads_passages

    def read(self, query: Query, evidence: Sequence[Evidence], temperature: float = 0.0) -> Reading | None:
        cands = gather(query, evidence)
        passages = self.passages(evidence, READ_PASSAGES) if self.passages and self.reads_passages() else []
        if not cands and not passages:
            return None
        ranked = rule_scores(query, evidence, cands, self.head_fit, self.share)
        cands = ranked[:READ_CANDIDATES]
        if passages:
            kind = "passages"
            messages = passage_messages(query.text, passages)
            draft = self.chat.complete(messages, max_tokens=REPLY_TOKENS, temperature=temperature)
            found = reply_candidate(query, evidence, ranked, reply_span(draft.text))
            cands += [found] if found and found not in cands else []
        else:
            kind = "model"
            messages = draft_messages(query.text, evidence[:DRAFT_EVIDENCE])
            draft = self.chat.complete(messages, max_tokens=DRAFT_TOKENS, temperature=temperature)
        if not cands:
            return None
        rule_scores(query, evidence, cands, self.head_fit, self.share, draft.text)
        features = rule_features(query, evidence, cands)
        for cand, row in zip(cands, features, strict=True):
            row["draft_names"] = 1.0 if drafted(query, cand.text, draft.text) else 0.0
        seconds, tokens = draft.seconds, draft.prompt_tokens
        if self.score_replies:
            scores = self._score(reading_messages(messages, draft.text), evidence, cands)
            seconds, tokens = seconds + scores.seconds, tokens + scores.prompt_tokens
            probabilities, none = _normalised([scores.total(i) for i in range(len(scores.logprobs))])
            for row, extra in zip(features, model_features(probabilities, none), strict=True):
                row.update(extra)
        else:
            kind = "rules"
        probs = [_calibration("choose", kind).probability(row) for row in features]
        for row, p in zip(features, probs, strict=True):
            row["choose_p"] = p
        if self.trace is not None:
            self.trace.extend(
                {"text": c.text, "reading": kind, **row} for c, row in zip(cands, features, strict=True)
            )
        n = max(range(len(cands)), key=lambda i: probs[i])
        confidence = min(CONFIDENCE_CAP, _calibration("confidence", kind).probability(features[n]))
        choice = _choice(evidence, cands, n, round(confidence, 4))
        support = [row.get("model_p", row["rule_confidence"]) for row in features]
        rivals = _rivals(query, evidence, cands, support, n)
        return Reading(
            choice, features[n], probs, seconds, tokens, draft.completion_tokens, draft.text.strip(), rivals
        )

    def _score(
        self, messages: list[dict[str, str]], evidence: Sequence[Evidence], cands: Sequence[Candidate]
    ) -> Scores:
        """The model's log-probability of each candidate (spelled in full) and of "not stated" as its
        reply to the prompt it drafted from (whose state the context still holds)."""
        replies = [evidence[o.evidence].text[o.start : o.end] for o in (_spelled_in_full(c) for c in cands)]
        return self.chat.score(messages, [*replies, render("read_none")])  # type: ignore[attr-defined]


def reads_from(reading: ReadFrom, parameters: int | None) -> Literal["sentences", "passages"]:
    """What a chat model reads: on 'auto', passages when it is large enough to answer from them in
    their own words (a model of unknown size, a remote server, reads sentences)."""
    if reading != "auto":
        return reading
    return "passages" if parameters is not None and parameters >= PASSAGE_READER_PARAMS else "sentences"


def describe_reading(reading: ReadFrom, parameters: int | None) -> str:
    """One line for `rag doctor` and the page: what the model reads, and why."""
    kind = reads_from(reading, parameters)
    size = f"{parameters / 1e9:.2g} B parameters" if parameters is not None else "size unknown"
    if reading != "auto":
        return f"{kind} (reading = {reading})"
    return f"{kind} ({size}; on 'auto', models of {PASSAGE_READER_PARAMS / 1e9:g} B or more read passages)"


def _calibration(stage: str, kind: str) -> Calibration:
    """The fitted model of a reading kind; a kind not fitted yet falls back to the sentence reader's."""
    fitted = calibrations()[stage]
    return fitted.get(kind) or fitted["model" if kind == "passages" else "rules"]


def reply_span(reply: str) -> str:
    """The answer a passage reader wrote, without its passage number and closing stop: "Ines Varga
    [2]." -> "Ines Varga"; its "not stated" is no answer."""
    first = reply.strip().split("\n")[0]
    span = re.sub(r"\s*\[\d+(?:\s*,\s*\d+)*\]", "", first).strip().rstrip(".").strip()
    return "" if span.lower().rstrip(".") == render("read_none").lower() else span


def reply_candidate(
    query: Query, evidence: Sequence[Evidence], cands: Sequence[Candidate], reply: str
) -> Candidate | None:
    """The passage reader's answer as a candidate: the typed candidate it names, else the span of an
    evidence sentence that spells it (the sentence is what the answer cites), scored by the same
    rules as a typed span with no label to fit. A reply inside a longer typed span ("Brno" of "the
    Brno rowing club") is its own candidate: the reader chose those words."""
    if not reply or _own_words(query, reply):
        return None
    typed = next((c for c in cands if named_in(c.text, reply)), None)
    if typed is not None:
        return typed  # a typed candidate the rules ranked lower is read again
    pattern = re.compile(rf"(?<!\w){re.escape(reply)}(?!\w)", re.I)
    for i, ev in enumerate(evidence):
        at = pattern.search(ev.text)
        if at is None:
            continue
        doc = parse(ev.text)
        span = doc.char_span(at.start(), at.end(), alignment_mode="expand")
        if span is None:
            continue
        weight = sentence_weight(query, ev, i)
        occurrence = Occurrence(i, at.start(), at.end(), weight * READ_LABEL_WEIGHT * _tie(query, doc, span))
        return Candidate(at.group(0), "READ", [occurrence], {ev.doc_id})
    return None


def _rivals(
    query: Query, evidence: Sequence[Evidence], cands: Sequence[Candidate], support: Sequence[float], n: int
) -> list[Conflict]:
    """Where another article gives a different value for what was asked, of the same kind, and
    both the reading (the model's, else the rules') and the rules support it nearly as well: a
    figure, a duration or a date has one true value, so the answer says both instead of picking."""
    if query.answer_type not in DISPUTABLE:
        return []
    chosen = cands[n]
    out = []
    for m, cand in enumerate(cands):
        if m == n or support[m] < RIVAL_SHARE * support[n] or not cand.docs - chosen.docs:
            continue
        if cand.score < RIVAL_SHARE * chosen.score:
            continue  # the rules read it far less surely: a small model's scores alone are no dispute
        if _value_kind(cand.label) != _value_kind(chosen.label):
            continue  # "the third bridge" is no rival count to "a 12-day closure"
        if _typed(cand) < _typed(chosen):
            continue  # the age of someone else is no rival to the asked one's
        if t.numbers(cand.text) == t.numbers(chosen.text) and query.answer_type != "date":
            continue  # "40 minutes" and "40-minute": the same value
        sides = [_side(evidence, chosen), _side(evidence, cand, exclude=chosen.docs)]
        out.append(Conflict("number", query.text, sides))
    return out[:1]


def _typed(cand: Candidate) -> float:
    return max(o.label_weight for o in cand.occurrences)


def _value_kind(label: str) -> str:
    """What kind of value a label gives: an amount, a stretch of time, a rank."""
    return next((kind for kind, labels in VALUE_KINDS.items() if label in labels), label)


def _side(evidence: Sequence[Evidence], cand: Candidate, exclude: set[str] | None = None) -> ConflictSide:
    occ = max(
        (o for o in cand.occurrences if not exclude or evidence[o.evidence].doc_id not in exclude),
        key=lambda o: o.score,
    )
    ev = evidence[occ.evidence]
    return ConflictSide(ev.doc_id, ev.title, ev.date, ev.text[occ.start : occ.end], ev.text, ev.start, ev.end)


def _normalised(totals: Sequence[float]) -> tuple[list[float], float]:
    """Candidate log-probabilities (the last one "not stated") as probabilities over the replies."""
    top = max(totals)
    weights = [math.exp(v - top) if v > -math.inf else 0.0 for v in totals]
    mass = sum(weights) or 1.0
    return [w / mass for w in weights[:-1]], weights[-1] / mass
