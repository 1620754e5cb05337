"""Step 1 of an answer: the question, analysed once into a typed `Query`.

spaCy's English pipeline gives names, entity types, numbers and the dependency parse; from them
come the expected answer type, the noun asked about ("which *port*"), the constraints the answer's
sentence must meet, the time window a relative date names, and the term sets later steps compare
evidence with. Every later step reads the `Query`; none re-parses or re-types the question string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import takewhile
from typing import TYPE_CHECKING, Literal

from rag import text as t
from rag.nlp import is_passive, lexicon, parse, word_set
from rag.timewindow import TimeWindow, resolve

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

AnswerType = Literal["person", "organisation", "place", "date", "number", "duration", "event", "other"]
WhRole = Literal["subject", "in_situ", "fronted", "none"]
ConstraintKind = Literal["name", "number", "year"]
# What an evidence sentence must hold to answer the question (rag.kinds): a figure, a date, a new
# name of a person or place; None where any sentence may.
SentenceKind = Literal["number", "date", "person", "place"]

MODIFIER_RUN = 5  # words between "which" and its noun that are read as the noun's modifiers
WH_WORDS = frozenset({"which", "what", "who", "whom", "whose", "when", "where", "how"})
SLOT_SPLIT = re.compile(r",?\s+and\s+(?=(?:what|which|who|whom|when|where|how)\b)", re.I)
FOLLOW_UP = re.compile(
    r"^(and|but|so|also|what about|how about|then|why|who else)\b"
    r"|\b(he|she|they|it|that|this|those|them|his|her|their|him)\b",
    re.I,
)
SENTENCE_KINDS: dict[AnswerType, SentenceKind] = {
    "number": "number",
    "duration": "number",
    "date": "date",
    "person": "person",
    "place": "place",
}


@dataclass(frozen=True)
class Constraint:
    text: str
    kind: ConstraintKind


@dataclass(frozen=True)
class Query:
    """A question analysed once; every later step reads this instead of the string."""

    text: str
    answer_type: AnswerType
    head: str | None = None  # the noun a "which/what" asks about: "which *city*"
    title: frozenset[str] = frozenset()  # "which vice president": a person's title, as words
    wh_span: tuple[int, int] | None = None  # characters of the wh-phrase in `text`
    wh_role: WhRole = "none"
    wh_noun_phrase: bool = False  # the wh-phrase holds no verb: an answer can stand in its place
    constraints: tuple[Constraint, ...] = ()
    focus: frozenset[str] = frozenset()  # stemmed content terms outside the wh-phrase
    words: frozenset[str] = frozenset()  # stemmed content terms of the whole question
    about: str | None = None  # a follow-up's previous question, for retrieval only
    slots: tuple[Query, ...] = ()  # a question with two asks, split
    window: TimeWindow | None = None  # the dates a relative time in the question names
    key: frozenset[str] = frozenset()  # what the question is about (no question filler)
    search_key: frozenset[str] = frozenset()  # the same, with a follow-up's previous question
    topic: frozenset[str] = frozenset()  # key terms without the words that only ask for a measure
    specific: frozenset[str] = frozenset()  # names and figures the question cannot do without
    asked: frozenset[str] = frozenset()  # every content term, with a follow-up's previous question
    numbers: frozenset[str] = frozenset()  # counts and amounts the question itself states
    names_text: str = ""  # the question folded for name lookups ("is this name the question's own?")
    asks_year: bool = False  # "which year": a year is the answer, not a date stamp
    asks_weekday: bool = False  # "on which day of the week": a weekday is the answer, not a date
    asks_age: bool = False  # "how old was …", "at what age": an age is the answer, not any figure
    asks_clock: bool = False  # "at what time did …": a time of day is the answer, not a date
    amount: str | None = None  # "what pay rise", "how much": an amount, "" when the thing is unnamed
    counted: str | None = None  # "how many *civilians*": the stem the answer's sentence must count
    lasting: frozenset[str] = field(default_factory=frozenset)  # "how long was *the call*"
    asks: bool = True  # False for a bare topic ("Olympics"): nothing is asked, so nothing is answered
    plural: bool = False  # "which *countries*": the answer may be several names joined by "and"
    verb: str | None = None  # "who *demanded* a recount": the verb the asked one is the subject of
    passive: bool = False  # "which firm *was fined*": that verb in the passive
    asks_writer: bool = False  # "who wrote the article about …": the byline's name, not a name in it
    asks_dateline: bool = False  # "when was the article about … published": the article's own date
    describes: str | None = None  # "who is *Ines Varga*", "what is *Tom Hale*'s job": the name described
    sort_of: bool = False  # "what kind of *boats*": a sort of the head noun is asked, its modifier

    @property
    def search_text(self) -> str:
        """What retrieval embeds and BM25 reads: a follow-up carries its previous question along."""
        return f"{self.text} (about: {self.about})" if self.about else self.text

    @property
    def wants_span(self) -> bool:
        """Whether the answer is a span to find (a name, a figure, a date) rather than a clause."""
        return self.answer_type != "other" or self.head is not None

    @property
    def sentence_kind(self) -> SentenceKind | None:
        return SENTENCE_KINDS.get(self.answer_type)


def previous_question(question: str, history: Sequence[tuple[str, str]]) -> str | None:
    """The question a follow-up ("and how long did it last?") leans on, if it is one.

    Deterministic on purpose: a 135M model rewrites questions less reliably than it answers them."""
    return history[-1][0] if history and FOLLOW_UP.search(question) else None


def _asks(doc: Doc, has_wh: bool, about: str | None) -> bool:
    """Whether the text asks something: a question word, a verb, a follow-up of an earlier question,
    or a question mark after a phrase of two words or more ("Population of Tokyo?"). A headline-like
    topic ("Olympics", "World Cup final") asks nothing: any sentence mentioning it would "answer" it."""
    if has_wh or about or any(tok.pos_ in ("VERB", "AUX") for tok in doc):
        return True
    words = [tok for tok in doc if tok.is_alpha or tok.like_num]
    return doc.text.rstrip().endswith("?") and len(words) >= 2


def analyse(
    question: str, about: str | None = None, as_of: date | None = None, dated: Sequence[str] = ()
) -> Query:
    """The question as a `Query`; one with two asks ("who …, and when …") gets one per slot."""
    parts = [p.strip(" ,") for p in SLOT_SPLIT.split(question) if p.strip(" ,")]
    if len(parts) > 1:
        slots = tuple(analyse(_as_question(p), about, as_of, dated) for p in parts)
        first = slots[0]
        return Query(
            question,
            first.answer_type,
            first.head,
            focus=first.focus,
            words=frozenset(t.content_terms(question)),
            about=about,
            slots=slots,
            window=first.window,
        )
    doc = parse(question)
    wh = next(
        (tok for tok in doc if tok.lower_ in WH_WORDS and tok.tag_ in ("WDT", "WP", "WP$", "WRB")), None
    )
    kind, head, phrase = _answer_type(doc, wh)
    wh_span = (phrase[0].idx, phrase[-1].idx + len(phrase[-1])) if phrase else None
    role = _wh_role(doc, phrase)
    verb = _subject_verb(phrase) if role == "subject" else None
    outside = question if wh_span is None else question[: wh_span[0]] + " " + question[wh_span[1] :]
    constraints = _constraints(doc, wh_span)
    focus = t.key_terms(_strip_relative_time(outside))
    window = None
    if about:  # a follow-up ("how long did it last?") inherits its subject from the previous question
        previous = analyse(about, as_of=as_of, dated=dated)
        constraints += tuple(c for c in previous.constraints if c.kind == "name" and c not in constraints)
        focus |= previous.focus
        window = previous.window
    if as_of is not None:
        window = resolve(question, as_of, dated) or window
    search = f"{question} (about: {about})" if about else question
    return Query(
        text=question,
        answer_type=kind,
        head=head,
        title=_title(phrase, kind, head),
        wh_span=wh_span,
        wh_role=role,
        wh_noun_phrase=_noun_phrase(doc, phrase),
        constraints=constraints,
        focus=frozenset(focus),
        words=frozenset(t.content_terms(question)),
        about=about,
        window=window,
        asks=_asks(doc, wh is not None, about),
        key=frozenset(t.key_terms(question)),
        search_key=frozenset(t.key_terms(search)),
        topic=frozenset(t.topic_terms(search)),
        specific=frozenset(t.specific_terms(question)),
        asked=frozenset(t.content_terms(search)),
        numbers=t.numbers_outside_dates(question),
        names_text=t.haystack(question),
        asks_year=re.search(r"\byears?\b", question, re.I) is not None,
        asks_weekday=kind == "date" and re.search(r"\bday of the week\b", question, re.I) is not None,
        asks_age=kind == "number" and re.search(r"\bhow old\b|\bwhat age\b", question, re.I) is not None,
        asks_clock=kind == "date" and re.search(r"\bwhat time\b(?! of\b)", question, re.I) is not None,
        amount=_amount(doc, wh, kind),
        counted=_counted(doc, wh),
        lasting=_lasting(doc, wh) if kind == "duration" else frozenset(),
        plural=any(tok.tag_ in ("NNS", "NNPS") and tok.lemma_.lower() == head for tok in phrase),
        verb=verb.lemma_.lower() if verb is not None else None,
        passive=verb is not None and is_passive(verb),
        asks_writer=verb is not None and _writes_an_article(verb),
        describes=_described_name(doc, wh, head),
        asks_dateline=kind == "date" and _dates_an_article(doc),
        sort_of=head is not None and any(tok.lemma_.lower() in word_set("sort_nouns") for tok in phrase[:-1]),
    )


def _described_name(doc: Doc, wh: Token | None, head: str | None) -> str | None:
    """The name a question asks to describe: "Who is Ines Varga?", "What is Tom Hale's job?"."""
    if wh is None:
        return None
    if wh.lower_ == "who" and _asks_who_someone_is(wh):
        named = [tok for tok in wh.head.children if tok.dep_ in ("nsubj", "attr") and tok != wh]
    elif head is not None and head in lexicon()["role_nouns"]:
        nouns = [tok for tok in doc if tok.lemma_.lower() == head]
        named = [c for n in nouns for c in n.children if c.dep_ == "poss" and c.pos_ == "PROPN"]
    else:
        return None
    for tok in named:
        if any(c.dep_ == "det" for c in tok.children):
            return None  # "who is the security adviser" asks for a name, whatever its capitals
        ent = next((e for e in doc.ents if e.start <= tok.i < e.end), None)
        text = ent.text if ent is not None else doc[tok.left_edge.i : tok.i + 1].text
        return re.sub(r"['’]s$", "", text)
    return None


def _writes_an_article(verb: Token) -> bool:
    """ "Who wrote the article about …" asks for the article's writer, whom its byline names; "who
    wrote the anthem" asks for a name the articles mention."""
    return verb.lemma_.lower() in lexicon()["writing_verbs"] and any(
        c.dep_ == "dobj" and c.lemma_.lower() in lexicon()["article_nouns"] for c in verb.children
    )


