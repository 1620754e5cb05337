"""Fit the reader's calibration (`rag/reader.json`) on question sets: features, never items.

    python -m eval.calibrate collect --set SET.jsonl --index INDEX --out FEATURES.jsonl [--model GGUF]
    python -m eval.calibrate fit FEATURES.jsonl [FEATURES.jsonl ...] [--write [--only KIND ...]]

`collect` asks every answer item the way `rag ask` would (as of its `asked_on`) and records, for each
candidate the reader weighed, its features and whether it holds a gold fact. `fit` fits a logistic
model per reading kind ("model": the chat model's scores after reading the evidence sentences;
"passages": the same after a large model read the passages around them; "rules": no scores), reports how often
the best candidate is right when each question is left out of the fit in turn, prints the
reliability table (predicted vs observed accuracy of the chosen answers per confidence bin), and
with `--write` stores the weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from eval.metrics import fact_recall
from eval.runner import asked_on, load_set

READER_FILE = Path(__file__).resolve().parent.parent / "rag" / "reader.json"
RULE_FEATURES = (
    "rule_confidence",
    "rule_first",
    "articles",
    "lexical",
    "constraints",
    "sentence_rank",
    "fit",
    "draft_names",
)
MODEL_FEATURES = ("model_p", "model_margin", "model_none")
CONFIDENCE_FEATURES = ("rule_confidence",)  # the chosen candidate's, per question
MODEL_CONFIDENCE = ("model_p", "model_margin")
# A passage reader's own answer agreeing with a candidate says much more than a sentence draft's.
PASSAGE_CONFIDENCE = ("model_p", "model_margin", "draft_names")
REGULARISATION = 1.0  # inverse L2 strength: a handful of features, a few hundred rows
OPEN_MODES = ("generated", "extractive")  # answers to open questions: verified statements, quotes


def collect(set_path: Path, index: Path, out: Path, model: Path | None) -> int:
    from rag.answer import AnswerOptions
    from rag.factory import App
    from rag.settings import load_settings

    app = App(load_settings(index=index, model=model))
    answerer = app.answerer
    rows: list[dict[str, Any]] = []
    items = [i for i in load_set(set_path) if i["kind"] == "answer"]
    for n, item in enumerate(items, 1):
        trace: list[dict[str, Any]] = []
        answerer.reader.trace = trace
        options = replace(AnswerOptions(answer_threshold=0.0), as_of=asked_on(item) or date.today())
        history = [(str(a), str(b)) for a, b in item.get("history", [])]
        answer = answerer.ask(item["question"], options, history=history)
        if answer.mode in OPEN_MODES:
            right = fact_recall(item["facts"], answer.answer, False) > 0
            rows.append({"question": f"{set_path.name}:{item['id']}", "open": answer.mode, "right": right})
        for row in trace:
            text = str(row.pop("text"))
            right = fact_recall(item["facts"], text, False) > 0
            rows.append({"question": f"{set_path.name}:{item['id']}", "text": text, "right": right, **row})
        print(f"{n}/{len(items)} {item['id']}: {len(trace)} candidates", file=sys.stderr)
    answerer.reader.trace = None
    app.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return 0


def _fits(row: dict[str, Any], kind: str) -> bool:
    """Whether a collected candidate belongs to a reading kind's fit: passage readings fit their
    own kind; sentence readings with the model's scores fit "model", and all of them "rules"."""
    passages = row.get("reading") == "passages"
    if kind == "passages":
        return passages
    return not passages and (kind == "rules" or "model_p" in row)


def _matrix(rows: Sequence[dict[str, Any]], features: Sequence[str]) -> Any:
    import numpy as np

    return np.array([[float(r.get(f, 0.0)) for f in features] for r in rows])


def _fit(rows: Sequence[dict[str, Any]], features: Sequence[str]) -> Any:
    from sklearn.linear_model import LogisticRegression

    labels = [bool(r["right"]) for r in rows]
    return LogisticRegression(C=REGULARISATION, max_iter=2000).fit(_matrix(rows, features), labels)


