"""Step 5 of an answer: compose. The verified content becomes the text a reader sees, numbered
citations in order of first use, disagreements said with both sides, or an honest abstention."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date

from rag import text as t
from rag.analyse import Query
from rag.conflicts import Conflict
from rag.prompts import render
from rag.records import MARKER, Answer, Citation, Mode, Timings
from rag.retrieve import Evidence

DOTTED_ABBREVIATION = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}$")  # "U.S." keeps its dot before "[1]"


def render_answer(
    statements: Sequence[tuple[str, list[int]]], evidence: Sequence[Evidence]
) -> tuple[str, list[Citation]]:
    """Number citations in order of first use so [1] is always the first one the reader meets."""
    numbering: dict[int, int] = {}
    parts = []
    for statement, sources in statements:
        marks = []
        for idx in sources:
            if idx not in numbering:
                numbering[idx] = len(numbering) + 1
            marks.append(numbering[idx])
        body = statement.rstrip()
        end = ""
        if body and body[-1] in ".!?" and not DOTTED_ABBREVIATION.search(body):
            body, end = body[:-1], body[-1]
        parts.append(f"{body} {''.join(f'[{m}]' for m in sorted(set(marks)))}{end or '.'}")
    citations = [
        Citation.from_evidence(n, evidence[idx]) for idx, n in sorted(numbering.items(), key=lambda x: x[1])
    ]
    return " ".join(parts), citations


def statement(query: Query, span: str) -> str:
    """The answer as a sentence: the span in place of the wh-phrase when that reads as English
    ("Which port reopened?" -> "Eastport reopened."), else the span alone."""
    if query.wh_span is None or query.wh_role not in ("subject", "in_situ"):
        return span.rstrip(".") + "."
    start, end = query.wh_span
    if not query.wh_noun_phrase:
        return span.rstrip(".") + "."  # "what was the highest temperature": not a noun phrase to replace
    counted = query.text[start:end].split()[2:] if query.answer_type == "number" else []
    if counted and t.stem(re.split(r"[\s-]", span)[-1]) == t.stem(counted[-1]):
        counted = []  # "40 minutes", "a 12-day strike" already say what they count
    filler = " ".join([span, *counted])  # "How many ferries sailed?" -> "Nine ferries sailed."
    body = (query.text[:start] + filler + query.text[end:]).strip()
    body = re.sub(r"\s*\?+(?=[\"”’']?\s*$)", "", body).strip()  # also inside a closing quote
    return body[0].upper() + body[1:] + "."


def quote(picked: Sequence[Evidence]) -> tuple[str, list[Citation]]:
    quotes = " ".join(f"“{' '.join(e.text.split())}” [{n}]" for n, e in enumerate(picked, 1))
    return render("extractive", quotes=quotes), [
        Citation.from_evidence(n, e) for n, e in enumerate(picked, 1)
    ]


def _spell_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def add_conflict_notes(
    text: str, citations: list[Citation], conflicts: list[Conflict], evidence: Sequence[Evidence]
) -> tuple[str, list[Citation]]:
    """Say where the articles disagree, citing both sides, instead of silently picking one."""
    citations = list(citations)
    notes = []
    for conflict in conflicts[:2]:
        marks = []
        for side in conflict.sides:
            existing = next((c for c in citations if c.doc_id == side.doc_id and c.start == side.start), None)
            if existing is None:
                ev = next(e for e in evidence if e.doc_id == side.doc_id and e.start == side.start)
                existing = Citation.from_evidence(len(citations) + 1, ev)
                citations.append(existing)
            value = _spell_date(side.value) if conflict.kind == "date" else side.value
            marks.append(f"{value} [{existing.n}]")
        notes.append(render(f"conflict_{conflict.kind}", first=marks[0], second=marks[1]))
    return " ".join([text, *notes]), citations


def withhold(answer: Answer, threshold: float) -> Answer:
    """Below the threshold an answer is not given: the reader gets the closest passages instead."""
    if answer.abstained or answer.confidence >= threshold:
        return answer
    return replace(
        answer,
        answer=render("abstain", question=answer.question),
        mode="abstained",
        abstained=True,
        citations=[],
        closest=answer.nearest,
        conflicts=[],
    )


def _shift_markers(text: str, offset: int) -> str:
    return MARKER.sub(lambda m: " " + "".join(f"[{int(x) + offset}]" for x in m.group(1).split(",")), text)


def merge_slots(question: str, parts: Sequence[Answer]) -> Answer:
    """One answer per asked slot, each cited or said to be missing, numbered as one answer."""
    texts: list[str] = []
    citations: list[Citation] = []
    for part in parts:
        if part.abstained:
            texts.append(render("abstain_slot", question=part.question))
            continue
        texts.append(_shift_markers(part.answer, len(citations)))
        offset = len(citations)
        citations += [Citation(**{**asdict(c), "n": c.n + offset}) for c in part.citations]
    answered = [p for p in parts if not p.abstained]
    timings = Timings.of_parts([p.timings for p in parts])
    retrieved = [d for p in parts for d in p.retrieved_docs]
    if not answered:
        first = parts[0]
        return Answer(
            question,
            render("abstain", question=question),
            "abstained",
            True,
            [],
            first.closest,
            [],
            timings,
            retrieved_docs=retrieved,
            time_window=first.time_window,
        )
    mode: Mode = min((p.mode for p in answered), key=("span", "generated", "extractive").index)
    return Answer(
        question=question,
        answer=" ".join(texts),
        mode=mode,
        abstained=False,
        citations=citations,
        closest=[],
        conflicts=[c for p in parts for c in p.conflicts],
        timings=timings,
        retrieved_docs=retrieved,
        confidence=min(p.confidence for p in answered),
        nearest=parts[0].nearest,
        time_window=parts[0].time_window,
    )