def _dates_an_article(doc: Doc) -> bool:
    """ "When was the report on … published?", "What date is given for the article about …?": the
    date of an article, not of an event it reports ("what date did the report give for the vote")."""
    verbs, of_article = lexicon()["dating_verbs"], lexicon()["dating_of_article"]
    for tok in doc:
        if tok.lemma_.lower() not in lexicon()["article_nouns"]:
            continue
        if tok.dep_ in ("nsubj", "nsubjpass") and tok.head.lemma_.lower() in verbs:
            return True
        if (
            tok.dep_ == "pobj"
            and tok.head.lower_ in ("for", "of")
            and tok.head.head.lemma_.lower() in of_article
        ):
            return True
        later = [w for w in doc[tok.i + 1 :] if w.pos_ == "VERB" or w.tag_ in ("VBN", "VBD")]
        if later and later[0].lemma_.lower() in verbs:
            return True  # the parser hung "published" on the article's topic ("the call published")
    return False


def _as_question(part: str) -> str:
    return part if part.rstrip().endswith("?") else part.rstrip(" .") + "?"


@cache
def head_types() -> dict[str, AnswerType]:
    out: dict[str, AnswerType] = {}
    for kind, nouns in lexicon()["head_types"].items():
        for noun in nouns:
            out.setdefault(noun, kind)
    return out


