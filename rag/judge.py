"""A deterministic support judge: does a passage back a statement? No model involved.

Used twice: to attach citations to a generated answer, and by `rag eval` to score citations. A
statement is supported when most of its content terms occur in the passage(s) and every number,
month and name it states occurs there verbatim, with no negation added or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag import text as t

COVERAGE_THRESHOLD = 0.75


@dataclass
class Verdict:
    supported: bool
    coverage: float
    missing: list[str] = field(default_factory=list)
    reason: str = ""


def passage_context(text: str, title: str = "", date: str | None = None) -> str:
    """A cited passage as a reader sees it: the article's title and date frame the sentence.

    "The carnival parade lasted three hours" is supported by "It lasted three hours" in an article
    titled "... Carnival Parade Returns ..." (as in ALCE, where passages carry their titles). The
    date is spelled out so "the May parade" can be checked against it.
    """
    parts = [title.strip().rstrip(".…") + "." if title.strip() else "", text]
    if date:
        try:
            from datetime import date as _date

            day = _date.fromisoformat(date)
            parts.append(f"(Dated {day.strftime('%B')} {day.day}, {day.year}; {date}.)")
        except ValueError:
            pass
    return " ".join(p for p in parts if p)


def judge(statement: str, passages: Sequence[str], threshold: float = COVERAGE_THRESHOLD) -> Verdict:
    joined = " \n".join(passages)
    haystack = t.haystack(joined)
    terms = t.content_terms(statement)
    if not terms:
        return Verdict(False, 0.0, reason="no content")
    passage_terms = t.content_terms(joined)
    covered = {w for w in terms if w in passage_terms or t.name_in(w, haystack)}
    coverage = len(covered) / len(terms)
    missing = sorted(terms - covered)

    passage_numbers = t.numbers(joined)
    bad_numbers = sorted(n for n in t.numbers(statement) if n not in passage_numbers)
    if bad_numbers:
        return Verdict(False, coverage, bad_numbers, "number not in passage")
    bad_months = sorted(t.months(statement) - t.months(joined))
    if bad_months:
        return Verdict(False, coverage, bad_months, "date not in passage")
    bad_names = sorted(n for n in t.names(statement) if not t.name_in(n, haystack))
    if bad_names:
        return Verdict(False, coverage, bad_names, "name not in passage")
    flipped = sorted(t.polarity_words(statement) - t.polarity_words(joined))
    if flipped:
        return Verdict(False, coverage, flipped, "claim word not in passage")
    if t.has_negation(statement) and not t.has_negation(joined):
        return Verdict(False, coverage, [], "negation not in passage")
    if coverage < threshold:
        return Verdict(False, coverage, missing, "too little overlap")
    return Verdict(True, coverage, missing, "")
