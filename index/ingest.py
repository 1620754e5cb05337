"""Ingest: files in, complete documents out, or nothing at all for a file that fails."""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.chunking import Chunk, Sentence, chunk_document
from index.embedder import Embedder, ReusingEmbedder
from index.errors import DiskFullError, UserError
from index.fetch import FetchError, fetch_candidate
from index.loaders import Candidate, Document, SkipFile, discover, load_documents
from index.progress import Progress, ProgressMode
from index.store import ChromaStore, DocRecord, Record, WriterLock

Reporter = Callable[[str], None]
COMMIT_EVERY_S = 2.0  # how often the manifest flips during a long ingest into a large index
PER_FILE_COMMIT_BELOW = 1000  # documents; below this every finished file is committed at once
HEADLINE_SHARE = 0.5  # of a pooled chunk vector: the article's headline, the rest its sentences


@dataclass
class FileOutcome:
    path: str
    doc_id: str
    status: str  # indexed | updated | unchanged | duplicate | skipped
    detail: str = ""
    chunks: int = 0


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    seconds: float = 0.0
    chunks_written: int = 0
    sentences_written: int = 0
    vectors_reused: int = 0  # texts seen earlier in the same ingest (repeated sentences, wire copy)
    tokens_in_documents: int = 0  # the stored text of the documents indexed, in the embedder's tokens
    tokens_embedded: int = 0  # every token sent to the embedder

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def usable(self) -> bool:
        """Exit 0 when something was indexed or is already up to date."""
        return any(o.status in ("indexed", "updated", "unchanged", "duplicate") for o in self.outcomes)


def _chunk_metadata(doc: DocRecord, chunk_start: int, chunk_end: int, page: int | None) -> dict[str, object]:
    meta: dict[str, object] = {
        "doc_id": doc.doc_id,
        "content_hash": doc.content_hash,
        "title": doc.title,
        "date": doc.date or "",
        "page": page if page is not None else -1,
        "start": chunk_start,
        "end": chunk_end,
    }
    shown, source = doc.shown_title()
    if source == "lead":  # for citations only; the title stays what retrieval and the judge read
        meta["display_title"] = shown
    return meta


def ingest(
    paths: Sequence[Path],
    store: ChromaStore,
    embedder: Embedder,
    *,
    chunk_tokens: int,
    chunk_overlap: int,
    max_file_mb: float,
    lock_timeout_s: float,
    report: Reporter | None = None,
    progress: ProgressMode = "off",
    progress_every_s: float = 10.0,
    on_file: Callable[[int, int, str], None] | None = None,
    urls: Sequence[str] = (),
    feeds: Sequence[str] = (),
    allow_private: bool = False,
    fetch_timeout_s: float = 20.0,
    pool_chunks: bool = False,
) -> IngestReport:
    say = report or (lambda _msg: None)
    result = IngestReport()
    started = time.perf_counter()
    reusing = ReusingEmbedder(embedder)
    candidates = _gather(paths, urls, feeds, max_file_mb, fetch_timeout_s, allow_private, result, say)
    window = min(chunk_tokens, reusing.window_tokens - 2)
    work = _Work(
        store, reusing, window, chunk_overlap, max_file_mb, result, say, pool_chunks, progress_every_s
    )
    with WriterLock(store.index_dir, lock_timeout_s):
        store.ensure_manifest()
        store.check_model()
        result.recovered = store.recover()
        for doc_id in result.recovered:
            say(f"{doc_id}: removed a half-written copy left by an interrupted ingest")
        bar = Progress(len(candidates), "files", progress, desc="ingest", every_s=progress_every_s)
        try:
            _index_files(candidates, work, bar, on_file)
        except BaseException:
            # Ctrl-C, a full disk: finished documents are kept, so running ingest again resumes;
            # the journal names the one cut short, which the next writer removes.
            with contextlib.suppress(Exception):
                store.commit()
            raise
        finally:
            bar.close()
        _commit(store)
        changed = result.chunks_written > 0 or bool(result.recovered)
        if changed or not store.lexical.ids() and store.documents():
            store.rebuild_lexical()
    result.seconds = time.perf_counter() - started
    result.vectors_reused = reusing.reused
    result.tokens_embedded = reusing.tokens_embedded
    return result


