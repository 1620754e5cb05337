"""Disagreements between articles, found by rules (dates, figures), never by asking the model.

Two evidence sentences from different articles that describe the same thing (many shared content
words) but carry different article dates, or different figures for the same unit, are reported so
the reader sees both sides instead of one picked silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np

from rag import text as t
from rag.retrieve import Evidence

MIN_SHARED = 5
MIN_JACCARD = 0.15
MIN_DAYS_APART = 3
SAME_EVENT_COSINE = 0.6  # MiniLM: paraphrases of one event score ~0.65-0.7, neighbouring events ~0.4-0.55
# A number and the unit word after it; the minutes of a clock time ("6:44 pm") count nothing.
_FIGURE = re.compile(r"(?<![\d.,:])(\d[\d,.]*)\s*(?:-\s*)?([a-z]+)")


def _figures(text: str) -> dict[str, str]:
    """Unit word -> number as written, e.g. {'minute': '40', 'percent': '6.5'}."""
    out = {}
    for number, unit in _FIGURE.findall(t.fold(text).lower()):
        if t.YEAR.fullmatch(number):
            continue
        out[t.stem(unit)] = number.rstrip(".,")
    return out


def _cosine(a: Evidence, b: Evidence) -> float:
    if a.vector is None or b.vector is None:
        return 0.0
    return float(np.dot(np.asarray(a.vector), np.asarray(b.vector)))


@dataclass
class ConflictSide:
    """One article's side: the value it gives and the sentence that gives it."""

    doc_id: str
    title: str
    date: str | None
    value: str
    text: str
    start: int
    end: int


@dataclass
class Conflict:
    kind: Literal["date", "number"]
    about: str
    sides: list[ConflictSide] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conflict:
        return cls(data["kind"], data["about"], [ConflictSide(**side) for side in data["sides"]])


def _side(ev: Evidence, value: str) -> ConflictSide:
    return ConflictSide(ev.doc_id, ev.title, ev.date, value, ev.text, ev.start, ev.end)


def find_conflicts(evidence: Sequence[Evidence], kinds: Sequence[str] = ("date", "number")) -> list[Conflict]:
    conflicts: list[Conflict] = []
    seen: set[tuple[str, str, str]] = set()
    for a, b in combinations(evidence, 2):
        if a.doc_id == b.doc_id:
            continue
        terms_a = t.content_terms(a.text) - {t.stem(n) for n in t.names(a.text)}
        terms_b = t.content_terms(b.text) - {t.stem(n) for n in t.names(b.text)}
        shared = terms_a & terms_b
        lexical_match = (
            len(shared) >= MIN_SHARED and len(shared) / max(1, len(terms_a | terms_b)) >= MIN_JACCARD
        )
        if not lexical_match and _cosine(a, b) < SAME_EVENT_COSINE:
            continue
        about = " ".join(sorted(shared)[:6]) or "the same event"
        if "date" in kinds and a.date and b.date and a.date != b.date:
            from datetime import date

            apart = abs((date.fromisoformat(a.date) - date.fromisoformat(b.date)).days)
            key = ("date", *sorted((a.doc_id, b.doc_id)))
            if apart >= MIN_DAYS_APART and key not in seen:
                seen.add(key)  # type: ignore[arg-type]
                conflicts.append(Conflict("date", about, [_side(a, a.date), _side(b, b.date)]))
        fig_a, fig_b = (_figures(a.text), _figures(b.text)) if "number" in kinds else ({}, {})
        for unit in sorted(set(fig_a) & set(fig_b)):
            if fig_a[unit] != fig_b[unit]:
                key = (f"number:{unit}", *sorted((a.doc_id, b.doc_id)))
                if key in seen:
                    continue
                seen.add(key)  # type: ignore[arg-type]
                sides = [_side(a, fig_a[unit]), _side(b, fig_b[unit])]
                conflicts.append(Conflict("number", f"{unit} ({about})", sides))
    return conflicts
