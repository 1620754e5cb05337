"""Summary selection and rewriting rules, pinned down with made-up sentences and a scripted model."""

from __future__ import annotations

import zlib

import numpy as np

from rag.retrieve import Evidence
from rag.summarize import Summarizer, TermStats, _Pick, candidates, must_keep, select
from tests.fakes import ScriptedChatModel

ARTICLE = [
    "The mayor of Northfield said the harbor bridge will reopen next spring after repairs.",
    "The mayor of Northfield said the harbor bridge repairs are going well and the bridge will reopen.",
    "The council approved 12 million dollars for the harbor bridge, the mayor of Northfield said.",
    "Ferry captain Ines Albrecht said her boats carried 3,000 extra passengers while the bridge was closed.",
    "He said the bridge mattered.",
    "Harbor Bridge Repairs",
]


def vector(text: str) -> list[float]:
    """A bag-of-words vector: similar wording, similar vector (enough for these rules)."""
    v = np.zeros(256, dtype=np.float32)
    for word in text.lower().split():
        v[zlib.crc32(word.strip(".,").encode()) % 256] += 1.0
    return list(v / (np.linalg.norm(v) or 1.0))


def evidence(text: str, doc: str = "d1", start: int = 0) -> Evidence:
    return Evidence(
        sentence_id=f"{doc}:{start}",
        doc_id=doc,
        chunk_id="c",
        title="Northfield news",
        date=None,
        page=None,
        start=start,
        end=start + len(text),
        text=text,
        score=0.0,
        vector=vector(text),
    )


def article(doc: str = "d1") -> list[Evidence]:
    return [evidence(text, doc, i * 200) for i, text in enumerate(ARTICLE)]


def stats_for(pool) -> TermStats:
    stats = TermStats()
    stats.add_article([c.concepts for c in pool])
    return stats


def test_candidates_skip_headlines_and_fragments_but_keep_short_figures():
    texts = [c.evidence.text for c in candidates(article())]
    assert "Harbor Bridge Repairs" not in texts
    assert "He said the bridge mattered." not in texts
    short = candidates([evidence("The bridge closed for 40 days.")])
    assert [c.evidence.text for c in short] == ["The bridge closed for 40 days."]


def test_greedy_coverage_prefers_distinct_facts_over_restating_the_theme():
    pool = candidates(article())
    picks = select(pool, stats_for(pool), 3)
    texts = [p.evidence.text for p in picks]
    # Two sentences say almost the same thing; a three-sentence summary does not spend two lines on it.
    assert not (ARTICLE[0] in texts and ARTICLE[1] in texts)
    assert ARTICLE[2] in texts and ARTICLE[3] in texts  # the figures: 12 million, 3,000 passengers


def test_terms_everyone_repeats_weigh_less_than_specific_ones():
    pool = candidates(article())
    stats = stats_for(pool)
    assert stats.weight("albrecht") > stats.weight("bridg")


def test_same_event_from_another_outlet_joins_the_pick():
    first, second = article("d1"), article("d2")
    pool = candidates(first) + candidates(second)
    stats = TermStats()
    stats.add_article([c.concepts for c in candidates(first)])
    stats.add_article([c.concepts for c in candidates(second)])
    picks = select(pool, stats, 2)
    assert {m.doc_id for m in picks[0].members} == {"d1", "d2"}


def test_must_keep_names_the_rare_name_and_the_figure_not_the_title():
    pool = candidates(article())
    keep = must_keep(ARTICLE[3], stats_for(pool))
    assert "Albrecht" in keep and "3,000" in keep and "000" not in keep
    assert "Ines" not in keep  # a first name: the surname carries it


def _summarizer(*drafts: str) -> Summarizer:
    return Summarizer(store=None, retriever=None, chat=ScriptedChatModel(*drafts))  # type: ignore[arg-type]


def test_rewrite_that_drops_a_must_keep_figure_falls_back_to_the_source():
    source = evidence(ARTICLE[3])
    stats = stats_for(candidates(article()))
    lost = "A ferry captain said her boats carried extra passengers during the closure."
    result = _summarizer(lost, lost)._write(_Pick(source, 1.0, [source]), stats)
    assert result.mode == "extractive" and result.text == ARTICLE[3]


def test_faithful_shorter_rewrite_is_kept_and_cited():
    source = evidence(ARTICLE[3])
    stats = stats_for(candidates(article()))
    good = "Ines Albrecht said her boats carried 3,000 extra passengers."
    chat = ScriptedChatModel(good)
    result = Summarizer(store=None, retriever=None, chat=chat)._write(_Pick(source, 1.0, [source]), stats)  # type: ignore[arg-type]
    assert result.mode == "generated" and result.text == good
    assert [c.doc_id for c in result.citations] == ["d1"]
    # The model was shown the words it must keep, after two worked examples.
    assert "It must contain:" in chat.prompts[0][-1]["content"] and len(chat.prompts[0]) == 5


