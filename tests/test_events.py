"""Event grouping and dating, pinned down with invented articles (no models: spaCy only)."""

from __future__ import annotations

from datetime import date

import pytest

from index.store import DocRecord
from rag import events as ev
from rag.retrieve import Evidence

STORM = [
    "A winter storm flooded the harbour road in Kelby on Sunday and tore the roof off the fish market.",
    "Harbour master Oda Brandt said the storm surge reached two metres above the quay wall.",
    "The fish market roof landed on three parked boats, and the harbour road stayed closed overnight.",
    "Volunteers filled sandbags at the fish market while the storm surge rose along the quay wall.",
]
TRAM = [
    "The new tram line to Kelby university opened to passengers on Monday after two years of works.",
    "The tram line has eleven stops and runs every eight minutes at rush hour.",
    "Students said the tram line cut their trip to the university campus to fifteen minutes.",
]


def evidence(doc: str, i: int, text: str, iso: str | None) -> Evidence:
    return Evidence(f"{doc}:{i}", doc, "c", doc, iso, None, i * 200, i * 200 + len(text), text, 0.0)


def article(doc: str, texts: list[str], iso: str | None, source: str | None = "published_line") -> ev.Article:
    record = DocRecord(doc, "h", f"{doc} headline", iso, "txt", doc, 1, len(texts), 100, 0.0, [],
                       "heading", source if iso else None)  # fmt: skip
    return ev.make_article(record, [evidence(doc, i, t, iso) for i, t in enumerate(texts)])


@pytest.mark.parametrize(
    ("phrase", "anchor", "expected"),
    [
        ("Sunday", date(2026, 3, 4), (date(2026, 3, 1), "day")),  # the Sunday before a Wednesday
        ("yesterday", date(2026, 3, 4), (date(2026, 3, 3), "day")),
        ("March 2", date(2026, 3, 4), (date(2026, 3, 2), "day")),
        ("December 30", date(2026, 1, 2), (date(2025, 12, 30), "day")),  # a year back, not ahead
        ("March", date(2026, 2, 1), (date(2025, 3, 1), "month")),
        ("Oct. 3, 2019", None, (date(2019, 10, 3), "day")),
    ],
)
def test_a_date_an_article_gives_is_read_against_its_own_date(phrase, anchor, expected):
    when = ev.read_date(phrase, anchor, None)
    assert when is not None and (when.day, when.precision) == expected


@pytest.mark.parametrize("phrase", ["last month", "this year", "2019", "next Friday", "the 1990s"])
def test_spans_and_bare_years_are_context_not_the_events_date(phrase):
    assert ev.read_date(phrase, date(2026, 3, 4), None) is None


def test_an_undated_article_reads_a_month_against_the_sets_latest_date():
    when = ev.read_date("in November", None, date(2026, 2, 10))
    assert when is not None and (when.day, when.precision) == (date(2025, 11, 1), "month")
    assert when.spelled() == "November 2025"


def test_outlets_of_one_event_group_together_and_events_come_in_time_order():
    storm = STORM[:2] + ["The harbour road was closed after the storm surge flooded it."]
    articles = [
        article("tram-a", TRAM, "2026-03-10"),
        article("storm-a", STORM, "2026-03-02"),
        article("storm-b", storm, "2026-03-02"),
        article("tram-b", TRAM[::-1], "2026-03-09"),
    ]
    groups = ev.group_articles(articles)
    assert [sorted(g.doc_ids) for g in groups] == [["storm-a", "storm-b"], ["tram-a", "tram-b"]]
    storm_date, tram_date = (g.date for g in groups)
    assert storm_date is not None and storm_date.day == date(2026, 3, 1)  # "on Sunday"
    assert tram_date is not None and tram_date.day == date(2026, 3, 9)  # "on Monday"
    assert not any(g.misdated for g in groups)


def test_an_article_dated_only_by_its_lead_that_describes_another_weeks_event_is_misdated():
    articles = [
        article("storm-a", STORM, "2026-03-02"),
        article("storm-b", STORM[1:] + STORM[:1], "2026-03-02"),
        article("storm-late", STORM, "2026-04-20", source="lead"),
    ]
    (group,) = ev.group_articles(articles)
    assert [a.doc_id for a in group.misdated] == ["storm-late"]
    assert group.date is not None and group.date.day == date(2026, 3, 1)


def test_two_declared_dates_weeks_apart_are_two_happenings_of_a_story_not_a_conflict():
    follow_up = [
        "Repairs to the fish market roof began on Monday, weeks after the winter storm.",
        "Harbour master Oda Brandt said the quay wall will be raised by half a metre.",
        "The town council set aside four million euros for the works, which should end in June.",
        "Traders will sell from tents in the car park until the new roof is finished.",
    ]
    articles = [article("storm-a", STORM, "2026-03-02"), article("repairs", follow_up, "2026-03-24")]
    groups = ev.group_articles(articles)
    assert len(groups) == 2 and not any(g.misdated for g in groups)


def test_sentences_of_a_roundup_that_report_another_event_move_to_it():
    group_a = ev.EventGroup([article("a", STORM, "2026-03-02")])
    group_b = ev.EventGroup([article("b", TRAM, "2026-03-09")])
    storm, tram, roundup_tram = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.1, 0.99, 0.0]
    owners = ev.assign_sentences(
        [group_a, group_b], [("a", storm), ("a", storm), ("a", roundup_tram), ("b", tram), ("b", None)]
    )
    assert owners == [0, 0, 1, 1, 1]


def test_budgets_are_per_event_by_default_and_shared_by_weight_when_given():
    assert ev.budgets([3, 1], None) == [6, 4]
    assert ev.budgets([3, 1], 6) == [4, 2]
    assert ev.budgets([1, 3, 2], 2) == [0, 1, 1]  # too few for all: the most reported events
    assert sum(ev.budgets([1] * 12, None)) == ev.DEFAULT_MAX_SENTENCES
