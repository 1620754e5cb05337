"""What kind of answer a question expects, so an answer of the wrong kind is not passed off as one.

A copied sentence can be true and cited yet not answer the question ("How many civilians died?"
answered with a sentence that has no number). These rules are deterministic and deliberately few.
"""

from __future__ import annotations

import functools
import re

from rag import text as t

_PATTERNS = [
    (
        "number",
        re.compile(
            r"^\s*(how (many|much|long|large|big|old|low|high|far|fast|tall|deep|hot|cold|warm|heavy)"
            r"|what (percentage|share|number|amount|sum|(pay )?(rise|raise|increase|cut)|price|cost|fee|fine|"
            r"salary|wage))\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"^\s*(when\b|(on |in )?(what|which) (date|day|year|month|time)\b)"
            r"|\b(in|on) (what|which) (date|day|year|month)\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(
            r"^\s*(who|whom|whose)\b|^\s*which ([a-z-]+ ){0,2}"
            r"(aide|journalist|spokesperson|spokesman|spokeswoman|adviser|advisor|official|minister|secretary|president|leader|envoy|reporter|author|person|chief|"
            r"director|librarian|scientist|mayor|councillor)\b",
            re.I,
        ),
    ),
    ("place", re.compile(r"^\s*where\b|\b(which|what) (country|city|region|place|town|state)\b", re.I)),
]
AMOUNT_ASKED = re.compile(  # group 1: the thing whose amount is asked, when named ("pay rise")
    r"^\s*(?:what (amount|sum|(?:pay )?(?:rise|raise|increase|cut)|price|cost|fee|fine|salary|wage)\b"
    r"|how much\b(?! (?:time|longer|later|earlier|sooner)\b))",
    re.I,
)
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
DURATION = re.compile(
    r"\b(\d+(\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|ninety|several|few|half an?)[\s-]+(seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?)\b|\b(hour|day|week|month|year)-long\b",
    re.I,
)


def expected_type(question: str) -> str | None:
    question = re.sub(r"^\s*(and|but|so|also|then)\b[\s,]*", "", question.split(" (about: ")[0], flags=re.I)
    for kind, pattern in _PATTERNS:
        if pattern.search(question):
            return kind
    return None


_HOW_LONG_THING = re.compile(
    r"^\s*how long (?:was|is|were|did|does|will) (?:the|their|this|that|his|her) ([a-z]+(?: [a-z]+){0,2})",
    re.I,
)


def _duration_of(answer: str, question: str) -> bool:
    """A duration answers "how long was the call" only when it is the call's: "an hour-long call",
    "the parade lasted three hours" — not "a 30-day permit" in a sentence that mentions the parade."""
    folded = t.fold(answer)
    durations = list(DURATION.finditer(folded))
    if not durations:
        return False
    asked = _HOW_LONG_THING.match(t.fold(question))
    if not asked or re.search(r"\blast(ed|ing|s)?\b", folded, re.I):
        return True
    things = {t.stem(w) for w in asked.group(1).split() if w.lower() not in t.STOPWORDS} - {"last"}
    for match in durations:
        following = t.words(folded[match.end() :])[:3]
        if things & {t.stem(w) for w in following}:
            return True
    return False


def _numbers_without_years(text: str) -> set[str]:
    """Counts and amounts, not the day or year of a date ("April 7, 2025" answers no 'how many')."""
    return set(_numbers_outside_dates(text))


@functools.lru_cache(maxsize=65536)
def _numbers_outside_dates(text: str) -> frozenset[str]:
    """Cached: every question's type check looks for dates in the same candidate sentences."""
    from index.loaders import find_dates

    for start, end, _iso in reversed(find_dates(text)):
        text = text[:start] + " " + text[end:]
    return frozenset(n for n in t.numbers(text) if not re.fullmatch(r"(19|20)\d\d", n))


@functools.lru_cache(maxsize=8192)
def satisfies(kind: str | None, answer: str, question: str) -> bool:
    """Does this sentence contain the kind of thing the question asks for? (Cached: retrieval asks
    for the same candidates several times per question.)"""
    if kind is None:
        return True
    if kind == "number":
        asks_year = re.search(r"\byears?\b", question, re.I) is not None
        found = t.numbers(answer) if asks_year else _numbers_without_years(answer)
        if re.search(r"^\s*how long\b", question, re.I):
            return _duration_of(answer, question)
        if AMOUNT_ASKED.search(question):  # "what pay rise", "how much": not "a four-day strike"
            found = _numbers_without_years(DURATION.sub(" ", re.sub(r"\[\d+\]", " ", t.fold(answer))))
        if not found - _numbers_without_years(question):
            return False
        counted = re.match(r"^\s*how many ([a-z]+)", t.fold(question).lower())
        if counted:  # "how many civilians" is not answered by "the two leaders"
            return re.search(rf"\b{re.escape(t.stem(counted.group(1)))}", t.fold(answer).lower()) is not None
        return True
    if kind == "date":
        lowered = t.fold(answer).lower()
        return bool(
            t.months(answer)
            or WEEKDAYS & set(re.findall(r"[a-z]+", lowered))
            or re.search(r"\b(19|20)\d\d\b", answer)
            or re.search(r"\b(yesterday|today|last (week|month|year))\b", lowered)
        )
    acronyms = {w.lower() for w in re.findall(r"\b[A-Z]{2,}\b", t.fold(answer).replace(".", ""))}
    asked = t.haystack(question)
    new_names = {n for n in t.names(answer) - acronyms if not t.name_in(n, asked)}
    if kind == "place":  # "the President" is not a place; a title or nationality answers no "where"
        from rag.query import demonyms

        new_names = {n for n in new_names if n not in t.TITLE_WORDS and n not in demonyms(answer)}
    if kind == "person":  # "the Ministry", "the Town Hall": institutions, not who said it
        folded = t.fold(answer)
        new_names = {
            n
            for n in new_names
            if not re.search(rf"\b[Tt]he\s+(?:[A-Z][\w'-]*\s+)*(?i:{re.escape(n)})\b", folded)
        }
    return bool(new_names)
