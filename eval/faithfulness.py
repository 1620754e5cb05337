"""The rewrite checker against hand-labelled (source, rewrite, faithful?) pairs.

`python -m eval.faithfulness [--split tune|test|all]` prints precision and recall for the
unfaithful class (the class the checker exists to catch) and accuracy, plus each miss.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.faithful import check

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="all", choices=["tune", "test", "all"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scores, misses = score(load(args.split))
    if args.json:
        print(json.dumps(scores.to_json()))
        return
    print(f"{args.split}: {scores.n} pairs, accuracy {scores.accuracy}, unfaithful precision "
          f"{scores.precision}, recall {scores.recall}")  # fmt: skip
    for row, why in misses:
        label = "faithful" if row["faithful"] else row["kind"]
        print(f"  {row['id']} labelled {label}, checker says {why or 'faithful'}: {row['rewrite']}")


if __name__ == "__main__":
    main()
