"""Runs an eval set through the same code path as `rag ask` and scores every item."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from eval.metrics import aggregate, citation_scores, fact_recall, retrieval_scores
from index.errors import UserError
from rag.answer import Answer, AnswerOptions, withhold
from rag.judge import judge, passage_context

KINDS = {"answer", "unanswerable", "summary"}
REQUIRED = {"id", "kind", "question", "facts", "sources", "category", "split"}


def load_set(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL eval set; a malformed line is an error naming its line number."""
    if not path.is_file():
        raise UserError(f"eval set {path} does not exist", "pass --set FILE.jsonl")
    items = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise UserError(f"{path}:{number}: not JSON ({exc})", "one JSON object per line") from None
        missing = REQUIRED - set(item)
        if missing:
            raise UserError(
                f"{path}:{number}: missing {', '.join(sorted(missing))}", "see the README's format"
            )
        if item["kind"] not in KINDS or item["split"] not in ("dev", "test"):
            raise UserError(f"{path}:{number}: bad kind or split", "kind: answer|unanswerable|summary")
        if item["id"] in seen:
            raise UserError(f"{path}:{number}: duplicate id {item['id']!r}", "ids must be unique")
        seen.add(item["id"])
        items.append(item)
    return items


def score_answer(item: dict[str, Any], answer: Answer, k: int) -> dict[str, Any]:
    passages = {c.n: passage_context(c.text, c.title, c.date) for c in answer.citations}
    cites = citation_scores(answer.answer, passages) if not answer.abstained else None
    recall_k, mrr = retrieval_scores(answer.retrieved_docs, item["sources"], k)
    shown_first = answer.closest[0].text if answer.abstained and answer.closest else None
    return {
        # withheld, yet the first closest passage shown holds a gold fact: an answer the reader missed
        "answer_in_first_closest": None
        if shown_first is None
        else fact_recall(item["facts"], shown_first, False) > 0,
        "fact_recall": round(fact_recall(item["facts"], answer.answer, answer.abstained), 4),
        "citation_recall": round(cites.recall, 4) if cites else None,
        "citation_precision": round(cites.precision, 4) if cites else None,
        "statements": cites.statements if cites else 0,
        "source_hit": 1.0 if any(c.doc_id in item["sources"] for c in answer.citations) else 0.0,
        "recall_at_k": round(recall_k, 4),
        "mrr": round(mrr, 4),
    }


def relative_time(item: dict[str, Any], as_of: date | None) -> bool:
    """Does the question say "this week", "on Tuesday", "recently"? Reported as its own category."""
    from rag.timewindow import resolve

    return resolve(item["question"], asked_on(item) or as_of or date.today()) is not None


def asked_on(item: dict[str, Any]) -> date | None:
    """The date an item was asked (news quizzes say "this week"); `--as-of` fills in when absent."""
    value = item.get("asked_on")
    return date.fromisoformat(str(value)[:10]) if value else None


class Asker(Protocol):
    def ask(
        self, question: str, options: AnswerOptions | None = None, history: Sequence[tuple[str, str]] = ()
    ) -> Answer: ...


