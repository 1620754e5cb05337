"""Chunk and sentence offsets are verbatim slices of the source; chunks fit the embedder window."""

from __future__ import annotations

from pathlib import Path

from index.chunking import chunk_document, sentence_spans
from index.loaders import Candidate, find_dates, load_document


def test_chunks_and_sentences_are_verbatim_slices_of_the_seed_articles(app, seeds_dir):
    overlapping = 0
    for path in sorted(seeds_dir.glob("*.txt")):
        doc = load_document(Candidate(path, path.stem), max_file_mb=5)
        assert doc.text == path.read_bytes().decode("utf-8")
        chunks, sentences = chunk_document(doc, app.embedder.count_tokens, 200, 32)
        assert len(chunks) >= 2, path.name
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert app.embedder.count_tokens(chunk.text) <= 256
            for s in chunk.sentences:
                assert doc.text[s.start : s.end] == s.text
                assert chunk.start <= s.start < s.end <= chunk.end
        for s in sentences:
            assert doc.text[s.start : s.end] == s.text
            assert s.chunk_id in {c.chunk_id for c in chunks}
        covered = {i for c in chunks for i in range(c.start, c.end)}
        assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace()), (
            "text lost between chunks"
        )
        starts = [c.start for c in chunks]
        assert starts == sorted(starts)
        overlapping += sum(a.end > b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert overlapping > 0, "chunks split inside a paragraph should overlap"


def test_sentence_spans_keep_headlines_separate():
    text = "Big Headline Here\nFirst sentence is here. Second one, Dr. Smith said, follows.\n\nLast line"
    spans = sentence_spans(text)
    assert [s.text for s in spans] == [
        "Big Headline Here",
        "First sentence is here.",
        "Second one, Dr. Smith said, follows.",
        "Last line",
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_long_runs_without_punctuation_are_cut_into_embeddable_sentences():
    text = "word " * 2000
    spans = sentence_spans(text)
    assert len(spans) > 10
    assert all(len(s.text) <= 600 and text[s.start : s.end] == s.text for s in spans)


def test_dates_found_in_text():
    found = [
        iso for _, _, iso in find_dates("On April 7, 2025 and 2025-07-04, also 3 March 2024; not 2025-13-01.")
    ]
    assert found == ["2025-04-07", "2025-07-04", "2024-03-03"]


def test_crlf_files_keep_offsets(tmp_path: Path):
    from index.embedder import HashingEmbedder

    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Title line\r\nOne sentence here. Another sentence there.\r\n")
    doc = load_document(Candidate(path, "crlf"), max_file_mb=1)
    chunks, sentences = chunk_document(doc, HashingEmbedder().count_tokens, 50, 5)
    raw = path.read_bytes().decode()
    assert all(raw[s.start : s.end] == s.text for s in sentences)
    assert all(raw[c.start : c.end] == c.text for c in chunks)
