"""CI's version of `make scale`: 1,000 generated articles, ingest interrupted and resumed, retrieval
and a 20-article summary checked at that size. (`make scale` runs 20,000 and 200.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.synth import article, write_corpus

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_generated_articles_are_deterministic_and_distinct(tmp_path):
    assert article(7).text == article(7).text
    facts = {(a.question, a.answer) for a in (article(i) for i in range(500))}
    assert len({q for q, _ in facts}) == 500, "every article's question is its own"
    folder = write_corpus(tmp_path / "c", 30, paragraphs=3)
    assert len(list(folder.glob("*.txt"))) == 30
    rows = (tmp_path / "c.questions.jsonl").read_text().splitlines()
    first = json.loads(rows[0])
    assert first["answer"] in (folder / f"{first['doc_id']}.txt").read_text()


def test_thousand_articles_ingest_resume_retrieve_and_summarize(tmp_path):
    out = tmp_path / "scale.json"
    cmd = [sys.executable, "-m", "eval.scale", "--articles", "1000", "--paragraphs", "3"]
    cmd += ["--work", str(tmp_path), "--interrupt-after", "45", "--questions", "100", "--summarize", "20"]
    result = subprocess.run([*cmd, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    print(json.dumps({k: v for k, v in report.items() if k != "summary"}, indent=1))
    first, resumed = report["ingest"]["first"], report["ingest"]["resumed"]
    assert first["interrupted"] and first["exit"] == 130, "Ctrl-C ends ingest with 130"
    assert 0 < first["documents_kept"] < 1000, "finished documents survive the interruption"
    assert resumed["exit"] == 0
    assert resumed["unchanged"] == first["documents_kept"], "resume redoes nothing already stored"
    assert resumed["unchanged"] + resumed["indexed"] == 1000
    assert report["index"]["documents"] == 1000
    assert report["index"]["rows_match_manifest"] and report["index"]["consistent"], "no duplicates, no drift"
    assert max(first["peak_rss_mb"], resumed["peak_rss_mb"]) < 1500, "memory stays bounded"
    assert report["retrieval"]["fact_found_at_6"] >= 0.9, report["retrieval"]
    summary = report["summary"]
    assert summary["every_sentence_cited"]
    assert summary["citations"] and summary["citations_valid"] == summary["citations"]