def run_items(
    items: Sequence[dict[str, Any]],
    answerer: Asker,
    options: AnswerOptions,
    progress: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    summarizer: Any = None,
) -> list[dict[str, Any]]:
    from tqdm import tqdm

    rows = []
    for item in tqdm(items, desc="eval", unit="item", disable=not progress, file=sys.stderr, leave=False):
        row: dict[str, Any] = {
            "id": item["id"],
            "kind": item["kind"],
            "relative_time": item["kind"] != "summary" and relative_time(item, options.as_of),
            "category": item["category"],
            "split": item["split"],
            "question": item["question"],
        }
        if item["kind"] == "summary" and summarizer is not None:
            row.update(run_summary(item, summarizer))
        elif item["kind"] == "summary":
            row.update(
                scored=False,
                reason="summaries are not implemented yet",
                answer="",
                mode="",
                abstained=False,
                citations=[],
                closest=[],
                timings={},
                scores={},
            )
        else:
            history = [tuple(turn) for turn in item.get("history", [])]
            # Asked once with every answer kept, so the risk-coverage curve can show what other
            # thresholds would give; the row itself is what `rag ask` would have said.
            unfiltered = replace(options, answer_threshold=0.0, as_of=asked_on(item) or options.as_of)
            raw = answerer.ask(item["question"], unfiltered, history=history)  # type: ignore[arg-type]
            answer = withhold(raw, options.answer_threshold)
            data = answer.to_json()
            raw_recall = fact_recall(item["facts"], raw.answer, raw.abstained)
            row.update(
                scored=True,
                answer=data["answer"],
                mode=data["mode"],
                abstained=data["abstained"],
                confidence=data["confidence"],
                citations=data["citations"],
                closest=data["closest"],
                timings=data["timings"],
                scores=score_answer(item, answer, options.k),
                unfiltered={"abstained": raw.abstained, "fact_recall": round(raw_recall, 4)},
            )
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def run_summary(item: dict[str, Any], summarizer: Any) -> dict[str, Any]:
    """A summary item through `rag summarize`: fact coverage and faithfulness of its sentences."""
    from eval.metrics import fact_recall as coverage
    from rag.summarize import Options

    scope = item.get("scope") or {"all": True}
    docs = summarizer.select_documents(
        scope.get("doc"), bool(scope.get("all")), scope.get("topic"), scope.get("since"), scope.get("until")
    )
    result = summarizer.summarize(docs, Options(sentences=6), topic=scope.get("topic"), use_cache=False)
    supported = [
        bool(s.citations)
        and judge(s.text, [passage_context(c.text, c.title, c.date) for c in s.citations]).supported
        for s in result.sentences
    ]
    data = result.to_json()
    generated = sum(s.mode == "generated" for s in result.sentences)
    reporting = sum(s.mode != "note" for s in result.sentences)  # conflict notes are neither
    return {
        "scored": True,
        "answer": data["summary"],
        "mode": data["mode"],
        "abstained": False,
        "citations": [c for s in data["sentences"] for c in s["citations"]],
        "closest": [],
        "timings": {
            "total_s": data["timings"]["total_s"],
            "generate_s": data["timings"]["generate_s"],
            "retrieve_s": data["timings"]["select_s"],
        },
        "scores": {
            "fact_coverage": round(coverage(item["facts"], data["summary"], False), 4),
            "faithfulness": round(sum(supported) / len(supported), 4) if supported else 0.0,
            "generated_share": round(generated / reporting, 4) if reporting else 0.0,
        },
    }


def breakdown(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_category = {
        c: aggregate([r for r in rows if r["category"] == c]) for c in sorted({r["category"] for r in rows})
    }
    by_split = {
        s: aggregate([r for r in rows if r["split"] == s]) for s in sorted({r["split"] for r in rows})
    }
    timed = {"relative": True, "absolute": False}
    by_time = {
        name: aggregate(chosen)
        for name, flag in timed.items()
        if (chosen := [r for r in rows if bool(r.get("relative_time")) == flag])
    }
    return {"summary": aggregate(rows), "by_category": by_category, "by_split": by_split, "by_time": by_time}


def compare(a: Path, b: Path) -> dict[str, Any]:
    """Per-metric deltas between two results files, and the items whose outcome changed."""
    rows_a = [json.loads(x) for x in a.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows_b = [json.loads(x) for x in b.read_text(encoding="utf-8").splitlines() if x.strip()]
    sa, sb = aggregate(rows_a), aggregate(rows_b)
    deltas = {}
    for key, value in sa.items():
        other = sb.get(key)
        if isinstance(value, int | float) and isinstance(other, int | float):
            deltas[key] = {"a": value, "b": other, "delta": round(other - value, 4)}
    by_id = {r["id"]: r for r in rows_a}
    changed = []
    for row in rows_b:
        old = by_id.get(row["id"])
        if old is None:
            continue
        fa, fb = old.get("scores", {}).get("fact_recall"), row.get("scores", {}).get("fact_recall")
        if (fa, old["mode"], old["abstained"]) != (fb, row["mode"], row["abstained"]):
            changed.append(
                {
                    "id": row["id"],
                    "a": {"mode": old["mode"], "fact_recall": fa},
                    "b": {"mode": row["mode"], "fact_recall": fb},
                }
            )
    return {"deltas": deltas, "changed": changed}


def write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


__all__ = ["breakdown", "compare", "load_set", "run_items", "write_rows"]