def _answer_type(doc: Doc, wh: Token | None) -> tuple[AnswerType, str | None, list[Token]]:
    """Expected answer type, the asked-about noun, and the tokens of the wh-phrase."""
    if wh is None:
        return "other", None, []
    word = wh.lower_
    if word == "who" and _asks_who_someone_is(wh):
        return "other", None, [wh]  # "Who is Ines Varga?" asks for a description, not another person
    if word in ("who", "whom", "whose"):
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
    kind = head_types().get(noun.lower_) or head_types().get(lemma) or _kind_by_ending(lemma)
    return (kind or "other"), lemma, phrase


def _kind_by_ending(noun: str) -> AnswerType | None:
    """A noun no list names may say by its ending that it is someone: "which *meteorologist*",
    "which *pediatrician*" ask for a person (not "which checklist")."""
    endings = lexicon()["person_endings"]
    if len(noun) < endings["min_length"] or not any(noun.endswith(end) for end in endings["endings"]):
        return None
    sure = any(noun.endswith(end) for end in endings["sure"])
    return "person" if sure or not any(noun.endswith(end) for end in endings["not"]) else None


def _title(phrase: Sequence[Token], kind: AnswerType, head: str | None) -> frozenset[str]:
    """The words a news sentence puts before a name as the title the question asks for ("which
    vice president" -> Vice President Ines Varga): the noun and the common nouns compounded with it,
    not a proper name ("which US senator") or an adjective ("which former coach")."""
    if kind != "person" or head is None:
        return frozenset()
    words = {tok.lower_ for tok in phrase[1:-1] if tok.dep_ == "compound" and tok.text.islower()}
    return frozenset(words | {head})


