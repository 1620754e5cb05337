"""Topic summaries of real news as timelines: events dated and in time order, every sentence cited.

Three stories of the dev corpus that several articles report on different days and years; only
their articles are ingested (by headline), so the test stays a few minutes on two cores.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import SHARED, rag, require_shared

DEV_CORPUS = SHARED / "corpus" / "realtimeqa-dev" / "corpus"
TOPICS = {
    "government shutdown": "shutdown",
    "Nancy Guthrie missing": "guthrie",
    "Winter Olympics opening ceremony": "opening ceremony",
}


@pytest.fixture(scope="module")
def topic_index(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("stories")
    for path in sorted(require_shared(DEV_CORPUS).glob("*.txt")):
        headline = path.read_text(encoding="utf-8").split("\n", 1)[0].lower()
        if any(word in headline for word in TOPICS.values()):
            shutil.copy(path, folder / path.name)
    index = tmp_path_factory.mktemp("idx")
    result = rag("ingest", str(folder), "--index", str(index), "--quiet", timeout=900)
    assert result.returncode == 0, result.stderr
    return folder, index


@pytest.mark.parametrize("topic", list(TOPICS))
def test_a_topic_summary_of_real_news_is_a_dated_timeline_of_cited_events(topic_index, topic):
    folder, index = topic_index
    result = rag("summarize", "--topic", topic, "--index", str(index), "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    events = data["events"]
    assert len(events) >= 2, data["summary"]
    days = [date.fromisoformat(e["date"]) for e in events]  # every event dated, ISO
    assert days == sorted(days)
    for event in events:
        assert event["heading"].strip() and event["sentences"] and event["documents"]
        assert event["date_precision"] in ("day", "month")
        assert set(event["documents"]) <= set(data["documents"])
    assert [s for e in events for s in e["sentences"]] == [
        s for s in data["sentences"] if s["mode"] != "note"
    ]
    for sentence in data["sentences"]:
        assert sentence["citations"], sentence
        for c in sentence["citations"]:
            text = (folder / f"{c['doc_id']}.txt").read_text(encoding="utf-8")
            assert text[c["start"] : c["end"]] == c["text"]
    # Different days of a developing story are events of their own, not conflicting reports.
    assert not [n for n in data["conflicts"] if n["kind"] == "date"], data["conflicts"]
    headings = [e["heading"] for e in events]
    assert all(h in data["summary"] for h in headings)


def test_a_library_summary_cites_or_lists_every_article_in_sentences_not_stamps(topic_index):
    """More events than the summary's length: the rest are listed one line each under "Also
    reported", and an article neither cited nor listed is named in `omitted` with its reason."""
    folder, index = topic_index
    result = rag("summarize", "--all", "--index", str(index), "--json", timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    cited = {c["doc_id"] for s in data["sentences"] for c in s["citations"]}
    listed = {a["citation"]["doc_id"] for a in data["also_reported"]}
    omitted = {o["doc_id"]: o["reason"] for o in data["omitted"]}
    assert set(data["documents"]) == cited | listed | set(omitted)
    assert all(reason.strip() for reason in omitted.values())
    if data["also_reported"]:
        assert "Also reported" in data["summary"]
    for line in data["also_reported"]:
        c = line["citation"]
        text = (folder / f"{c['doc_id']}.txt").read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["text"]
        assert line["text"].endswith(f"[{c['n']}]") and line["heading"] in line["text"]
    months = {"january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december"}  # fmt: skip
    for sentence in data["sentences"]:
        if sentence["mode"] == "note":
            continue
        words = [w for w in re.findall(r"[A-Za-z]{2,}", sentence["text"]) if w.lower() not in months]
        assert len(sentence["text"].split()) >= 4 and len(words) >= 3, sentence["text"]


def test_a_timeline_streams_each_event_as_it_is_written(topic_index):
    """Each event's block reaches the caller while the rest is still being written, numbered and
    laid out exactly as in the finished summary."""
    from rag.factory import App
    from rag.settings import load_settings
    from rag.summarize import Event, render_event

    _, index = topic_index
    app = App(load_settings(index=index))
    try:
        summarizer = app.summarizer
        docs = summarizer.select_documents(None, False, "government shutdown", None, None)
        blocks: list[str] = []

        def on_event(event: Event) -> None:
            blocks.append(render_event(event, "text"))

        summary = summarizer.summarize(docs, topic="government shutdown", on_event=on_event, use_cache=False)
    finally:
        app.close()
    assert len(blocks) == len(summary.events) >= 2
    assert summary.summary.startswith("\n\n".join(blocks))
    for block, event in zip(blocks, summary.events, strict=True):
        assert event.heading in block and event.text in block
