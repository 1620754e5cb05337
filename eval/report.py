"""Prints the headline metrics and risk-coverage curve of `rag eval --json` results, side by side.

Usage: python -m eval.report RESULT.json [RESULT.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEADLINE = ("coverage", "selective_accuracy", "wrong_answer_rate", "fact_recall", "abstention_rate",
            "citation_precision", "recall_at_k", "mrr", "abstained_answer_in_first_closest",
            "total_s_p50")  # fmt: skip


def main(paths: list[str]) -> int:
    results = {Path(p).stem: json.loads(Path(p).read_text(encoding="utf-8")) for p in paths}
    names = list(results)
    print("metric".ljust(22) + "".join(n.rjust(16) for n in names))
    for key in HEADLINE:
        cells = [results[n]["summary"].get(key) for n in names]
        print(key.ljust(22) + "".join(("-" if c is None else f"{c:.3f}").rjust(16) for c in cells))
    print('\nquestions with a relative time ("this week", "on Tuesday", "recently"):')
    for key in ("items", *HEADLINE[:4]):
        cells = [results[n].get("by_time", {}).get("relative", {}).get(key) for n in names]
        print(key.ljust(22) + "".join(("-" if c is None else f"{c:.3f}").rjust(16) for c in cells))
    for name in names:
        print(f"\nrisk-coverage, {name} (threshold in use: {results[name].get('threshold')})")
        print("threshold  coverage  sel.acc  wrong  fact_recall")
        for p in results[name].get("risk_coverage", []):
            cells = [p[k] for k in ("coverage", "selective_accuracy", "wrong_answer_rate", "fact_recall")]
            print(
                f"{p['threshold']:>9.2f}"
                + "".join(("-" if c is None else f"{c:.3f}").rjust(9) for c in cells)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
