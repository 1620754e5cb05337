"""Token-aware chunks and sentence spans, computed once at ingest.

Chunks are sized with the embedder's own tokenizer so nothing is truncated when embedded. Sentence
spans (document offsets) are stored with each chunk: answering scores and cites sentences without
re-splitting text at query time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from index.loaders import Document, find_dates

MAX_SENTENCE_CHARS = 600


@dataclass
class Sentence:
    start: int
    end: int
    text: str
    chunk_id: str = ""
    index: int = 0


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str
    sentences: list[Sentence]
    page: int | None
    dates: list[str]


@functools.lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str) -> list[Sentence]:
    """Sentences of a text as verbatim spans; lines are split first so headlines stand alone."""
    out: list[Sentence] = []
    for base, line in _blocks(text):
        cursor = 0
        for segment in _segmenter().segment(line):
            piece = segment.strip()
            if not piece:
                continue
            pos = line.find(piece, cursor)
            if pos < 0:
                continue
            cursor = pos + len(piece)
            for start, end in _split_long(pos, cursor, line):
                out.append(Sentence(base + start, base + end, text[base + start : base + end]))
    return out


PYSBD_BLOCK_CHARS = 4000  # pysbd is quadratic in its input: 100 KB takes seconds, 2 MB never ends


def _blocks(text: str) -> list[tuple[int, str]]:
    """Lines of text, with very long lines cut after a sentence end so pysbd sees bounded input."""
    blocks = []
    for line_match in re.finditer(r"[^\n]+", text):
        line, base = line_match.group(), line_match.start()
        if not line.strip():
            continue
        while len(line) > PYSBD_BLOCK_CHARS:
            cut = max(line.rfind(". ", 0, PYSBD_BLOCK_CHARS), line.rfind("? ", 0, PYSBD_BLOCK_CHARS))
            cut = cut + 2 if cut > PYSBD_BLOCK_CHARS // 4 else PYSBD_BLOCK_CHARS
            blocks.append((base, line[:cut]))
            line, base = line[cut:], base + cut
        if line.strip():
            blocks.append((base, line))
    return blocks


def _split_long(start: int, end: int, line: str) -> list[tuple[int, int]]:
    """Very long 'sentences' (tables, run-on lines) are cut at spaces so each stays embeddable."""
    spans = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = line.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and line[start] == " ":
            start += 1
    if end > start:
        spans.append((start, end))
    return spans


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    chunk_tokens: int,
    overlap_tokens: int,
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks plus the document's sentences, each sentence owned by the first chunk that holds it."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=overlap_tokens,
        length_function=count_tokens,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    sentences = sentence_spans(doc.text)
    chunks: list[Chunk] = []
    for piece in splitter.create_documents([doc.text]):
        start = int(piece.metadata["start_index"])
        text = piece.page_content
        if start < 0 or doc.text[start : start + len(text)] != text:
            start = doc.text.find(text)
            if start < 0:
                continue
        end = start + len(text)
        inside = [s for s in sentences if s.start < end and s.end > start]
        clipped = [
            Sentence(max(s.start, start), min(s.end, end), doc.text[max(s.start, start) : min(s.end, end)])
            for s in inside
        ]
        index = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{doc.content_hash[:10]}-{index}",
                doc_id=doc.doc_id,
                index=index,
                start=start,
                end=end,
                text=text,
                sentences=[s for s in clipped if s.text.strip()],
                page=doc.page_of(start),
                dates=sorted({iso for _, _, iso in find_dates(text)}),
            )
        )
    owned: list[Sentence] = []
    for number, sentence in enumerate(sentences):
        holder = next((c for c in chunks if c.start <= sentence.start and sentence.end <= c.end), None)
        holder = holder or next(
            (c for c in chunks if c.start < sentence.end and sentence.start < c.end), None
        )
        if holder is None or not sentence.text.strip():
            continue
        sentence.chunk_id = holder.chunk_id
        sentence.index = number
        owned.append(sentence)
    return chunks, owned
