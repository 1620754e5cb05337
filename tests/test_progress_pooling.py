"""Progress lines for logs, and chunk vectors pooled from one embedding pass over the sentences."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from index.chunking import Chunk, Sentence
from index.embedder import HashingEmbedder, ReusingEmbedder
from index.ingest import HEADLINE_SHARE, _headline_vector, pooled_chunk_vectors
from index.loaders import Document
from index.progress import Progress, duration, line

LINE = re.compile(r"^\d+/\d+ files, \d+\.\d files/s(, ~[\dhms]+ left)?$")


def test_a_progress_line_says_done_total_rate_and_time_left():
    assert line(312, 731, "files", 76.0) == "312/731 files, 4.1 files/s, ~1m42s left"
    assert line(731, 731, "files", 100.0) == "731/731 files, 7.3 files/s"
    assert (duration(5), duration(102), duration(3700)) == ("5s", "1m42s", "1h01m")


def test_lines_come_every_n_items_and_at_the_end_never_in_quiet_mode():
    written: list[str] = []
    progress = Progress(250, "files", "lines", written.append, every_s=3600, every_n=100)
    for _ in range(250):
        progress.advance()
    progress.close()
    assert [w.split(",")[0] for w in written] == ["100/250 files", "200/250 files", "250/250 files"]
    assert all(LINE.match(w) for w in written)
    quiet: list[str] = []
    silent = Progress(250, "files", "off", quiet.append, every_s=0, every_n=1)
    for _ in range(250):
        silent.advance()
    silent.close()
    assert quiet == []


def test_lines_also_come_by_time(monkeypatch):
    clock = iter(float(t) for t in range(0, 1000, 4))
    monkeypatch.setattr("index.progress.time.monotonic", lambda: next(clock))
    written: list[str] = []
    progress = Progress(10, "files", "lines", written.append, every_s=10, every_n=100)
    for _ in range(6):
        progress.advance()
    assert len(written) == 2 and written[0].startswith("3/10 files")


def _sentence(text: str, start: int) -> Sentence:
    return Sentence(start, start + len(text), text)


def test_a_chunk_vector_is_the_length_weighted_mean_of_its_sentences():
    embedder = ReusingEmbedder(HashingEmbedder())
    a = _sentence("The ferry left the harbour at dawn.", 0)
    b = _sentence("Gulls followed the boat for an hour while the wind rose.", 36)
    c = _sentence("Nobody was hurt.", 93)
    sentences = [a, b, c]
    vectors = embedder.embed([s.text for s in sentences])
    chunks = [
        Chunk("d#0", "d", 0, 0, b.end, "", [a, b], None, []),
        Chunk("d#1", "d", 1, b.start + 20, c.end, "", [b, c], None, []),  # overlap: part of b
    ]
    pooled = pooled_chunk_vectors(chunks, sentences, vectors, embedder)
    m = np.asarray(vectors)
    first = (len(a.text) * m[0] + len(b.text) * m[1]) / (len(a.text) + len(b.text))
    second = ((b.end - chunks[1].start) * m[1] + len(c.text) * m[2]) / (b.end - chunks[1].start + len(c.text))
    for got, want in zip(pooled, [first, second], strict=True):
        assert np.allclose(got, want / np.linalg.norm(want))
    assert embedder.tokens_embedded == sum(HashingEmbedder().count_tokens(s.text) for s in sentences)


def test_a_chunk_without_sentences_is_embedded_itself():
    embedder = ReusingEmbedder(HashingEmbedder())
    chunk = Chunk("d#0", "d", 0, 0, 20, "Storm warning issued", [], None, [])
    [vector] = pooled_chunk_vectors([chunk], [], [], embedder)
    assert np.allclose(vector, HashingEmbedder().embed(["Storm warning issued"])[0])


def _document(text: str, title: str, title_source: str) -> Document:
    return Document("d", Path("d.txt"), text, title, None, "text", "h", title_source=title_source)


def test_a_chunk_vector_takes_its_share_from_the_article_headline():
    embedder = ReusingEmbedder(HashingEmbedder())
    headline = _sentence("Lantern festival returns to Quayside", 0)
    body = _sentence("It drew crowds until midnight, organisers said.", 38)
    sentences = [headline, body]
    vectors = embedder.embed([s.text for s in sentences])
    doc = _document(f"{headline.text}\n\n{body.text}", headline.text, "heading")
    spent = embedder.tokens_embedded
    title_vector = _headline_vector(doc, sentences, vectors, embedder)
    assert title_vector == vectors[0] and embedder.tokens_embedded == spent  # the headline sentence, reused
    later = Chunk("d#1", "d", 1, body.start, body.end, body.text, [body], None, [])
    [plain] = pooled_chunk_vectors([later], sentences, vectors, embedder)
    [mixed] = pooled_chunk_vectors([later], sentences, vectors, embedder, title_vector)
    want = (1 - HEADLINE_SHARE) * np.asarray(vectors[1]) + HEADLINE_SHARE * np.asarray(vectors[0])
    assert np.allclose(mixed, want / np.linalg.norm(want))
    # The chunk that never names the festival is now nearer to a question about it.
    asked = np.asarray(HashingEmbedder().embed(["When does the lantern festival return to Quayside?"])[0])
    assert float(np.dot(asked, mixed)) > float(np.dot(asked, plain))


def test_a_file_name_is_no_headline_and_a_headline_outside_the_text_is_embedded_alone():
    embedder = ReusingEmbedder(HashingEmbedder())
    body = _sentence("The pier reopened on Friday after repairs.", 0)
    vectors = embedder.embed([body.text])
    assert _headline_vector(_document(body.text, "pier 2031", "filename"), [body], vectors, embedder) is None
    spent = embedder.tokens_embedded
    title = "Pier reopens"
    got = _headline_vector(_document(body.text, title, "metadata"), [body], vectors, embedder)
    assert np.allclose(got, HashingEmbedder().embed([title])[0])
    assert embedder.tokens_embedded > spent
