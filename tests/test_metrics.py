"""Metric functions against hand-computed values, and the support judge against labelled pairs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.metrics import aggregate, citation_scores, fact_recall, normalize, retrieval_scores
from eval.runner import load_set
from index.errors import UserError
from rag.judge import judge
from tests.helpers import SHARED, require_shared

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
UNION = "The union accepted a pay rise of 6.5 percent over two years."
SHIPS = "About 60 ships had been waiting at sea."


def test_normalize():
    assert normalize("Zelenskyy’s [1] Patriot-missiles, 3.5%!") == "zelenskyys patriot-missiles 3.5%"
    assert normalize("Café [2, 3] déjà-vu") == "cafe deja-vu"
    assert normalize("  ") == ""
    assert normalize("Hartwell’s Bakery") == normalize("Hartwell's Bakery") == "hartwells bakery"
    assert normalize("The Harbour Tales, a sequel") == "harbour tales sequel"
    assert normalize("Theatre of an Athens") == "theatre of athens"


def test_fact_recall():
    facts = [["Patriot"], ["Saudi Arabia", "Riyadh"]]
    assert fact_recall(facts, "They asked for Patriot systems [1].", abstained=False) == 0.5
    assert fact_recall(facts, "Patriots; teams meet in RIYADH", abstained=False) == 1.0
    assert fact_recall(facts, "Patriot and Saudi Arabia", abstained=True) == 0.0
    # a figure is found only as a whole figure
    assert fact_recall([["1"]], "the 150th anniversary", abstained=False) == 0.0
    assert fact_recall([["1"]], "only 1 was born that day", abstained=False) == 1.0
    assert fact_recall([["30-day"]], "a 30-day truce", abstained=False) == 1.0
    assert fact_recall([["13"]], "13 stars, then 130", abstained=False) == 1.0
    # a one-word count however it is spelled
    assert fact_recall([["2"]], "two terms [1].", abstained=False) == 1.0
    assert fact_recall([["Four"]], "4 times [1].", abstained=False) == 1.0
    assert fact_recall([["2"]], "twelve terms [1].", abstained=False) == 0.0
    assert fact_recall([["1"]], "one of the riders", abstained=False) == 0.0
    # articles do not count: a title named without its "The" is found
    assert fact_recall([["The Harbour Tales"]], 'a sequel to "Harbour Tales" [1]', abstained=False) == 1.0


def test_citations_all_supported():
    s = citation_scores(
        "The union accepted a 6.5 percent pay rise [1]. About 60 ships waited at sea [2].",
        {1: UNION, 2: SHIPS},
    )
    assert (s.recall, s.precision, s.statements, s.citations) == (1.0, 1.0, 2, 2)


def test_an_answer_of_a_figure_or_an_abbreviation_alone_is_a_statement():
    for answer in ("About 60 [1].", "60 [1].", "U.K. [1]."):
        assert citation_scores(answer, {1: SHIPS}).statements == 1, answer
    s = citation_scores("About 60 ships waited at sea. [1]", {1: SHIPS})
    assert (s.statements, s.recall) == (1, 1.0)  # a marker alone after its sentence belongs to it


def test_statement_without_citation_lowers_recall_only():
    s = citation_scores(
        "The union accepted a 6.5 percent pay rise [1]. About 60 ships waited at sea.", {1: UNION, 2: SHIPS}
    )
    assert (s.recall, s.precision) == (0.5, 1.0)


def test_out_of_range_marker_is_an_imprecise_citation():
    s = citation_scores("The union accepted a 6.5 percent pay rise [1][7].", {1: UNION})
    assert (s.recall, s.precision, s.citations) == (1.0, 0.5, 2)


def test_redundant_citation_is_imprecise():
    s = citation_scores("The union accepted a 6.5 percent pay rise [1][2].", {1: UNION, 2: SHIPS})
    assert (s.recall, s.precision) == (1.0, 0.5)


def test_wrong_citation_scores_zero():
    s = citation_scores("About 60 ships waited at sea [1].", {1: UNION})
    assert (s.recall, s.precision) == (0.0, 0.0)


def test_citation_needed_jointly_counts_as_precise():
    s = citation_scores(
        "The union accepted a 6.5 percent pay rise while 60 ships waited at sea [1, 2].", {1: UNION, 2: SHIPS}
    )
    assert (s.recall, s.precision) == (1.0, 1.0)


def test_retrieval_scores():
    assert retrieval_scores(["a", "b", "a", "c"], ["c"], k=2) == (0.0, pytest.approx(1 / 3))
    assert retrieval_scores(["a", "b", "c"], ["b", "c"], k=2) == (0.5, 0.5)


def test_aggregate_rates():
    def row(kind, abstained, fr=0.0, mode="generated"):
        return {
            "kind": kind,
            "scored": True,
            "abstained": abstained,
            "mode": "abstained" if abstained else mode,
            "scores": {
                "fact_recall": fr,
                "citation_recall": 1.0,
                "citation_precision": 0.5,
                "statements": 1,
                "source_hit": 1.0,
                "recall_at_k": 1.0,
                "mrr": 1.0,
            },
            "timings": {
                "total_s": 1.0,
                "retrieve_s": 0.1,
                "generate_s": 0.5,
                "completion_tokens": 50,
                "load_s": 2.0,
            },
        }

    rows = [
        row("answer", False, 1.0),
        row("answer", True, 0.0),
        row("answer", False, 0.5, "extractive"),
        row("unanswerable", True),
        row("unanswerable", False),
        {"kind": "summary", "scored": False, "abstained": False, "mode": "", "scores": {}, "timings": {}},
    ]
    out = aggregate(rows)
    assert out["fact_recall"] == 0.5 and out["exact"] == pytest.approx(0.3333)
    assert out["abstention_rate"] == 0.5 and out["false_abstention_rate"] == pytest.approx(0.3333)
    assert out["citation_precision"] == 0.5 and out["not_scored"] == 1
    assert out["mode_share"] == {"abstained": 0.4, "extractive": 0.2, "generated": 0.4}
    assert out["tokens_per_s"] == 100.0 and out["total_s_p50"] == 1.0


def test_support_judge_on_labelled_pairs():
    rows = [json.loads(x) for x in (DATA / "judge_pairs.jsonl").read_text().splitlines()]
    assert len(rows) >= 50
    assert sum(r["supported"] for r in rows) >= 20 and sum(not r["supported"] for r in rows) >= 25
    correct = sum(judge(r["sentence"], [r["passage"]]).supported == r["supported"] for r in rows)
    accuracy = correct / len(rows)
    print(f"support judge accuracy: {accuracy:.3f} on {len(rows)} pairs")
    assert accuracy >= 0.9


def test_seed_eval_set_has_the_required_mix():
    items = load_set(ROOT / "eval" / "sets" / "seeds.jsonl")
    categories = Counter(i["category"] for i in items)
    assert len(items) >= 40
    assert categories["unanswerable"] >= 8 and categories["summary"] >= 5
    for needed in ("single-fact", "two-article", "which-call/date", "number", "quote/who-said", "follow-up"):
        assert categories[needed] >= 3, needed
    splits = Counter(i["split"] for i in items)
    assert abs(splits["dev"] - splits["test"]) <= 4
    assert all(i.get("history") for i in items if i["category"] == "follow-up")
    assert all(i.get("scope") for i in items if i["kind"] == "summary")
    seeds = ROOT.parent / "shared" / "corpus" / "seeds"
    ids = {p.stem for p in seeds.glob("*.txt")}
    assert ids, "../shared/corpus/seeds is missing"
    assert all(set(i["sources"]) <= ids for i in items)


def test_fresh_dev_questions_ask_about_articles_no_dev_question_uses_and_their_facts_are_in_them():
    dev = require_shared(SHARED / "corpus" / "realtimeqa-dev")
    used = {s for i in load_set(dev / "questions.jsonl") for s in i["sources"]}
    items = load_set(ROOT / "eval" / "sets" / "dev-fresh.jsonl")
    assert len(items) >= 40 and all(i["kind"] == "answer" and i.get("asked_on") for i in items)
    for item in items:
        [source] = item["sources"]
        assert source not in used, item["id"]
        text = (dev / "corpus" / f"{source}.txt").read_text(encoding="utf-8")
        assert all(any(alias in text for alias in fact) for fact in item["facts"]), item["id"]


def test_malformed_eval_set_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(UserError, match="bad.jsonl:1: missing"):
        load_set(bad)


def test_a_quotation_spanning_sentences_is_one_statement():
    passage = "“We met today. We agreed on the plan,” the mayor said."
    s = citation_scores(f"The articles say: {passage} [1]", {1: passage})
    assert (s.statements, s.recall, s.precision) == (1, 1.0, 1.0)


def test_compare_reports_deltas_and_changed_items(tmp_path):
    from eval.runner import compare, write_rows

    def row(item_id, fr, mode):
        return {
            "id": item_id,
            "kind": "answer",
            "scored": True,
            "abstained": mode == "abstained",
            "mode": mode,
            "scores": {
                "fact_recall": fr,
                "citation_recall": 1.0,
                "citation_precision": 1.0,
                "statements": 1,
                "source_hit": 1.0,
                "recall_at_k": 1.0,
                "mrr": 1.0,
            },
            "timings": {"total_s": 1.0, "retrieve_s": 0.1, "generate_s": 0.5, "completion_tokens": 5},
        }

    write_rows(tmp_path / "a.jsonl", [row("x", 1.0, "generated"), row("y", 0.0, "abstained")])
    write_rows(tmp_path / "b.jsonl", [row("x", 1.0, "generated"), row("y", 1.0, "extractive")])
    result = compare(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    assert result["deltas"]["fact_recall"] == {"a": 0.5, "b": 1.0, "delta": 0.5}
    assert result["deltas"]["false_abstention_rate"]["delta"] == -0.5
    assert [c["id"] for c in result["changed"]] == ["y"]


def _row(kind: str, abstained: bool, recall: float, confidence: float, raw: bool | None = None) -> dict:
    row = {"kind": kind, "scored": True, "abstained": abstained, "confidence": confidence,
           "scores": {"fact_recall": recall}}  # fmt: skip
    if raw is not None:
        row["unfiltered"] = {"abstained": raw, "fact_recall": recall}
    return row


def test_selective_metrics_count_wrong_answers_and_answered_unanswerables():
    from eval.metrics import selective

    rows = [
        _row("answer", False, 1.0, 0.9),  # right
        _row("answer", False, 0.0, 0.6),  # wrong
        _row("answer", True, 0.0, 0.2),  # abstained
        _row("unanswerable", False, 0.0, 0.7),  # answered: wrong
        _row("unanswerable", True, 0.0, 0.1),  # abstained: right
    ]
    got = selective(rows)
    assert got["coverage"] == round(2 / 3, 4)
    assert got["selective_accuracy"] == 0.5
    assert got["wrong_answer_rate"] == 0.4
    assert got["fact_recall"] == round(1 / 3, 4)


def test_risk_coverage_uses_the_answers_kept_before_the_threshold():
    from eval.metrics import risk_coverage

    rows = [
        _row("answer", False, 1.0, 0.9, raw=False),
        _row("answer", True, 1.0, 0.3, raw=False),  # withheld at the threshold in use, right below it
        _row("unanswerable", True, 0.0, 0.4, raw=False),
    ]
    curve = {p["threshold"]: p for p in risk_coverage(rows)}
    assert curve[0.0]["coverage"] == 1.0 and curve[0.0]["wrong_answer_rate"] == round(1 / 3, 4)
    assert curve[0.5]["coverage"] == 0.5 and curve[0.5]["wrong_answer_rate"] == 0.0
    assert curve[0.9]["selective_accuracy"] == 1.0


def test_open_answer_rates_are_smoothed_shares_right_per_mode():
    from eval.calibrate import open_answer_rates

    rows = [{"open": "generated", "right": r} for r in (True, True, True, False)]
    rows += [{"open": "extractive", "right": False}]
    rates = open_answer_rates(rows)
    assert rates["generated"] == {"answers": 4, "right": 3, "probability": round(4 / 6, 4)}
    assert rates["extractive"]["probability"] == round(1 / 3, 4)


def test_refitting_one_reading_kind_keeps_the_other_kinds_and_the_open_rates(tmp_path, monkeypatch):
    import json

    from eval import calibrate

    reader = tmp_path / "reader.json"
    before = {"stages": {"choose": {"model": {"features": [], "weights": [], "bias": 0.5}}, "confidence": {}}}
    reader.write_text(json.dumps({**before, "open": {"generated": 0.7, "extractive": 0.3}}), encoding="utf-8")
    monkeypatch.setattr(calibrate, "READER_FILE", reader)
    rows = [{"question": "q", "open": "generated", "right": False}]
    for q in range(6):
        for n, right in enumerate((True, False, False)):
            strong = float(right) if q % 3 else 1.0 - float(right)  # a little noise for the fit
            row = dict.fromkeys(calibrate.RULE_FEATURES + calibrate.MODEL_FEATURES, 0.1 * n)
            rows.append({"question": f"q{q}", "text": str(n), "right": right, "reading": "passages",
                         **row, "rule_confidence": strong})  # fmt: skip
    features = tmp_path / "features.jsonl"
    features.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert calibrate.fit([features], write=True, only=["passages"]) == 0
    data = json.loads(reader.read_text(encoding="utf-8"))
    assert data["open"] == {"generated": 0.7, "extractive": 0.3}  # one reader's open answers are not all
    assert data["stages"]["choose"]["model"] == before["stages"]["choose"]["model"]
    assert data["stages"]["choose"]["passages"]["features"] == list(
        calibrate.RULE_FEATURES + calibrate.MODEL_FEATURES
    )