# Sentences embedded per call for a very long document, so that its progress can be reported.
EMBED_SLICE = 2048


@dataclass
class _Work:
    """What every file of one ingest is indexed with."""

    store: ChromaStore
    embedder: ReusingEmbedder
    chunk_tokens: int
    chunk_overlap: int
    max_file_mb: float
    result: IngestReport
    say: Reporter
    pool_chunks: bool = False
    every_s: float = 10.0


class _FileProgress:
    """Where a long file's indexing stands, a line at most every `every_s` seconds (none for a file
    done sooner): the per-file bar alone says nothing for minutes on a 10 MB text."""

    def __init__(self, name: str, say: Reporter, every_s: float) -> None:
        self.name, self.say, self.every_s = name, say, every_s
        self.last = time.perf_counter()

    def _line(self, text: str) -> None:
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            self.say(f"{self.name}: {text}")

    def reading(self, done: int, total: int) -> None:
        self._line(f"splitting into sentences, {100 * done // max(1, total)}% of {total:,} characters")

    def embedding(self, done: int, total: int) -> None:
        self._line(f"embedded {done:,} of {total:,} sentences")


def _gather(
    paths: Sequence[Path],
    urls: Sequence[str],
    feeds: Sequence[str],
    max_file_mb: float,
    timeout_s: float,
    allow_private: bool,
    result: IngestReport,
    say: Reporter,
) -> list[Candidate]:
    """Files and folders on disk, then the pages and feeds the user named (fetched before the lock)."""

    def note_skip(where: Path | str, why: str) -> None:
        result.outcomes.append(FileOutcome(str(where), "", "skipped", why))
        say(f"{where}: {why}")

    candidates = discover(paths, note_skip)
    for url, as_feed in [(u, False) for u in urls] + [(f, True) for f in feeds]:
        try:
            candidates.append(
                fetch_candidate(
                    url,
                    as_feed=as_feed,
                    max_bytes=int(max_file_mb * 1024 * 1024),
                    timeout_s=timeout_s,
                    allow_private=allow_private,
                )
            )
        except FetchError as why:
            note_skip(url, f"skipped: {why}")
    return candidates


def _index_files(
    candidates: Sequence[Candidate],
    work: _Work,
    bar: Progress,
    on_file: Callable[[int, int, str], None] | None,
) -> None:
    """Each file in turn; commits paced so that rewriting the manifest stays a small share of the work."""
    store = work.store
    last_commit = time.monotonic()
    commit_every_s = COMMIT_EVERY_S
    small = len(store.documents()) < PER_FILE_COMMIT_BELOW  # a small manifest is cheap to flip per file
    for number, cand in enumerate(candidates, 1):
        if on_file:
            on_file(number, len(candidates), str(cand.path.name))
        try:
            outcomes = _ingest_file(cand, work)
        except Exception as exc:
            if _disk_full(exc):
                raise DiskFullError(
                    f"the disk under {store.index_dir} is full (while indexing {cand.path.name})",
                    "free some space and run the same ingest again: finished documents are kept",
                ) from None
            raise
        work.result.outcomes.extend(outcomes)
        bar.advance()
        _report(cand, outcomes, work.say)
        if small or time.monotonic() - last_commit >= commit_every_s:
            _commit(store)
            last_commit = time.monotonic()
            # A flip rewrites the whole manifest: keep it under ~1/10 of the time as it grows.
            commit_every_s = max(COMMIT_EVERY_S, 10 * store.last_flip_s)
            small = len(store.documents()) < PER_FILE_COMMIT_BELOW


def _report(cand: Candidate, outcomes: Sequence[FileOutcome], say: Reporter) -> None:
    for outcome in outcomes:
        where = cand.path if outcome.doc_id in ("", cand.doc_id) else outcome.doc_id
        if outcome.status == "skipped":
            say(f"{where}: skipped: {outcome.detail}")
        elif outcome.status == "duplicate":
            say(f"{where}: {outcome.detail}")