def test_by_default_one_model_call_per_sentence_then_the_source_is_quoted():
    source = evidence(ARTICLE[3])
    stats = stats_for(candidates(article()))
    chat = ScriptedChatModel(ARTICLE[3], "Ines Albrecht said her boats carried 3,000 extra passengers.")
    result = Summarizer(store=None, retriever=None, chat=chat)._write(_Pick(source, 1.0, [source]), stats)  # type: ignore[arg-type]
    assert result.mode == "extractive" and result.text == ARTICLE[3]
    assert len(chat.prompts) == 1 and len(chat.prompts[0]) == 5  # the worked-examples phrasing only


def test_with_more_rewrites_allowed_a_copy_is_retried_other_ways_then_quoted():
    source = evidence(ARTICLE[3])
    stats = stats_for(candidates(article()))
    copies = (ARTICLE[3], ARTICLE[3], ARTICLE[3].upper(), ARTICLE[3] + " Really.", ARTICLE[3])
    chat = ScriptedChatModel(*copies)
    summarizer = Summarizer(store=None, retriever=None, chat=chat, rewrites=5)  # type: ignore[arg-type]
    result = summarizer._write(_Pick(source, 1.0, [source]), stats)
    assert result.mode == "extractive" and result.text == ARTICLE[3]
    first, drop, own_words, budget, plain = chat.prompts
    assert len(first) == 5 and "of at most" not in first[-1]["content"]
    assert len(drop) == 5 and "Delete the less important words" in drop[-1]["content"]
    assert "in your own words" in own_words[-1]["content"]
    assert len(budget) == 5 and "of at most" in budget[-1]["content"]
    assert len(plain) == 1  # no worked examples the last time


def test_a_reworded_sentence_of_about_the_same_length_counts_as_the_models():
    from rag.summarize import _rewritten

    source = "The council approved 12 million dollars for the harbor bridge, the mayor of Northfield said."
    assert not _rewritten(source, source)
    assert not _rewritten(source + " It was late.", source)  # a clause added is not a rewrite
    assert _rewritten(
        "Northfield's mayor said the council had approved 12 million dollars for the bridge.", source
    )


def test_a_misdated_report_gets_one_plain_note_naming_it_with_both_dates_and_citations():
    from datetime import date

    from rag import events as ev
    from rag.summarize import Event, SummarySentence, _Candidate, _date_note, _number

    def report(doc: str, iso: str, source: str, text: str) -> ev.Article:
        said = evidence(text, doc)
        article = ev.Article(doc, doc, "heading", date.fromisoformat(iso), source, [said])
        article.said_in = said  # the sentence its date is read from
        return article

    gazette = report("harbour-gazette", "2026-05-03", "lead", "On May 3, 2026, the storm flooded the quay.")
    post = report("coast-post", "2026-04-26", "metadata", "The storm flooded the quay on Sunday.")
    group = ev.EventGroup([gazette, post])
    ev.date_event(group)
    assert [a.doc_id for a in group.misdated] == ["harbour-gazette"]
    note = _date_note(group, gazette, [_Candidate(e, set(), set(), 0.0) for e in gazette.sentences])
    assert note is not None and note.documents == ["harbour-gazette", "coast-post"]
    line = SummarySentence("The storm flooded the quay.", [], "extractive")
    event = Event("2026-04-26", "day", "Storm", [line], ["coast-post"], [note])
    _number(event, {})
    assert note.text == (
        "`harbour-gazette` is dated May 3, 2026, but describes the events that `coast-post` dates "
        "April 26, 2026 [1][2]."
    )
    assert [c.doc_id for c in note.citations] == ["harbour-gazette", "coast-post"]
    assert {s.value for s in note.sides} == {"2026-05-03", "2026-04-26"}


def test_a_dateline_or_timestamp_is_no_summary_sentence_however_many_figures_it_holds():
    from rag.summarize import _plain_words

    assert _plain_words("March 9, 2031: March 10, 2031, 6:45 p.m.") == []
    assert len(_plain_words("The regatta drew 4,000 visitors on Sunday.")) >= 4
    stamp = evidence("Updated Tuesday, June 3, 2031 at 9:12 am GMT, 4 min read", start=999)
    texts = [c.evidence.text for c in candidates([*article(), stamp])]
    assert stamp.text not in texts and ARTICLE[3] in texts


def test_events_left_without_sentences_are_listed_one_line_each():
    from rag.records import Citation
    from rag.summarize import AlsoReported, render_summary

    source = evidence(ARTICLE[3])
    line = AlsoReported("2031-05-02", "day", "Ferry numbers up", ["d1"], Citation.from_evidence(3, source))
    line.text = "May 2, 2031 — Ferry numbers up [3]"
    out = render_summary([], "text", [line])
    assert out.endswith("Also reported:\n- May 2, 2031 — Ferry numbers up [3]")
    assert "**Also reported**" in render_summary([], "md", [line])


def test_a_sentence_two_outlets_print_word_for_word_is_reported_once():
    from rag.summarize import _said_once

    said: set[str] = set()
    assert _said_once("Ferry fares rise on Monday, the board said.", said)
    assert not _said_once("Ferry fares rise on Monday — the board said!", said)  # the same words
    assert _said_once("Ferry fares fall on Monday, the board said.", said)
