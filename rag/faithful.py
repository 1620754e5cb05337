"""Does a rewrite keep who did what? A summary sentence the model wrote is kept only when it does.

Word overlap cannot tell "the minister thanked the mayor" from "the mayor thanked the minister",
and a passage-wide check lets a rewrite borrow words from elsewhere in the article. So the rewrite
is read with the same spaCy parse as questions: every verb of the rewrite that has a subject must be
a verb of the source with the same doer (and the same receiver, where both name one), the same
negation, and nothing the source sentence does not say — no new name, figure or clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rag import text as t
from rag.nlp import parse

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

Reason = Literal["", "figure", "name", "added", "agent", "object", "negation", "action", "moved"]

CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"}
SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
OBJECTS = {"dobj", "obj", "attr"}
PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "this", "that", "who"}
# Words a shortening may add without adding a claim: light verbs, connectives, reporting glue.
FREE_WORDS = frozenset(
    ["be", "have", "do", "also", "then", "now", "so", "just", "still", "such", "other", "more"]
    + ["most", "many", "much", "very", "well", "include"]
)
# Saying verbs: a rewrite may say "X said" for "X told reporters", never add a speaker the source
# does not report ("…, the company said" where the company is only a party).
REPORTING = frozenset(["say", "tell", "state", "report", "add", "note", "announce", "confirm", "write"])
# Content words a rewrite may add that the source does not have (a synonym, a summarising noun);
# two or more new words are a new clause or claim.
MAX_ADDED_WORDS = 1
# Entity types whose last word stands for the whole (a surname) or that are not names at all.
SHORTENABLE = frozenset(
    ["PERSON", "DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "NORP"]
)
NEGATORS = frozenset({"not", "n't", "never", "no", "nothing", "none", "nobody", "neither", "nor"})
PREAMBLE = re.compile(r"^(?:[A-Za-z]+\s){0,4}[A-Za-z]+:\s+(?=[A-Z\"“])")


@dataclass(frozen=True)
class Verdict:
    faithful: bool
    reason: Reason = ""
    detail: str = ""


def clean(draft: str) -> str:
    """The model's sentence without the label it sometimes puts first ("Sentence: …")."""
    return PREAMBLE.sub("", " ".join(draft.split()), count=1).strip()


def check(source: str, rewrite: str) -> Verdict:
    """The first unfaithful trait found, or a faithful verdict."""
    src, new = parse(" ".join(source.split())), parse(clean(rewrite))
    for step in (_figures, _names, _cut_names, _added, _roles, _anchored):
        verdict = step(src, new)
        if not verdict.faithful:
            return verdict
    return Verdict(True)


def _figures(src: Doc, new: Doc) -> Verdict:
    extra = t.numbers(new.text) - t.numbers(src.text)
    return Verdict(False, "figure", ", ".join(sorted(extra))) if extra else Verdict(True)


def _names(src: Doc, new: Doc) -> Verdict:
    """A person, place or organisation the source sentence does not name."""
    known = {tok.lower_ for tok in src} | {t.stem(tok.text) for tok in src}
    for tok in new:
        if tok.pos_ == "PROPN" and tok.lower_ not in known and t.stem(tok.text) not in known:
            return Verdict(False, "name", tok.text)
    return Verdict(True)


def _cut_names(src: Doc, new: Doc) -> Verdict:
    """A name of several words cut down to its generic last word ("Harbor Crest Stadium" to
    "Stadium", "the Velmar Party" to "the party") names nothing, or something else. A person's
    surname alone is their name, so people may be shortened."""
    words = {tok.lower_ for tok in new}
    for ent in src.ents:
        if ent.label_ in SHORTENABLE or len(ent) < 2:
            continue
        name = [tok.lower_ for tok in ent if tok.pos_ in ("PROPN", "NOUN") and not tok.is_stop]
        if len(name) >= 2 and name[-1] in words and not set(name[:-1]) & words:
            return Verdict(False, "name", ent.text)
    return Verdict(True)


def _lemmas(doc: Doc) -> set[str]:
    return {form for tok in doc for form in (tok.lemma_.lower(), t.stem(tok.text), tok.lower_)}


def _added(src: Doc, new: Doc) -> Verdict:
    """A verb the source does not use is another action; more than one other new word, a claim."""
    known = _lemmas(src)
    extra = [
        tok
        for tok in new
        if tok.pos_ in CONTENT_POS
        and not tok.is_stop
        and tok.lemma_.lower() not in FREE_WORDS
        and tok.lemma_.lower() not in known
        and t.stem(tok.text) not in known
    ]
    reports = any(tok.lemma_.lower() in REPORTING for tok in src if tok.pos_ == "VERB")
    verbs = [
        tok.text for tok in extra if tok.pos_ == "VERB" and not (reports and tok.lemma_.lower() in REPORTING)
    ]
    if verbs:
        return Verdict(False, "action", " ".join(verbs))
    if len(extra) > MAX_ADDED_WORDS:
        return Verdict(False, "added", " ".join(tok.text for tok in extra))
    return Verdict(True)


def _roles(src: Doc, new: Doc) -> Verdict:
    """Each rewrite verb with a subject: the source's verb of that lemma, its doer and receiver."""
    for verb in new:
        if verb.pos_ not in {"VERB", "AUX"} or not _direct(verb, SUBJECTS):
            continue
        if verb.pos_ == "AUX" and verb.dep_ != "ROOT":
            continue
        matches = [tok for tok in src if tok.pos_ in {"VERB", "AUX", "NOUN"} and tok.lemma_ == verb.lemma_]
        if not matches and verb.lemma_.lower() in REPORTING:
            matches = [tok for tok in src if tok.pos_ == "VERB" and tok.lemma_.lower() in REPORTING]
        if not matches:
            if verb.lemma_.lower() in FREE_WORDS:
                continue
            return Verdict(False, "action", verb.text)
        verdict = _same_roles(verb, matches)
        if not verdict.faithful:
            return verdict
    return Verdict(True)


