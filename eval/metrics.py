"""Metric functions for `rag eval`. Every definition here is restated in the README.

Answers are scored against facts (lists of acceptable spellings) with a normaliser, and citations
with the deterministic support judge of `rag.judge` in the manner of ALCE (Gao et al., 2023).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.judge import judge
from rag.text import numbers as figures

CITATION_MARKER = re.compile(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]")
APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
ARTICLES = frozenset({"a", "an", "the"})


def normalize(text: str) -> str:
    """NFKD to ASCII, lower case, citation markers and apostrophes (straight or curly: "Hartwell’s"
    and "Hartwell's" are one spelling) removed, the articles a, an and the dropped as SQuAD's
    scorer does ("Harbour Tales" names "The Harbour Tales"), other runs of symbols to one space."""
    ascii_text = (
        unicodedata.normalize("NFKD", APOSTROPHES.sub("", text))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    ascii_text = CITATION_MARKER.sub(" ", ascii_text)
    words = re.sub(r"[^a-z0-9%.\-]+", " ", ascii_text).split()
    return " ".join(w for w in words if w not in ARTICLES)


def fact_found(aliases: Sequence[str], answer: str) -> bool:
    """A spelling found in the answer; a figure only as a whole figure ("1" is not in "150th")."""
    norm = normalize(answer)
    for alias in filter(None, (normalize(a) for a in aliases)):
        before = r"(?<!\d)" if alias[0].isdigit() else ""
        after = r"(?!\d)" if alias[-1].isdigit() else ""
        if re.search(before + re.escape(alias) + after, norm) or _same_count(alias, answer):
            return True
    return False


def _same_count(alias: str, answer: str) -> bool:
    """A one-word count is one fact however it is spelled: "2" is found in "two terms", "Four" in
    "4 times" (not "one": it is rarely a count)."""
    value = figures(alias) if " " not in alias else set()
    return len(value) == 1 and value <= figures(answer)


def fact_recall(facts: Sequence[Sequence[str]], answer: str, abstained: bool) -> float:
    if not facts:
        return 1.0
    if abstained:
        return 0.0
    return sum(fact_found(f, answer) for f in facts) / len(facts)


@dataclass
class CitationScores:
    recall: float  # share of statements fully supported by their citations
    precision: float  # share of citations that support their statement and are needed
    statements: int
    citations: int


def statements_with_markers(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into statements and the citation numbers each one carries."""
    from index.chunking import sentence_spans

    pieces: list[str] = []
    for span in sentence_spans(answer):
        if pieces and pieces[-1].count("“") > pieces[-1].count("”"):
            pieces[-1] += " " + span.text  # a quotation that spans sentences is one statement
        else:
            pieces.append(span.text)
    merged: list[tuple[str, list[int]]] = []
    for piece in pieces:
        numbers = [int(n) for m in CITATION_MARKER.finditer(piece) for n in re.findall(r"\d+", m.group())]
        text = CITATION_MARKER.sub("", piece).strip()
        if not re.search(r"[^\W_]", text):  # "60 [1]." and "U.K. [1]." are statements; "[2]." is not
            if merged:  # a marker standing alone after a sentence belongs to that sentence
                merged[-1][1].extend(numbers)
            continue
        merged.append((text, numbers))
    return merged


def citation_scores(answer: str, passages: dict[int, str]) -> CitationScores:
    """ALCE-style citation recall and precision.

    A statement counts for recall when it has citations and their passages together support it.
    A citation counts for precision when its statement is supported and the citation is needed: it
    supports the statement alone, or the others do not support it without it. Markers pointing
    at no passage count as citations that fail.
    """
    items = statements_with_markers(answer)
    if not items:
        return CitationScores(0.0, 0.0, 0, 0)
    supported_statements = 0
    precise = 0
    total = 0
    for text, numbers in items:
        numbers = list(dict.fromkeys(numbers))
        total += len(numbers)
        valid = [n for n in numbers if n in passages]
        if not valid or not judge(text, [passages[n] for n in valid]).supported:
            continue
        supported_statements += 1
        if len(valid) != len(numbers):
            pass  # out-of-range markers stay counted in total but never precise
        for n in valid:
            alone = judge(text, [passages[n]]).supported
            others = [passages[m] for m in valid if m != n]
            needed = not others or not judge(text, others).supported
            if alone or needed:
                precise += 1
    return CitationScores(
        recall=supported_statements / len(items),
        precision=precise / total if total else 0.0,
        statements=len(items),
        citations=total,
    )


