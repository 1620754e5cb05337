"""Token-aware chunks and sentence spans, computed once at ingest.

Chunks are sized with the embedder's own tokenizer so nothing is truncated when embedded. Sentence
spans (document offsets) are stored with each chunk: answering scores and cites sentences without
re-splitting text at query time.
"""

from __future__ import annotations

import bisect
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


Progress = Callable[[int, int], None]  # (characters done, characters in all)


def sentence_spans(text: str, progress: Progress | None = None) -> list[Sentence]:
    """Sentences of a text as verbatim spans; lines are split first so headlines stand alone."""
    out: list[Sentence] = []
    for number, (base, line) in enumerate(_blocks(text)):
        if progress and number % PROGRESS_BLOCKS == 0:
            progress(base, len(text))
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
PROGRESS_BLOCKS = 200  # lines between two progress calls while splitting a long text


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
    progress: Progress | None = None,
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
    sentences = sentence_spans(doc.text, progress)
    spans = _Spans(sentences)
    chunks: list[Chunk] = []
    for piece in splitter.create_documents([doc.text]):
        start = int(piece.metadata["start_index"])
        text = piece.page_content
        if start < 0 or doc.text[start : start + len(text)] != text:
            start = doc.text.find(text)
            if start < 0:
                continue
        end = start + len(text)
        inside = [s for s in spans.overlapping(start, end) if s.start < end and s.end > start]
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
    holders = _Holders(chunks)
    for number, sentence in enumerate(sentences):
        holder = holders.first_holding(sentence)
        if holder is None or not sentence.text.strip():
            continue
        sentence.chunk_id = holder.chunk_id
        sentence.index = number
        owned.append(sentence)
    return chunks, owned


def _ascending(values: list[int]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


class _Spans:
    """Sentences by position: the ones a chunk overlaps, found by bisection (a 10 MB file has
    100,000 sentences and 10,000 chunks, too many to compare pairwise)."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.sentences = sentences
        self.starts = [s.start for s in sentences]
        self.ends = [s.end for s in sentences]
        self.ordered = _ascending(self.starts) and _ascending(self.ends)

    def overlapping(self, start: int, end: int) -> list[Sentence]:
        if not self.ordered:
            return self.sentences
        return self.sentences[bisect.bisect_right(self.ends, start) : bisect.bisect_left(self.starts, end)]


class _Holders:
    """The first chunk that holds a sentence whole, else the first that overlaps it: by bisection
    when chunks come in order (they do; a scan otherwise)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.starts = [c.start for c in chunks]
        self.ends = [c.end for c in chunks]
        self.ordered = _ascending(self.starts) and _ascending(self.ends)

    def first_holding(self, s: Sentence) -> Chunk | None:
        if not self.ordered:
            whole = next((c for c in self.chunks if c.start <= s.start and s.end <= c.end), None)
            return whole or next((c for c in self.chunks if c.start < s.end and s.start < c.end), None)
        j = bisect.bisect_left(self.ends, s.end)  # the first chunk ending at or after the sentence
        if j < len(self.chunks) and self.chunks[j].start <= s.start:
            return self.chunks[j]
        j = bisect.bisect_right(self.ends, s.start)  # the first chunk ending after the sentence starts
        if j < len(self.chunks) and self.chunks[j].start < s.end:
            return self.chunks[j]
        return None
