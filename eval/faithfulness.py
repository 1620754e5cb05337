"""The rewrite checker against hand-labelled (source, rewrite, faithful?) pairs.

`python -m eval.faithfulness [--split tune|test|all]` prints precision and recall for the
unfaithful class (the class the checker exists to catch) and accuracy, plus each miss.
`--model-check [--model GGUF]` measures a chat model's own yes/no check ("is every part of the
statement stated in the passage?", P("Yes") against "No" from log-probabilities) on the pairs the
lexical judge rejects: how many faithful ones it would keep, and how many unfaithful ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import UserError
from rag.faithful import check
from rag.judge import judge
from rag.llm import ChatModel
from rag.prompts import as_quoted_data, render

ENTAILED = 0.9  # the model's P("Yes") a paraphrase would need to be kept

PAIRS = Path(__file__).parent / "sets" / "faithfulness.jsonl"


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    precision: float  # of the pairs called unfaithful, the share that are
    recall: float  # of the unfaithful pairs, the share called unfaithful

    def to_json(self) -> dict[str, float]:
        return {"n": self.n, "accuracy": self.accuracy, "precision": self.precision, "recall": self.recall}


def load(split: str = "all", path: Path = PAIRS) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def score(rows: list[dict[str, Any]]) -> tuple[Scores, list[tuple[dict[str, Any], str]]]:
    tp = fp = fn = correct = 0
    misses = []
    for row in rows:
        verdict = check(row["source"], row["rewrite"])
        flagged, unfaithful = not verdict.faithful, not row["faithful"]
        correct += flagged == unfaithful
        tp += flagged and unfaithful
        fp += flagged and not unfaithful
        fn += unfaithful and not flagged
        if flagged != unfaithful:
            misses.append((row, f"{verdict.reason} {verdict.detail}".strip()))
    n = len(rows)
    return (
        Scores(
            n,
            round(correct / n, 3) if n else 0.0,
            round(tp / (tp + fp), 3) if tp + fp else 1.0,
            round(tp / (tp + fn), 3) if tp + fn else 1.0,
        ),
        misses,
    )


def model_check(chat: ChatModel, passage: str, statement: str) -> float:
    """The model's probability of "Yes" against "No" as its whole reply, not a sampled word."""
    asked = render("entail", passage=as_quoted_data(passage), statement=statement)
    messages = [{"role": "system", "content": render("entail_system")}, {"role": "user", "content": asked}]
    scores = chat.score(messages, ["Yes", "No"])  # type: ignore[attr-defined]
    return 1.0 / (1.0 + math.exp(max(-30.0, min(30.0, scores.total(1) - scores.total(0)))))


def model_check_scores(rows: list[dict[str, Any]], model: str | None) -> dict[str, Any]:
    """A chat model's yes/no reading of each pair the lexical judge does not support, at `ENTAILED`."""
    from rag.factory import App
    from rag.settings import load_settings

    settings = load_settings(**({"model": model} if model else {}))
    chat = App(settings).chat
    rejected = [r for r in rows if not judge(r["rewrite"], [r["source"]]).supported]
    read = [(r, model_check(chat, r["source"], r["rewrite"])) for r in rejected]
    kept = [(r, p) for r, p in read if p >= ENTAILED]
    return {
        "threshold": ENTAILED,
        "rejected_faithful": sum(r["faithful"] for r in rejected),
        "rejected_unfaithful": sum(not r["faithful"] for r in rejected),
        "kept_faithful": sum(r["faithful"] for r, _ in kept),
        "kept_unfaithful": sum(not r["faithful"] for r, _ in kept),
        "pairs": [{"id": r["id"], "kind": r["kind"], "p_yes": round(p, 3)} for r, p in read],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="all", choices=["tune", "test", "all"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model-check", action="store_true", help="the chat model's own check instead")
    parser.add_argument("--model", help="a chat GGUF for --model-check (default: the default model)")
    args = parser.parse_args(argv)
    if args.model_check:
        try:
            result = model_check_scores(load(args.split), args.model)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(result, indent=None if args.json else 1))
        return 0
    scores, misses = score(load(args.split))
    if args.json:
        print(json.dumps(scores.to_json()))
        return 0
    print(f"{args.split}: {scores.n} pairs, accuracy {scores.accuracy}, unfaithful precision "
          f"{scores.precision}, recall {scores.recall}")  # fmt: skip
    for row, why in misses:
        label = "faithful" if row["faithful"] else row["kind"]
        print(f"  {row['id']} labelled {label}, checker says {why or 'faithful'}: {row['rewrite']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