def _commit(store: ChromaStore) -> None:
    try:
        store.commit()
    except Exception as exc:
        if _disk_full(exc):
            raise DiskFullError(
                f"the disk under {store.index_dir} is full",
                "free some space and run the same ingest again: finished documents are kept",
            ) from None
        raise


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC from our own writes, or SQLite's and Chroma's wording of the same thing."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk is full" in text or "database or disk is full" in text


def _ingest_file(cand: Candidate, work: _Work) -> list[FileOutcome]:
    """Every document of one file (a feed holds many); a file that cannot be read is one skip."""
    try:
        docs = load_documents(cand, work.max_file_mb, warn=lambda line: work.say(f"{cand.path}: {line}"))
    except SkipFile as why:
        return [FileOutcome(str(cand.path), cand.doc_id, "skipped", str(why))]
    return [_ingest_document(doc, cand, work) for doc in docs]


def _embed_in_slices(
    embedder: Embedder, texts: list[str], progress: _FileProgress | None
) -> list[list[float]]:
    """One call for an article; slices with progress for a very long document."""
    if progress is None or len(texts) <= EMBED_SLICE:
        return embedder.embed(texts)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_SLICE):
        vectors.extend(embedder.embed(texts[start : start + EMBED_SLICE]))
        progress.embedding(len(vectors), len(texts))
    return vectors