def _asks_who_someone_is(wh: Token) -> bool:
    """ "Who is Ines Varga?": the wh-word and a named subject on either side of a bare "be"."""
    verb = wh.head
    if verb.lemma_ != "be" or any(tok.dep_ in ("acomp", "prep", "dobj") for tok in verb.children):
        return False
    subjects = [tok for tok in verb.children if tok.dep_ in ("nsubj", "attr") and tok != wh]
    return any(
        tok.ent_type_ in ("PERSON", "ORG")
        or (tok.pos_ == "PROPN" and not any(c.dep_ == "det" for c in tok.children))
        for tok in subjects
    )


def _asked_noun(doc: Doc, wh: Token) -> Token | None:
    """ "which *city*", "what *food*", "which Thornby-era *aide*", "what was its *name*"; through
    "what kind of", the noun it sorts ("what kind of *boat*"); through "what is the name of", the
    noun named ("the name of the *ferry*": a ferry's name answers it)."""
    noun = _wh_noun(doc, wh)
    if noun is None or noun.lemma_.lower() not in word_set("sort_nouns") | word_set("name_nouns"):
        return noun
    of = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    inner = next((c for c in of.children if c.dep_ == "pobj" and c.pos_ == "NOUN"), None) if of else None
    return inner or noun


def _wh_noun(doc: Doc, wh: Token) -> Token | None:
    if wh.dep_ == "det" and wh.head.pos_ in ("NOUN", "PROPN") and wh.head.i > wh.i:
        return wh.head
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if nxt is not None and nxt.pos_ == "NOUN":
        return nxt
    # A modifier between the wh-word and its noun ("which bestselling author"): the parser may
    # attach the wh-word elsewhere, but the noun is the first one after the modifiers.
    if nxt is not None and nxt.pos_ == "ADJ" and wh.i + 2 < len(doc) and doc[wh.i + 2].pos_ == "NOUN":
        return doc[wh.i + 2]
    if wh.lower_ in ("which", "what"):  # several modifiers: "which Brno-based regional *paper*"
        modifiers = ("ADJ", "PROPN", "NOUN")
        run = list(takewhile(lambda tok: tok.pos_ in modifiers or tok.tag_ == "HYPH", doc[wh.i + 1 :]))
        nouns = [tok for tok in run[:MODIFIER_RUN] if tok.pos_ == "NOUN"]
        if nouns:
            return nouns[-1]
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
    before = [tok for tok in doc[: phrase[0].i] if not (tok.is_punct or tok.lower_ in ("and", "but", "so"))]
    if before and all(tok.pos_ == "ADP" or tok.dep_ == "prep" for tok in before):
        return "fronted"  # "In which year did …": the preposition moved to the front with it
    root = phrase[-1]
    after = doc[root.i + 1] if root.i + 1 < len(doc) else None
    if after is not None and after.lower_ in ("did", "does", "do"):
        return "fronted"  # "how many goals did she score": do-support puts the subject after it
    if _inverted(doc, root.i + 1, measure=phrase[0].lower_ == "how"):
        return "fronted"  # "how many jobs will the cuts affect": the subject follows the auxiliary
    if before:
        return "in_situ"
    if root.dep_ in ("nsubj", "nsubjpass") or (
        root.dep_ == "det" and root.head.dep_ in ("nsubj", "nsubjpass")
    ):
        aux = [tok for tok in doc if tok.i > root.i and tok.lower_ in ("did", "does", "do")]
        return "fronted" if aux and aux[0].dep_ == "aux" and aux[0].head.i > aux[0].i + 1 else "subject"
    return "fronted"


