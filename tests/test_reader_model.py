"""The chat model as a reader, with the real default model: replies scored, generation unharmed."""

from __future__ import annotations

import math

import pytest

from rag.prompts import draft_messages
from rag.read import reading_messages
from rag.retrieve import Evidence

pytestmark = pytest.mark.slow


def _evidence(text: str) -> Evidence:
    return Evidence("s0", "doc", "doc#0", "Sailing final moves", None, None, 0, len(text), text, 1.0)


def _reading(app, question: str, sentence: str) -> list[dict[str, str]]:
    prompt = draft_messages(question, [_evidence(sentence)])
    draft = app.chat.complete(prompt, max_tokens=40, temperature=0.0).text
    return reading_messages(prompt, draft)


def test_the_model_scores_a_name_of_the_evidence_above_one_it_never_read(app):
    sentence = "The sailing club said Portmore will host the regional final in 2031, after Lindby withdrew."
    messages = _reading(app, "Which town will host the 2031 regional final?", sentence)
    scores = app.chat.score(messages, ["Portmore", "Quexford", "Not stated"])
    totals = [scores.total(i) for i in range(3)]
    assert all(-math.inf < x < 0 for x in totals)
    assert totals[0] > totals[1]
    tokens = app.chat.load().tokenize
    assert [len(x) for x in scores.logprobs[:2]] == [
        len(tokens(b"Portmore", add_bos=False)) + 1,  # one entry per token, then the end of the reply
        len(tokens(b"Quexford", add_bos=False)) + 1,
    ]


def test_a_reply_cut_short_loses_to_the_whole_name(app):
    messages = _reading(
        app, "Who led the night shift?", "Nurse Alma Ruiz led the night shift at the hospital."
    )
    scores = app.chat.score(messages, ["Alma Ruiz", "Alma"])
    assert scores.total(0) > scores.total(1)


def test_scores_survive_generation_in_between(app):
    """Scoring leaves the context consistent: the same replies score the same after the model has
    generated for another prompt (the reading prompt's state comes back from the prompt cache)."""
    messages = _reading(app, "Who led the night shift?", "Nurse Alma Ruiz led the shift.")
    first = app.chat.score(messages, ["Alma Ruiz", "the shift"]).logprobs
    app.chat.complete([{"role": "user", "content": "Name one colour."}], max_tokens=12, temperature=0.0)
    again = app.chat.score(messages, ["Alma Ruiz", "the shift"]).logprobs
    alone = app.chat.score(messages, ["the shift"]).logprobs[0]  # each reply reads the prompt alone
    assert all(abs(a - b) < 1e-3 for a, b in zip(alone, first[1], strict=True))
    assert [len(x) for x in first] == [len(x) for x in again]
    assert all(
        abs(a - b) < 1e-3 for xs, ys in zip(first, again, strict=True) for a, b in zip(xs, ys, strict=True)
    )


def test_the_default_model_reads_sentences_and_a_passage_reading_runs_end_to_end(app, seeds_index):
    """The 135M model is below the passage readers' size, so 'auto' gives it sentences; told to read
    passages, it reads the seeds' chunks through the real model and index and answers or abstains
    with citations of evidence sentences (never of text it was not shown)."""
    from index.store import ChromaStore
    from rag.answer import Answerer, AnswerOptions
    from rag.read import PASSAGE_READER_PARAMS, Reader
    from rag.retrieve import Retriever

    assert 100_000_000 < app.chat.parameters() < PASSAGE_READER_PARAMS
    assert not Reader(app.chat, passages=lambda found, n: ["text"]).reads_passages()
    store = ChromaStore(seeds_index, app.embedder.name, app.embedder.dimension)
    bot = Answerer(Retriever(store, app.embedder), app.chat, reading="passages")
    assert bot.reader.reads_passages()
    answer = bot.ask("How long did the July call last?", AnswerOptions(answer_threshold=0.0))
    assert answer.mode in ("span", "abstained")
    for citation in answer.citations:
        text = store.document_text(citation.doc_id)
        assert text[citation.start : citation.end] == citation.text