def retrieval_scores(ranked_docs: Sequence[str], sources: Sequence[str], k: int) -> tuple[float, float]:
    """recall@k (share of source documents among the first k distinct retrieved) and MRR."""
    if not sources:
        return 1.0, 1.0
    distinct = list(dict.fromkeys(ranked_docs))
    top = distinct[:k]
    recall = sum(1 for s in sources if s in top) / len(sources)
    mrr = next((1.0 / (rank + 1) for rank, doc in enumerate(distinct) if doc in sources), 0.0)
    return recall, mrr


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def selective(rows: Sequence[dict[str, Any]], threshold: float = 0.0) -> dict[str, float | None]:
    """Selective-QA figures at a confidence threshold (answers below it count as abstentions).

    coverage: share of answerable items answered; selective_accuracy: of those, share with every
    fact found; wrong_answer_rate: answered-and-wrong answerable items plus answered unanswerable
    items, over all question items. A wrong answer is the outcome to avoid; an abstention is not one.
    """
    items = [r for r in rows if r["kind"] in ("answer", "unanswerable") and r["scored"]]
    answerable = [r for r in items if r["kind"] == "answer"]

    def outcome(r: dict[str, Any]) -> dict[str, Any]:
        """The answer before any threshold when the row kept it, else the row as given."""
        if threshold > 0 and "unfiltered" in r:
            return dict(r["unfiltered"])
        return {"abstained": r["abstained"], "fact_recall": r["scores"].get("fact_recall", 0.0)}

    def answered(r: dict[str, Any]) -> bool:
        return not outcome(r)["abstained"] and float(r.get("confidence", 1.0)) >= threshold

    given = [r for r in answerable if answered(r)]
    right = [r for r in given if outcome(r)["fact_recall"] == 1.0]
    wrong = len(given) - len(right) + sum(answered(r) for r in items if r["kind"] == "unanswerable")
    return {
        "coverage": round(len(given) / len(answerable), 4) if answerable else None,
        "selective_accuracy": round(len(right) / len(given), 4) if given else None,
        "wrong_answer_rate": round(wrong / len(items), 4) if items else None,
        "fact_recall": round(len(right) / len(answerable), 4) if answerable else None,
    }


def risk_coverage(rows: Sequence[dict[str, Any]], steps: int = 10) -> list[dict[str, float | None]]:
    """What each answer threshold would give on these rows, from answering everything up to 0.9."""
    return [{"threshold": round(i / steps, 2), **selective(rows, max(i / steps, 1e-9))} for i in range(steps)]


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Set-level metrics from per-item result rows (see runner.py for the row format)."""
    answer_rows = [r for r in rows if r["kind"] == "answer" and r["scored"]]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable" and r["scored"]]
    summary_rows = [r for r in rows if r["kind"] == "summary" and r["scored"]]
    cited_rows = [r for r in answer_rows if not r["abstained"] and r["scores"]["statements"]]
    scored = [r for r in rows if r["scored"]]
    modes = [r["mode"] for r in answer_rows + unanswerable]
    timings = [r["timings"] for r in answer_rows + unanswerable if r.get("timings")]
    gen_s = sum(t.get("generate_s", 0.0) for t in timings)
    gen_tokens = sum(t.get("completion_tokens", 0) for t in timings)
    chosen = selective(rows)
    out: dict[str, Any] = {
        "coverage": chosen["coverage"],
        "selective_accuracy": chosen["selective_accuracy"],
        "wrong_answer_rate": chosen["wrong_answer_rate"],
        "items": len(rows),
        "scored": len(scored),
        "not_scored": len(rows) - len(scored),
        "fact_recall": mean([r["scores"]["fact_recall"] for r in answer_rows]),
        "exact": mean([1.0 if r["scores"]["fact_recall"] == 1.0 else 0.0 for r in answer_rows]),
        "citation_recall": mean([r["scores"]["citation_recall"] for r in cited_rows]),
        "citation_precision": mean([r["scores"]["citation_precision"] for r in cited_rows]),
        "source_hit": mean([r["scores"]["source_hit"] for r in answer_rows]),
        "recall_at_k": mean([r["scores"]["recall_at_k"] for r in answer_rows]),
        "mrr": mean([r["scores"]["mrr"] for r in answer_rows]),
        "abstention_rate": mean([1.0 if r["abstained"] else 0.0 for r in unanswerable]),
        "false_abstention_rate": mean([1.0 if r["abstained"] else 0.0 for r in answer_rows]),
        "abstained_answer_in_first_closest": mean(
            [
                1.0 if r["scores"]["answer_in_first_closest"] else 0.0
                for r in answer_rows
                if r["abstained"] and r["scores"].get("answer_in_first_closest") is not None
            ]
        ),
        "mode_share": {m: round(modes.count(m) / len(modes), 4) for m in sorted(set(modes))} if modes else {},
        "fact_coverage": mean([r["scores"]["fact_coverage"] for r in summary_rows]),
        "faithfulness": mean([r["scores"]["faithfulness"] for r in summary_rows]),
        "summary_generated_share": mean([r["scores"]["generated_share"] for r in summary_rows]),
        "summary_total_s_p50": round(percentile([r["timings"]["total_s"] for r in summary_rows], 50), 3)
        if summary_rows
        else None,
        "load_s": round(max((t.get("load_s", 0.0) for t in timings), default=0.0), 3),
        "tokens_per_s": round(gen_tokens / gen_s, 1) if gen_s else None,
    }
    for key in ("total_s", "retrieve_s", "generate_s"):
        values = [t.get(key, 0.0) for t in timings]
        out[f"{key}_p50"] = round(percentile(values, 50), 3)
        out[f"{key}_p95"] = round(percentile(values, 95), 3)
    return out