def _noun_phrase(doc: Doc, phrase: Sequence[Token]) -> bool:
    """Whether an answer can stand in the wh-phrase's place: it holds no verb, and a lone "which"
    is not the determiner of words the parser read otherwise ("a sequel to which hit show")."""
    if not phrase or any(tok.pos_ in ("AUX", "VERB") for tok in phrase):
        return False
    nxt = doc[phrase[-1].i + 1] if phrase[-1].i + 1 < len(doc) else None
    return not (len(phrase) == 1 and phrase[0].lower_ == "which" and nxt is not None and nxt.is_alpha)


def _inverted(doc: Doc, at: int, measure: bool) -> bool:
    """An auxiliary right after the wh-phrase and a noun phrase after it: the question inverts
    around its own subject ("… will *the new ferries* replace?"), so the wh-phrase is not one. A
    copula does so only after a measure ("how many years was *the bridge* shut"): before a noun it
    is a subject question's own verb ("which city is the capital")."""
    aux = doc[at] if at < len(doc) else None
    nxt = doc[at + 1] if at + 1 < len(doc) else None
    if aux is None or nxt is None or aux.pos_ != "AUX":
        return False
    if aux.lemma_ == "be" and not measure:
        return False
    return nxt.pos_ in ("DET", "PRON", "PROPN", "NOUN", "NUM") and nxt.dep_ != "neg"


def _subject_verb(phrase: Sequence[Token]) -> Token | None:
    """The verb a subject wh-phrase is the subject of ("who *demanded* …", "which firm *was
    fined* …"); none for a copula ("who is the mayor"), whose answer is named, not acting."""
    subject = next((tok for tok in phrase if tok.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None:
        return None
    verb = subject.head
    return verb if verb.pos_ == "VERB" else None


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
            years = t.YEAR.findall(ent.text)
            out.extend(Constraint(year, "year") for year in years)
            out.extend(Constraint(n, "number") for n in re.findall(r"\d+", ent.text) if n not in years)
        elif ent.label_ in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"):
            for n in t.numbers(ent.text) - {"1"}:
                out.append(Constraint(n, "year" if t.YEAR.fullmatch(n) else "number"))
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


def _amount(doc: Doc, wh: Token | None, kind: AnswerType) -> str | None:
    """ "how much", "what pay rise", "what price": an amount of money or a change, not a count.
    The thing whose amount is asked, when named ("pay rise"); "" when it is not."""
    if wh is None or kind != "number":
        return None
    if wh.lower_ == "how":
        return "" if wh.i + 1 < len(doc) and doc[wh.i + 1].lower_ == "much" else None
    nouns = set(lexicon()["amount_nouns"])
    phrase: list[str] = []
    for tok in doc[wh.i + 1 : wh.i + 3]:
        phrase.append(tok.text)
        if tok.lower_ in nouns:
            return " ".join(phrase)
    return None


def _counted(doc: Doc, wh: Token | None) -> str | None:
    """ "how many *civilians*", "how many new *members*": not answered by "the two leaders"."""
    if wh is None or wh.lower_ != "how" or wh.i + 2 >= len(doc) or doc[wh.i + 1].lower_ != "many":
        return None
    many = doc[wh.i + 1]
    noun = many.head if many.head.pos_ == "NOUN" and many.head.i > many.i else None
    if noun is None:  # the parse may attach "many" elsewhere: the first noun after its modifiers
        ahead = doc[wh.i + 2 : wh.i + 5]
        noun = next((tok for tok in ahead if tok.pos_ == "NOUN"), doc[wh.i + 2])
    return t.stem(t.fold(noun.text)) if noun.is_alpha else None


def _lasting(doc: Doc, wh: Token | None) -> frozenset[str]:
    """ "how long was *the call*": a duration answers it only when it is the call's."""
    if wh is None or wh.i + 3 >= len(doc) or doc[wh.i + 1].lower_ != "long":
        return frozenset()
    if doc[wh.i + 2].lower_ not in lexicon()["lasting_verbs"]:
        return frozenset()
    determiner = doc[wh.i + 3]
    if determiner.lower_ not in ("the", "their", "this", "that", "his", "her"):
        return frozenset()
    thing = [tok.text for tok in doc[wh.i + 4 : wh.i + 7] if tok.is_alpha]
    return frozenset(t.stem(w) for w in thing if w.lower() not in t.STOPWORDS) - {"last"}