def _groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """A question's candidates as one reader (one features file per chat model) weighed them."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[(row["question"], row.get("reader", ""))].append(row)
    return out


def _pick(own: Sequence[dict[str, Any]], model: Any, features: Sequence[str]) -> dict[str, Any]:
    probs = model.predict_proba(_matrix(own, features))[:, 1]
    return own[max(range(len(own)), key=lambda i: probs[i])]


def held_out(
    rows: Sequence[dict[str, Any]], choose: Sequence[str], confidence: Sequence[str]
) -> list[tuple[float, bool]]:
    """Per question and reader: the chosen candidate's confidence and whether it is right, each
    question scored by fits (choice, then confidence) that never saw it."""
    groups = _groups(rows)
    questions = sorted({q for q, _ in groups})
    picked: dict[str, list[dict[str, Any]]] = {}
    for question in questions:
        model = _fit([r for r in rows if r["question"] != question], choose)
        picked[question] = [_pick(own, model, choose) for (q, _), own in groups.items() if q == question]
    out = []
    for question in questions:
        others = [r for q, chosen in picked.items() if q != question for r in chosen]
        model = _fit(others, confidence)
        for row in picked[question]:
            out.append((float(model.predict_proba(_matrix([row], confidence))[0, 1]), bool(row["right"])))
    return out


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 5) -> list[dict[str, Any]]:
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [right for p, right in pairs if low <= p < high or (b == bins - 1 and p == 1.0)]
        mean_p = [p for p, _ in pairs if low <= p < high or (b == bins - 1 and p == 1.0)]
        table.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "answers": len(inside),
                "predicted": round(sum(mean_p) / len(mean_p), 3) if mean_p else None,
                "observed": round(sum(inside) / len(inside), 3) if inside else None,
            }
        )
    return table


def open_answer_rates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """How often an open question's answer of each mode was right, as a probability: a handful of
    answers per set, so the share is smoothed towards one half (one right and one wrong added) and
    no feature is fitted (key coverage did not tell right from wrong)."""
    out = {}
    for mode in OPEN_MODES:
        seen = [bool(r["right"]) for r in rows if r["open"] == mode]
        out[mode] = {
            "answers": len(seen),
            "right": sum(seen),
            "probability": round((sum(seen) + 1) / (len(seen) + 2), 4),
        }
    return out


def fit(paths: Sequence[Path], write: bool, only: Sequence[str] = ()) -> int:
    everything = [
        {**json.loads(x), "reader": p.name}
        for p in paths
        for x in p.read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    rows = [r for r in everything if "open" not in r]
    open_rates = open_answer_rates([r for r in everything if "open" in r])
    print(f"open answers: {json.dumps(open_rates)}")
    stages: dict[str, dict[str, Any]] = {"choose": {}, "confidence": {}}
    for name, choose, confidence in (
        ("model", RULE_FEATURES + MODEL_FEATURES, CONFIDENCE_FEATURES + MODEL_CONFIDENCE),
        ("passages", RULE_FEATURES + MODEL_FEATURES, CONFIDENCE_FEATURES + PASSAGE_CONFIDENCE),
        ("rules", RULE_FEATURES, CONFIDENCE_FEATURES),
    ):
        usable = [r for r in rows if _fits(r, name)]
        if not usable:
            continue
        pairs = held_out(usable, choose, confidence)
        right = sum(r for _, r in pairs)
        print(f"{name}: {len(usable)} candidates, {len(pairs)} questions x readers; chosen right {right}")
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
            given = [r for p, r in pairs if p >= threshold]
            print(f"  threshold {threshold}: {len(given)} answers, {sum(given)} right")
        for line in reliability(pairs):
            print(f"  {line['bin']}: {line['answers']:3d} answers, predicted {line['predicted']}, "
                  f"observed {line['observed']}")  # fmt: skip
        chooser = _fit(usable, choose)
        chosen = [_pick(own, chooser, choose) for own in _groups(usable).values()]
        for stage, model, features in (
            ("choose", chooser, choose),
            ("confidence", _fit(chosen, confidence), confidence),
        ):
            stages[stage][name] = {
                "features": list(features),
                "weights": [round(float(w), 4) for w in model.coef_[0]],
                "bias": round(float(model.intercept_[0]), 4),
            }
    if write:
        data = json.loads(READER_FILE.read_text(encoding="utf-8"))
        for stage, fitted in stages.items():
            kept = data["stages"].get(stage, {}) if only else {}
            data["stages"][stage] = {**kept, **{k: v for k, v in fitted.items() if not only or k in only}}
        if not only:  # the open answers' rates are every reader's: a refit of one kind keeps them
            data["open"] = {mode: rate["probability"] for mode, rate in open_rates.items()}
        data.pop("models", None)
        READER_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {READER_FILE}")
    else:
        print(json.dumps(stages, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--set", type=Path, required=True)
    c.add_argument("--index", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--model", type=Path)
    f = sub.add_parser("fit")
    f.add_argument("features", type=Path, nargs="+")
    f.add_argument("--write", action="store_true")
    f.add_argument(
        "--only",
        nargs="+",
        default=[],
        choices=["model", "passages", "rules"],
        help="write these reading kinds' fits and keep the others as they are",
    )
    args = parser.parse_args(argv)
    if args.command == "collect":
        return collect(args.set, args.index, args.out, args.model)
    return fit(args.features, args.write, args.only)


if __name__ == "__main__":
    sys.exit(main())