def _same_roles(verb: Token, matches: list[Token]) -> Verdict:
    first = Verdict(True)
    for candidate in matches:
        verdict = _compare(verb, candidate)
        if verdict.faithful:
            return verdict
        first = first if not first.faithful else verdict
    return first


def _compare(verb: Token, source: Token) -> Verdict:
    if _negated(verb) != _negated(source):
        return Verdict(False, "negation", verb.text)
    agent, patient = _agent(verb), _patient(verb)
    source_agent, source_patient = _agent(source), _patient(source)
    if agent is not None and source_agent is not None and not _same_party(agent, source_agent):
        return Verdict(False, "agent", f"{_phrase(agent)} / {_phrase(source_agent)}")
    if patient is not None and source_patient is not None and not _party_words(patient) & _words(source):
        return Verdict(False, "object", f"{_phrase(patient)} / {_phrase(source_patient)}")
    return Verdict(True)


def _direct(verb: Token, deps: set[str]) -> list[Token]:
    return [child for child in verb.children if child.dep_ in deps]


def _negated(verb: Token) -> bool:
    """ "did not find", "found no cracks", "never accept": a negator on the verb or its arguments."""
    arguments = [child for child in verb.children if child.dep_ in OBJECTS | SUBJECTS]
    near = list(verb.children) + [grandchild for arg in arguments for grandchild in arg.children]
    return any(tok.dep_ == "neg" or tok.lower_ in NEGATORS for tok in near)


def _agent(verb: Token) -> Token | None:
    """The doer: the active subject, the passive "by" phrase; a conjoined or complement verb
    ("agreed to help") inherits its head's."""
    token: Token | None = verb
    while token is not None:
        active = _direct(token, {"nsubj", "csubj"})
        if active:
            return active[0]
        by = [gc for child in _direct(token, {"agent"}) for gc in child.children if gc.dep_ == "pobj"]
        if by:
            return by[0]
        if _direct(token, {"nsubjpass"}):
            return None  # a passive without "by": the doer is not said
        token = token.head if token.dep_ in {"conj", "xcomp"} and token.head.i != token.i else None
    return None


def _patient(verb: Token) -> Token | None:
    objects = _direct(verb, OBJECTS) or _direct(verb, {"nsubjpass"})
    return objects[0] if objects else None


def _words(token: Token) -> set[str]:
    return {w.lower_ for w in token.subtree if w.pos_ in {"NOUN", "PROPN", "PRON", "NUM", "ADJ"}} | {
        t.stem(w.text) for w in token.subtree if w.pos_ in {"NOUN", "PROPN"}
    }


def _phrase(token: Token) -> str:
    return " ".join(w.text for w in token.subtree)


def _same_party(new: Token, source: Token) -> bool:
    """The rewrite's party is the source's: they share a head, name or apposition word ("the
    minister, Tomas Brel" is Brel), or either side is a pronoun the parse cannot resolve. A word
    further down the source phrase ("shops in the city") is not the party ("the city")."""
    if new.lower_ in PRONOUNS or source.lower_ in PRONOUNS:
        return True
    return bool(_party_words(new) & _party_words(source))


def _party_words(token: Token) -> set[str]:
    words = set()
    for tok in _compound(token):
        words |= {tok.lower_, t.stem(tok.text), tok.lemma_.lower()}
    for child in token.children:
        if child.dep_ == "appos":
            words |= _party_words(child)
        if child.dep_ == "prep" and child.lower_ == "of" and token.pos_ in {"NUM", "PRON", "DET"}:
            words |= {w for pobj in child.children if pobj.dep_ == "pobj" for w in _party_words(pobj)}
    return words


def _compound(token: Token) -> Iterable[Token]:
    yield token
    for child in token.children:
        if child.dep_ in {"compound", "flat"}:
            yield from _compound(child)


def _governor(token: Token) -> Token | None:
    """The verb a figure or date belongs to: "voted 7 to 2", "ban … from August 20"."""
    head = token.head
    while head.head.i != head.i and head.pos_ not in {"VERB", "AUX"}:  # spaCy makes a new Token each time
        head = head.head
    return head if head.pos_ in {"VERB", "AUX"} else None


def _anchored(src: Doc, new: Doc) -> Verdict:
    """A date or figure stays with its action: "banned from August 20" is not "voted on August 20"."""
    source_verbs = {tok.lemma_ for tok in src if tok.pos_ in {"VERB", "AUX"}}
    for ent in new.ents:
        if ent.label_ not in {"DATE", "TIME", "CARDINAL", "MONEY", "PERCENT", "QUANTITY"}:
            continue
        ours = _governor(ent.root)
        governors = [
            _governor(other.root)
            for other in src.ents
            if other.text == ent.text or set(t.numbers(other.text)) & set(t.numbers(ent.text))
        ]
        theirs = [v for v in governors if v is not None]
        if ours is None or not theirs or ours.lemma_ not in source_verbs:
            continue
        if ours.lemma_.lower() in REPORTING | FREE_WORDS:
            continue
        if all(v.lemma_ != ours.lemma_ for v in theirs):
            return Verdict(False, "moved", f"{ent.text} ({ours.text} / {theirs[0].text})")
    return Verdict(True)
