"""Reading who someone is: "Who is Ines Varga?", "What is Tom Hale's job?".

The answer is the description a news sentence attaches to the name, in its own words: the title
before it ("Brno harbour master Tom Hale"), the noun it stands in apposition to ("the mayor's
adviser, Tom Hale"; "Tom Hale, the mayor of Brno") or what a copula says it is ("Tom Hale is a
retired judge"). A description the sentence gives is quoted, never paraphrased; a name the
evidence never describes is left to the drafted answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.nlp import parse

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

    from rag.retrieve import Evidence

TITLE_DEPS = ("compound", "nmod", "amod", "poss")  # what stands before a name as its title
DESCRIBED = 3  # evidence sentences, in rank order, searched for a fuller description of the same kind
NOT_A_TITLE = frozenset({"PERSON", "GPE", "DATE", "TIME", "CARDINAL", "ORDINAL"})  # "Brno's Tom Hale"


@dataclass(frozen=True)
class Description:
    name: str  # as the question spells it
    text: str  # the sentence's words
    evidence: int  # index of the sentence
    predicative: bool  # "a retired judge": reads after "is" as it stands


def describe(name: str, evidence: Sequence[Evidence]) -> Description | None:
    """The first description of the name in rank order, or a longer one of the next sentences that
    contains it ("Secretary" → "Brno Secretary of Transport")."""
    found = [
        Description(name, text, i, predicative)
        for i, ev in enumerate(evidence)
        for text, predicative in _descriptions(name, ev.text)
    ]
    if not found:
        return None
    first = found[0]
    fuller = [d for d in found if d.evidence < first.evidence + DESCRIBED and first.text in d.text]
    return max(fuller, key=lambda d: len(d.text))


def statement(description: Description) -> str:
    """ "Tom Hale is the mayor of Brno", "Ines Varga is a Brno harbour master"."""
    text = description.text
    if not description.predicative and text.split()[-1].islower():
        text = f"{_article(text)} {text}"  # "Brno journalist" → "a Brno journalist"
    return f"{description.name} is {text}."


def _article(phrase: str) -> str:
    """ "an" before a vowel sound as spelled: "an Ostrava judge", "a university rector"."""
    word = phrase.lower()
    return "an" if word[0] in "aeio" or (word.startswith("un") and not word.startswith("uni")) else "a"


def _descriptions(name: str, sentence: str) -> list[tuple[str, bool]]:
    doc = parse(sentence)
    out = []
    for tok in _mentions(name, doc):
        title = _title(tok)
        if title is not None:
            out.append((title.text, False))
        if tok.dep_ == "appos" and tok.head.pos_ == "NOUN":
            out.append((_phrase(tok.head, exclude=tok).text, True))  # "the mayor's adviser, Tom Hale"
        for child in tok.children:
            if child.dep_ == "appos" and child.pos_ == "NOUN":
                out.append((_phrase(child).text, True))  # "Tom Hale, the mayor of Brno"
        verb = tok.head
        if tok.dep_ == "nsubj" and verb.lemma_ == "be":
            out += [(_phrase(a).text, True) for a in verb.children if a.dep_ == "attr" and a.pos_ == "NOUN"]
    return [
        (_lower_determiner(text.strip(" ,")), predicative) for text, predicative in out if text.strip(" ,")
    ]


def _lower_determiner(text: str) -> str:
    """ "The mayor's adviser" at the start of its sentence reads "the mayor's adviser" after "is"."""
    first, _, rest = text.partition(" ")
    return f"{first.lower()} {rest}" if first in ("The", "A", "An") and rest else text


def _mentions(name: str, doc: Doc) -> list[Token]:
    """The last word of each mention of the name: its full spelling or its surname (with no other
    first name: "Tom Hale" is not "Ines Hale")."""
    words = {w.lower() for w in name.split()}
    last = name.split()[-1].lower()
    return [
        tok
        for tok in doc
        if tok.lower_ == last
        and tok.pos_ in ("PROPN", "NOUN")
        and all(w.lower_ in words for w in _first_names(tok))
    ]


def _first_names(tok: Token) -> list[Token]:
    """The proper names compounded right before a name's last word."""
    out = []
    i = tok.i - 1
    while (
        i >= 0 and tok.doc[i].dep_ == "compound" and tok.doc[i].pos_ == "PROPN" and tok.doc[i].head.i == tok.i
    ):
        if tok.doc[i].ent_type_ != tok.ent_type_ or not tok.ent_type_:
            break  # "Secretary" before "Ines Varga" is a title, not a name
        out.append(tok.doc[i])
        i -= 1
    return out


def _title(tok: Token) -> Span | None:
    """The words before a name that title it: "Brno Secretary of Transport" of "Brno Secretary of
    Transport Ines Varga"; not the name's own first names, not a place or date before it."""
    name_start = tok.i - len(_first_names(tok))
    titles = [c for c in tok.lefts if c.dep_ in TITLE_DEPS and c.i < name_start]
    titles = [c for c in titles if c.ent_type_ not in NOT_A_TITLE or c.dep_ != "poss"]
    if not titles:
        return None
    start = min(c.left_edge.i for c in titles)
    while start < name_start and tok.doc[start].pos_ in ("DET", "PUNCT", "ADP"):
        start += 1
    span = tok.doc[start:name_start]
    if not any(w.pos_ == "NOUN" or (w.pos_ == "PROPN" and w.ent_type_ not in NOT_A_TITLE) for w in span):
        return None
    if all(w.ent_type_ in NOT_A_TITLE for w in span if w.is_alpha):
        return None
    return span


def _phrase(noun: Token, exclude: Token | None = None) -> Span:
    """A noun with its modifiers and prepositional phrases, without a relative clause, a participle
    clause or the name in apposition to it."""
    cut = ("relcl", "acl", "appos", "punct", "advcl")
    right = noun.i
    for child in noun.rights:
        if child.dep_ in cut or child is exclude:
            break
        right = child.right_edge.i
    return noun.doc[noun.left_edge.i : right + 1]
