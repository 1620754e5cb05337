"""Does a sentence hold the kind of thing the question asks for (a figure, a date, a new name)?

A copied sentence can be true and cited yet not answer the question ("How many civilians died?"
answered with a sentence that has no number). Retrieval keeps room for such sentences, and a
generated answer of the wrong kind is not passed off as one. The question side comes from the
`Query`; only the sentence is read here.
"""

from __future__ import annotations

import functools
import re

from rag import text as t
from rag.analyse import Query
from rag.nlp import demonyms, word_set

DURATION = re.compile(
    r"\b(\d+(\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|ninety|several|few|half an?)[\s-]+(seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?)\b|\b(hour|day|week|month|year)-long\b",
    re.I,
)
LASTED = re.compile(r"\blast(ed|ing|s)?\b", re.I)
RELATIVE_DAY = re.compile(r"\b(yesterday|today|last (week|month|year))\b")


def holds_kind(query: Query, sentence: str) -> bool:
    """Whether `sentence` contains the kind of thing `query` asks for; any sentence does when the
    question asks for no particular kind."""
    kind = query.sentence_kind
    if kind is None:
        return True
    if kind == "number":
        return _holds_number(query, sentence)
    if kind == "date":
        return _holds_date(sentence)
    return _holds_name(query, kind, sentence)


def _holds_number(query: Query, sentence: str) -> bool:
    if query.answer_type == "duration":
        return _duration_of(sentence, query.lasting)
    found = t.numbers(sentence) if query.asks_year else t.numbers_outside_dates(sentence)
    if query.amount is not None:  # "what pay rise", "how much": not "a four-day strike"
        found = t.numbers_outside_dates(DURATION.sub(" ", re.sub(r"\[\d+\]", " ", t.fold(sentence))))
    if not found - query.numbers:
        return False
    if query.counted:  # "how many civilians" is not answered by "the two leaders"
        return re.search(rf"\b{re.escape(query.counted)}", t.fold(sentence).lower()) is not None
    return True


@functools.lru_cache(maxsize=65536)
def _holds_date(sentence: str) -> bool:
    lowered = t.fold(sentence).lower()
    return bool(
        t.months(sentence)
        or word_set("weekdays") & set(re.findall(r"[a-z]+", lowered))
        or t.YEAR.search(sentence)
        or RELATIVE_DAY.search(lowered)
    )


def _holds_name(query: Query, kind: str, sentence: str) -> bool:
    folded = t.fold(sentence)
    acronyms = {w.lower() for w in re.findall(r"\b[A-Z]{2,}\b", folded.replace(".", ""))}
    new_names = {n for n in t.names(sentence) - acronyms if not t.name_in(n, query.names_text)}
    if kind == "place":  # "the President" is not a place; a title or nationality answers no "where"
        new_names = {n for n in new_names if n not in t.TITLE_WORDS and n not in demonyms(sentence)}
    if kind == "person":  # "the Ministry", "the Town Hall": institutions, not who said it
        new_names = {
            n
            for n in new_names
            if not re.search(rf"\b[Tt]he\s+(?:[A-Z][\w'-]*\s+)*(?i:{re.escape(n)})\b", folded)
        }
    return bool(new_names)


def _duration_of(sentence: str, lasting: frozenset[str]) -> bool:
    """A duration answers "how long was the call" only when it is the call's: "an hour-long call",
    "the parade lasted three hours" — not "a 30-day permit" in a sentence that mentions the parade."""
    folded = t.fold(sentence)
    durations = list(DURATION.finditer(folded))
    if not durations:
        return False
    if not lasting or LASTED.search(folded):
        return True
    for match in durations:
        following = t.words(folded[match.end() :])[:3]
        if lasting & {t.stem(w) for w in following}:
            return True
    return False
