"""Relative time in questions, resolved against an as-of date (invented questions)."""

from __future__ import annotations

from datetime import date

import pytest

from rag.timewindow import resolve

SUNDAY = date(2031, 3, 16)  # a Sunday
MONDAY = date(2031, 3, 17)


@pytest.mark.parametrize(
    "question, as_of, since, until",
    [
        ("What did the harbour board decide today?", MONDAY, "2031-03-17", "2031-03-17"),
        ("Which road closed yesterday?", MONDAY, "2031-03-16", "2031-03-17"),
        ("What did the council approve this week?", SUNDAY, "2031-03-10", "2031-03-16"),
        ("What did the council approve this week?", MONDAY, "2031-03-17", "2031-03-17"),
        ("Which bakery won a prize last week?", SUNDAY, "2031-03-03", "2031-03-09"),
        ("Which bakery won a prize last week?", MONDAY, "2031-03-10", "2031-03-16"),
        ("Who resigned on Tuesday?", MONDAY, "2031-03-11", "2031-03-17"),
        ("Who won the race last Sunday?", SUNDAY, "2031-03-16", "2031-03-16"),
        ("Who won the race last Sunday?", MONDAY, "2031-03-16", "2031-03-17"),
        ("How much did the ferry fares rise this month?", MONDAY, "2031-03-01", "2031-03-17"),
        ("How much did the ferry fares rise last month?", MONDAY, "2031-02-01", "2031-02-28"),
        ("How many visitors came this year?", MONDAY, "2031-01-01", "2031-03-17"),
        ("Which mayor took office in January?", MONDAY, "2031-01-01", "2031-01-31"),
        ("Which mayor took office in October?", MONDAY, "2030-10-01", "2030-10-31"),
        ("What has the quay board built since January?", MONDAY, "2031-01-01", "2031-03-17"),
    ],
)
def test_relative_expressions_become_windows(question, as_of, since, until):
    window = resolve(question, as_of)
    assert window is not None and not window.soft, question
    assert (window.since.isoformat(), window.until.isoformat()) == (since, until)  # type: ignore[union-attr]


def test_recently_is_a_soft_window_of_a_few_weeks():
    window = resolve("Which town recently opened a new library?", MONDAY)
    assert window is not None and window.soft and window.until == MONDAY
    assert 14 <= (MONDAY - window.since).days <= 42  # type: ignore[operator]


@pytest.mark.parametrize(
    "question",
    ["Who won the 2029 final?", "What happened on 3 May 2030?", "Which country hosts the games in 2032?",
     "Which bakery won the bread prize?", "Who chaired the March meeting?",
     "What did the Tuesday vote decide?"],
)  # fmt: skip
def test_explicit_dates_and_plain_questions_are_not_windows(question):
    assert resolve(question, MONDAY) is None


def test_a_window_holds_dated_articles_inside_it_and_never_undated_ones():
    window = resolve("Who resigned this week?", SUNDAY)
    assert window is not None
    assert window.holds("2031-03-12") and not window.holds("2031-03-09") and not window.holds(None)
    assert window.to_json() == {
        "since": "2031-03-10",
        "until": "2031-03-16",
        "from": "this week",
        "soft": False,
    }


# -- answers as of a date, over a recurring story (real Chroma, hashing embedder, scripted model) ----------
WEEKS = {
    "ferry-w1": ("2031-03-04", "1,200"),
    "ferry-w2": ("2031-03-11", "1,450"),
    "ferry-w4": ("2031-03-25", "1,900"),  # after the as-of dates below: never used
}


@pytest.fixture
def ferry_index(tmp_path):
    from index.embedder import HashingEmbedder
    from index.ingest import ingest
    from index.store import ChromaStore

    folder = tmp_path / "news"
    folder.mkdir()
    for name, (day, figure) in WEEKS.items():
        (folder / f"{name}.txt").write_text(
            f"Island ferry weekly count\nPublished {day}\n\n"
            f"The island ferry carried {figure} passengers this week, the harbour office said on Tuesday.\n"
        )
    (folder / "undated.txt").write_text(
        "Island ferry notes\n\nThe island ferry carried 700 passengers in a week once, in an old record.\n"
    )
    embedder = HashingEmbedder(dimension=256)
    store = ChromaStore(tmp_path / "idx", embedder.name, embedder.dimension, create=True)
    ingest([folder], store, embedder, chunk_tokens=60, chunk_overlap=10, max_file_mb=1, lock_timeout_s=1)
    return store, embedder


def ask_as_of(ferry_index, question: str, as_of: date):  # type: ignore[no-untyped-def]
    from rag.answer import Answerer, AnswerOptions
    from rag.retrieve import Retriever
    from tests.fakes import ScriptedChatModel

    store, embedder = ferry_index
    bot = Answerer(Retriever(store, embedder), ScriptedChatModel())
    return bot.ask(question, AnswerOptions(answer_threshold=0.0, as_of=as_of))


def test_this_week_is_answered_from_that_week_only(ferry_index):
    result = ask_as_of(
        ferry_index, "How many passengers did the island ferry carry this week?", date(2031, 3, 13)
    )
    assert result.time_window == {
        "since": "2031-03-10",
        "until": "2031-03-13",
        "from": "this week",
        "soft": False,
    }
    assert {c.doc_id for c in result.citations} <= {"ferry-w2"} and "1,450" in result.answer
    last = ask_as_of(
        ferry_index, "How many passengers did the island ferry carry last week?", date(2031, 3, 13)
    )
    assert {c.doc_id for c in last.citations} <= {"ferry-w1"} and "1,200" in last.answer


def test_a_week_without_articles_abstains_and_names_the_window(ferry_index):
    result = ask_as_of(
        ferry_index, "How many passengers did the island ferry carry this week?", date(2031, 3, 20)
    )
    assert result.abstained and "this week" in result.answer and "2031-03-17 to 2031-03-20" in result.answer
    assert all(c.doc_id != "ferry-w4" for c in result.closest)  # dated after the as-of date


def test_without_a_window_later_articles_are_unused_and_undated_ones_are(ferry_index):
    result = ask_as_of(ferry_index, "How many passengers did the island ferry carry?", date(2031, 3, 12))
    cited = {c.doc_id for c in result.citations} | {c.doc_id for c in result.closest}
    assert "ferry-w4" not in cited
    assert result.time_window is None


def test_a_bare_month_is_the_latest_one_the_articles_cover():
    dated = ["2029-03-02", "2030-03-14", "2030-11-01"]
    window = resolve("Which mayor took office in March?", MONDAY, dated)
    assert window is not None and (window.since, window.until) == (date(2030, 3, 1), date(2030, 3, 31))
    assert resolve("Which mayor took office in March?", MONDAY, ["2030-11-01"]).since == date(2031, 3, 1)  # type: ignore[union-attr]