def _embed_document(
    doc: Document,
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    result: IngestReport,
    pool_chunks: bool,
    progress: _FileProgress | None = None,
) -> tuple[list[Chunk], list[Sentence], list[list[float]], list[list[float]]]:
    """Chunks, sentences and their vectors; with `pool_chunks` from one pass over the sentences."""
    try:
        chunks, sentences = chunk_document(
            doc, embedder.count_tokens, chunk_tokens, chunk_overlap, progress.reading if progress else None
        )
        if not chunks:
            return [], [], [], []
        if pool_chunks:
            sentence_vectors = _embed_in_slices(embedder, [s.text for s in sentences], progress)
            headline = _headline_vector(doc, sentences, sentence_vectors, embedder)
            chunk_vectors = pooled_chunk_vectors(chunks, sentences, sentence_vectors, embedder, headline)
        else:
            vectors = embedder.embed([c.text for c in chunks] + [s.text for s in sentences])
            chunk_vectors, sentence_vectors = vectors[: len(chunks)], vectors[len(chunks) :]
        result.tokens_in_documents += embedder.count_tokens(doc.text)
    except (UserError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # a text the splitter or the embedder cannot take: this document only
        raise SkipFile(f"cannot index its text ({type(exc).__name__})") from None
    return chunks, sentences, chunk_vectors, sentence_vectors


def _headline_vector(
    doc: Document,
    sentences: Sequence[Sentence],
    sentence_vectors: Sequence[Sequence[float]],
    embedder: Embedder,
) -> list[float] | None:
    """The vector of the article's own headline (a file name is not one): the sentence that is the
    headline where there is one, else the headline embedded alone (a few tokens per article)."""
    title = doc.title.strip()
    if doc.title_source == "filename" or not title:
        return None
    for sentence, vector in zip(sentences, sentence_vectors, strict=True):
        if sentence.text.strip() == title:
            return list(vector)
    return embedder.embed([title])[0]


def pooled_chunk_vectors(
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    sentence_vectors: Sequence[Sequence[float]],
    embedder: Embedder,
    headline: Sequence[float] | None = None,
) -> list[list[float]]:
    """A chunk's vector is the mean of its sentences' vectors, weighted by how much of each it holds,
    and mixed with the article's headline (`HEADLINE_SHARE`).

    The encoder mean-pools its tokens, so a length-weighted mean of sentence vectors stands in for
    embedding the chunk's text again; every token is then embedded once, not once per chunk and once
    per sentence. What the sentences leave to the headline ("Their talk lasted an hour") comes back
    through the headline's share, so a chunk is found by what its article is about. A chunk that
    holds no sentence (none in practice) is embedded itself.
    """
    ends = [s.end for s in sentences]
    matrix = np.asarray(sentence_vectors, dtype=np.float64)
    out: list[list[float] | None] = []
    alone: list[int] = []
    for number, chunk in enumerate(chunks):
        lo = bisect.bisect_right(ends, chunk.start)
        weights, rows = [], []
        for i in range(lo, len(sentences)):
            s = sentences[i]
            if s.start >= chunk.end:
                break
            overlap = min(s.end, chunk.end) - max(s.start, chunk.start)
            if overlap > 0:
                weights.append(float(overlap))
                rows.append(i)
        if not rows:
            out.append(None)
            alone.append(number)
            continue
        mean = _unit(np.average(matrix[rows], axis=0, weights=weights))
        if headline is not None:
            mean = _unit((1.0 - HEADLINE_SHARE) * mean + HEADLINE_SHARE * np.asarray(headline))
        out.append(mean.tolist())
    for number, vector in zip(alone, embedder.embed([chunks[n].text for n in alone]), strict=True):
        out[number] = vector
    return [v for v in out if v is not None]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _ingest_document(doc: Document, cand: Candidate, work: _Work) -> FileOutcome:
    store, result = work.store, work.result
    existing = store.find(doc.doc_id)
    if existing and existing.content_hash == doc.content_hash:
        return FileOutcome(str(cand.path), doc.doc_id, "unchanged", "already up to date", existing.n_chunks)
    twin = store.find_content(doc.content_hash, other_than=doc.doc_id)
    if twin is not None:
        return FileOutcome(
            str(cand.path),
            doc.doc_id,
            "duplicate",
            f"same content as {twin.doc_id!r}; stored once",
            twin.n_chunks,
        )
    try:
        progress = _FileProgress(str(cand.path), work.say, work.every_s)
        chunks, sentences, chunk_vectors, sentence_vectors = _embed_document(
            doc, work.embedder, work.chunk_tokens, work.chunk_overlap, result, work.pool_chunks, progress
        )
    except SkipFile as why:
        return FileOutcome(str(cand.path), doc.doc_id, "skipped", str(why))
    if not chunks:
        return FileOutcome(str(cand.path), doc.doc_id, "skipped", "no text to index")
    record = DocRecord(
        doc_id=doc.doc_id,
        content_hash=doc.content_hash,
        title=doc.title,
        date=doc.date,
        kind=doc.kind,
        source_path=cand.source,
        n_chunks=len(chunks),
        n_sentences=len(sentences),
        chars=len(doc.text),
        ingested_at=time.time(),
        page_starts=doc.page_starts,
        title_source=doc.title_source,
        date_source=doc.date_source,
        source=doc.source,
        author=doc.author,
        lead=doc.lead,
    )
    chunk_rows = []
    for chunk, vector in zip(chunks, chunk_vectors, strict=True):
        meta = _chunk_metadata(record, chunk.start, chunk.end, chunk.page)
        meta["chunk_index"] = chunk.index
        meta["sentences"] = json.dumps([[s.start, s.end] for s in chunk.sentences])
        meta["dates"] = ",".join(chunk.dates)
        chunk_rows.append(Record(chunk.chunk_id, chunk.text, vector, meta))
    sentence_rows = []
    for sentence, vector in zip(sentences, sentence_vectors, strict=True):
        meta = _chunk_metadata(record, sentence.start, sentence.end, doc.page_of(sentence.start))
        meta["chunk_id"] = sentence.chunk_id
        meta["sentence_index"] = sentence.index
        sentence_rows.append(Record(f"{sentence.chunk_id}/s{sentence.index}", sentence.text, vector, meta))
    status = "updated" if existing else "indexed"
    store.write_document(record, doc.text, chunk_rows, sentence_rows, commit=False)
    result.chunks_written += len(chunk_rows)
    result.sentences_written += len(sentence_rows)
    return FileOutcome(str(cand.path), doc.doc_id, status, "", len(chunk_rows))
