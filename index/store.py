"""The index on disk: Chroma collections for chunks and sentences plus a small manifest.

The manifest is the source of truth for which documents are complete. Writes go chunks-first,
manifest-last, with an in-progress journal: a crash between the two leaves a journal entry that the
next writer uses to remove the half-written document, so a reader never sees a partial document.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from index.errors import DamagedIndexError, IndexBusyError, IndexMismatchError, UserError
from index.lexical import LexicalIndex

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

CHUNKS = "chunks"
SENTENCES = "sentences"
DOCUMENTS = "documents"  # on a Chroma server only: the shared manifest, one row per complete document
MANIFEST_VERSION = 1
GET_PAGE = 5000  # rows per Chroma read when walking a whole collection
ADD_BATCH = 4096  # rows per Chroma write; capped again by the client's own get_max_batch_size()


@dataclass
class DocRecord:
    doc_id: str
    content_hash: str
    title: str
    date: str | None
    kind: str
    source_path: str
    n_chunks: int
    n_sentences: int
    chars: int
    ingested_at: float
    page_starts: list[int]
    title_source: str = "heading"  # metadata | front_matter | feed | heading | filename
    date_source: str | None = None  # metadata | front_matter | feed | published_line | lead
    source: str = ""  # where the document came from: a path or a URL
    author: str | None = None
    lead: str = ""  # the lead's first words when the title is only the file name

    def shown_title(self) -> tuple[str, str]:
        """(title, its source) as listings and citations show them: the lead's first words rather
        than a file name ("000 80c8…"), marked `lead`."""
        if self.title_source == "filename" and self.lead:
            return self.lead, "lead"
        return self.title, self.title_source


@dataclass
class Record:
    """One row to write: a chunk or a sentence with its vector."""

    id: str
    text: str
    vector: list[float]
    metadata: dict[str, Any]


@dataclass
class Hit:
    id: str
    text: str
    score: float
    metadata: dict[str, Any]
    vector: list[float] | None = None  # filled when the query asked for vectors


class Store(Protocol):
    """What retrieval and ingest need from an index."""

    def documents(self) -> dict[str, DocRecord]: ...

    def document_text(self, doc_id: str) -> str: ...

    def content_hashes(self) -> Mapping[str, str]: ...

    def query(
        self,
        collection: str,
        vector: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        include_vectors: bool = False,
        include_text: bool = True,
    ) -> list[Hit]: ...

    def get(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        include_vectors: bool = False,
        ids: Sequence[str] | None = None,
    ) -> list[Hit]: ...

    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, list[float]]: ...

    def lexical_search(self, query: str, n: int) -> list[tuple[str, float]]: ...

    def sentence_share(self, text: str) -> float: ...

    def sentence_rows(
        self, ids: Sequence[str], chunk_ids: Sequence[str], include_vectors: bool = False
    ) -> list[Hit]: ...


class WriterLock:
    """One writer per index across processes (CLI ingest, UI uploads, docs rm)."""

    def __init__(self, index_dir: Path, timeout_s: float) -> None:
        from filelock import FileLock

        index_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(index_dir / ".writer.lock"))
        self._timeout = timeout_s
        self._index_dir = index_dir

    def __enter__(self) -> WriterLock:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=self._timeout)
        except Timeout:
            raise IndexBusyError(
                f"another process is writing to the index {self._index_dir}",
                "wait for it to finish, or set RAG_LOCK_TIMEOUT_S to wait longer",
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @staticmethod
    def held(index_dir: Path) -> bool:
        """Is a writer at work on this index right now (its rows may be ahead of the manifest)?"""
        from filelock import FileLock, Timeout

        path = index_dir / ".writer.lock"
        if not path.exists():
            return False
        probe = FileLock(str(path))
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return True
        probe.release()
        return False


def index_stamp(index_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Changes whenever a writer commits (the manifest and the BM25 index are rewritten): a
    long-lived reader compares it to learn that another process changed the index."""
    files = [index_dir / "manifest.json", *sorted((index_dir / "lexical").glob("*"))]
    out = []
    for f in files:
        with contextlib.suppress(OSError):
            st = f.stat()
            out.append((f.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def forget_open_indexes() -> None:
    """Drop chromadb's per-path systems, so that the next client reads the files anew (chromadb
    keeps one in-memory view per path for the life of the process otherwise)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def damaged(index_dir: Path, what: str) -> DamagedIndexError:
    return DamagedIndexError(
        f"the index {index_dir} is damaged: {what}",
        "run `rag doctor --check` to repair it; it lists what must be ingested again",
    )


def _atomic_write(path: Path, data: str) -> None:
    """Write-then-rename: a full disk or a crash leaves the old file, never half of a new one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ChromaStore:
    """Chroma (persistent, or a server through ``chroma_url``) plus the manifest and stored texts."""

    def __init__(
        self,
        index_dir: Path,
        embed_model: str,
        embed_dim: int | None,
        chroma_url: str | None = None,
        create: bool = False,
        chroma_prefix: str = "rag-news",
    ) -> None:
        self.index_dir = index_dir
        self.embed_model = embed_model
        self.embed_dim = embed_dim
        self._chroma_url = chroma_url
        self._chroma_prefix = chroma_prefix
        self._client: Any = None
        self._collections: dict[str, Any] = {}
        self._lexical: LexicalIndex | None = None
        self._manifest_cache: tuple[tuple[int, int], dict[str, DocRecord]] | None = None
        self._hashes_cache: tuple[tuple[int, int] | None, Mapping[str, str]] | None = None
        self._by_hash_cache: tuple[tuple[int, int] | None, dict[str, list[str]]] | None = None
        self._counts: dict[str, tuple[tuple[int, int] | None, int]] = {}
        self._pending: dict[str, DocRecord] = {}  # rows written, manifest not yet flipped
        self._writing: tuple[str, str] | None = None  # the document whose rows are being written
        # Rows of pending documents not yet sent to Chroma: one large add costs about what one small
        # upsert does, so a long ingest sends them when the batch commits (see ``flush``).
        self._unsent: dict[str, list[Record]] = {CHUNKS: [], SENTENCES: []}
        self._unpublished: list[tuple[DocRecord, str, Sequence[Record]]] = []
        self._send_failed = False  # rows may be half-sent: nothing commits until ``recover`` runs
        self.last_flip_s = 0.0  # how long the last manifest rewrite took (ingest paces commits by it)
        if chroma_url:
            self.sync_from_server()
        if not create and not (index_dir / "manifest.json").is_file():
            raise UserError(f"no index at {index_dir}", "run `rag ingest PATH` first, or pass --index DIR")

    # -- manifest -----------------------------------------------------------------------------
    @property
    def _manifest_path(self) -> Path:
        return self.index_dir / "manifest.json"

    def _read_manifest(self) -> dict[str, Any]:
        if not self._manifest_path.is_file():
            return {"version": MANIFEST_VERSION, "embed_model": None, "embed_dim": None, "documents": {}}
        try:
            data: dict[str, Any] = json.loads(self._manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(
                f"the index manifest {self._manifest_path} is unreadable ({exc})",
                "re-ingest into a new --index",
            ) from None
        return data

    def check_model(self) -> None:
        manifest = self._read_manifest()
        built_with = manifest.get("embed_model")
        if built_with and built_with != self.embed_model:
            raise IndexMismatchError(
                f"the index {self.index_dir} was built with embedding model {built_with!r}, "
                f"but {self.embed_model!r} is configured",
                "use the same embedding model, or ingest into a new --index",
            )
        if self.embed_dim and manifest.get("embed_dim") and manifest["embed_dim"] != self.embed_dim:
            raise IndexMismatchError(
                f"the index holds {manifest['embed_dim']}-d vectors "
                f"but the embedder makes {self.embed_dim}-d",
                "use the same embedding model, or ingest into a new --index",
            )

    def check_intact(self) -> None:
        """Cheap counts on open: a manifest whose rows are missing from Chroma or BM25 is a damaged
        index, named with what to run, never answered as if the articles said nothing."""
        documents = self.documents()
        if not documents:
            return
        chunks = sum(r.n_chunks for r in documents.values())
        sentences = sum(r.n_sentences for r in documents.values())
        try:
            held = {CHUNKS: self.count(CHUNKS), SENTENCES: self.count(SENTENCES)}
        except UserError:
            raise
        except Exception as exc:  # chromadb raises many internal types on a damaged database
            raise damaged(self.index_dir, f"Chroma cannot read it ({type(exc).__name__})") from None
        if held[CHUNKS] < chunks or held[SENTENCES] < sentences:
            raise damaged(
                self.index_dir,
                f"the manifest lists {len(documents)} documents with {chunks} chunks, "
                f"Chroma holds {held[CHUNKS]}",
            )
        if not self._chroma_url and not self.lexical.built and not WriterLock.held(self.index_dir):
            self._rebuild_missing_lexical()

    def _rebuild_missing_lexical(self) -> None:
        """An ingest cut short before its last step leaves no BM25 index; Chroma holds what it needs."""
        try:
            with WriterLock(self.index_dir, 0):
                if not self.lexical.built:
                    self.rebuild_lexical()
        except IndexBusyError:
            return  # a writer started meanwhile and builds it
        except OSError as exc:
            raise damaged(self.index_dir, f"its keyword (BM25) index is missing ({exc.strerror})") from None

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            st = self._manifest_path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def documents(self) -> dict[str, DocRecord]:
        """Complete documents. Parsed once and reused until the file changes: retrieval asks per query,
        and at 20,000 documents re-reading the manifest would cost more than the search."""
        stamp = self._manifest_stamp()
        if stamp is not None and self._manifest_cache is not None and self._manifest_cache[0] == stamp:
            return dict(self._manifest_cache[1])
        docs = self._read_manifest().get("documents", {})
        parsed = {doc_id: DocRecord(**record) for doc_id, record in docs.items()}
        if stamp is not None:
            self._manifest_cache = (stamp, parsed)
        return dict(parsed)

    def find(self, doc_id: str) -> DocRecord | None:
        """The document as this writer sees it (written in this batch, else committed), without
        copying the manifest: ingest asks once per file, and copying 20,000 records per file was
        57% of re-checking an unchanged 20,000-article folder."""
        pending = self._pending.get(doc_id)
        return pending if pending is not None else self._committed().get(doc_id)

    def find_content(self, content_hash: str, other_than: str) -> DocRecord | None:
        """Another document (this batch's or committed) holding exactly this content."""
        for record in self._pending.values():
            if record.content_hash == content_hash and record.doc_id != other_than:
                return record
        committed = self._committed()
        for doc_id in self._ids_by_hash().get(content_hash, ()):
            if doc_id != other_than and doc_id not in self._pending:
                return committed[doc_id]
        return None

    def _committed(self) -> Mapping[str, DocRecord]:
        if self._manifest_stamp() is None:
            return {}
        self.documents()  # refreshes the cache when the manifest changed
        return self._manifest_cache[1] if self._manifest_cache is not None else {}

    def _ids_by_hash(self) -> Mapping[str, list[str]]:
        stamp = self._manifest_stamp()
        if self._by_hash_cache is None or stamp is None or self._by_hash_cache[0] != stamp:
            by_hash: dict[str, list[str]] = {}
            for doc_id, content_hash in self.content_hashes().items():
                by_hash.setdefault(content_hash, []).append(doc_id)
            self._by_hash_cache = (stamp, by_hash)
        return self._by_hash_cache[1]

    def content_hashes(self) -> Mapping[str, str]:
        """Each complete document's content hash, read-only and rebuilt only when the manifest
        changes: retrieval checks every row against it, and copying 20,000 records per question
        cost 2 ms."""
        stamp = self._manifest_stamp()
        if self._hashes_cache is None or stamp is None or self._hashes_cache[0] != stamp:
            hashes = {doc_id: rec.content_hash for doc_id, rec in self.documents().items()}
            self._hashes_cache = (stamp, MappingProxyType(hashes))
        return self._hashes_cache[1]

    def document_text(self, doc_id: str) -> str:
        record = self.documents().get(doc_id)
        if record is None:
            raise UserError(f"no document {doc_id!r} in the index", "see `rag docs list`")
        return (self.index_dir / "texts" / f"{record.content_hash}.txt").read_text(encoding="utf-8")

    def _write_manifest(self, documents: dict[str, DocRecord]) -> None:
        data = {
            "version": MANIFEST_VERSION,
            "embed_model": self.embed_model,
            "embed_dim": self.embed_dim,
            # vars(), not asdict(): no deep copy; compact JSON uses the C encoder (indent does not).
            # At 20,000 documents these two made the manifest flip 40% of an ingest's time.
            "documents": {doc_id: vars(rec) for doc_id, rec in sorted(documents.items())},
        }
        _atomic_write(self._manifest_path, json.dumps(data, separators=(",", ":")))
        stamp = self._manifest_stamp()
        if stamp is not None:
            self._manifest_cache = (stamp, dict(documents))

    # -- chroma -------------------------------------------------------------------------------
    def _chroma(self) -> Any:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False, allow_reset=False)
            if self._chroma_url:
                from urllib.parse import urlparse

                url = urlparse(self._chroma_url)
                self._client = chromadb.HttpClient(
                    host=url.hostname or "localhost",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=settings,
                )
            else:
                self.index_dir.mkdir(parents=True, exist_ok=True)
                try:
                    self._client = chromadb.PersistentClient(
                        path=str(self.index_dir / "chroma"), settings=settings
                    )
                except Exception as exc:  # a damaged chroma.sqlite3 fails here, in chromadb's words
                    raise damaged(self.index_dir, f"Chroma cannot open it ({type(exc).__name__})") from None
        return self._client

    def _collection(self, name: str) -> Any:
        if name not in self._collections:
            prefix = f"{self._chroma_prefix}-" if self._chroma_url else ""
            self._collections[name] = self._chroma().get_or_create_collection(
                name=f"{prefix}{name}",
                embedding_function=None,
                metadata={
                    "hnsw:space": "cosine",
                    "embed_model": self.embed_model,
                    "embed_dim": self.embed_dim or 0,
                },
            )
        return self._collections[name]

    def count(self, collection: str) -> int:
        return int(self._collection(collection).count())

    def _count(self, collection: str) -> int:
        """Row count for sizing queries, re-read only when the manifest changes (a write happened);
        counting costs Chroma milliseconds, a quarter of a query's budget at scale."""
        stamp = self._manifest_stamp()
        cached = self._counts.get(collection)
        if cached is None or cached[0] != stamp:
            cached = (stamp, self.count(collection))
            self._counts[collection] = cached
        return cached[1]

    def query(
        self,
        collection: str,
        vector: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        include_vectors: bool = False,
        include_text: bool = True,
    ) -> list[Hit]:
        """Nearest rows; ``include_text=False`` skips reading their text (a chunk's text is ~1 kB of
        SQLite read per hit, and retrieval only needs which chunks ranked)."""
        col = self._collection(collection)
        size = self._count(collection)
        if size == 0:
            return []
        n = max(1, min(n, size))
        res = col.query(
            query_embeddings=[list(vector)],
            n_results=n,
            where=where or None,
            include=["metadatas", "distances"]
            + (["documents"] if include_text else [])
            + (["embeddings"] if include_vectors else []),
        )
        texts = res["documents"][0] if include_text else [""] * len(res["ids"][0])
        hits = [
            Hit(id=i, text=d or "", score=1.0 - float(dist), metadata=dict(m or {}))
            for i, d, m, dist in zip(
                res["ids"][0], texts, res["metadatas"][0], res["distances"][0], strict=True
            )
        ]
        if include_vectors:  # saves a second round trip for the vectors of the hits
            for hit, vec in zip(hits, res["embeddings"][0], strict=True):
                hit.vector = np.asarray(vec, dtype=np.float64).tolist()
        return hits

    def get(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        include_vectors: bool = False,
        ids: Sequence[str] | None = None,
    ) -> list[Hit]:
        include = ["documents", "metadatas"] + (["embeddings"] if include_vectors else [])
        res = self._collection(collection).get(
            ids=list(ids) if ids is not None else None, where=where or None, include=include
        )
        hits = []
        for pos, (i, d, m) in enumerate(zip(res["ids"], res["documents"], res["metadatas"], strict=True)):
            vector = (
                np.asarray(res["embeddings"][pos], dtype=np.float64).tolist() if include_vectors else None
            )
            hits.append(Hit(id=i, text=d or "", score=0.0, metadata=dict(m or {}), vector=vector))
        return hits

    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        res = self._collection(collection).get(ids=list(ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float64).tolist()
            for i, v in zip(res["ids"], res["embeddings"], strict=True)
        }

    def _get_all(self, collection: str, field: str) -> tuple[list[str], list[Any]]:
        """Every row's id and one field, a page at a time: one unpaged ``get`` of 140,000 rows'
        metadata fails inside Chroma ("too many SQL variables"), seen at 20,000 articles."""
        col = self._collection(collection)
        ids: list[str] = []
        values: list[Any] = []
        while True:
            page = col.get(include=[field], limit=GET_PAGE, offset=len(ids))
            ids.extend(page["ids"])
            values.extend(page[field])
            if len(page["ids"]) < GET_PAGE:
                return ids, values

    def all_metadata(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        ids, metadatas = self._get_all(collection, "metadatas")
        return [(i, dict(m or {})) for i, m in zip(ids, metadatas, strict=True)]

    # -- writing (callers hold the WriterLock) --------------------------------------------------
    @property
    def _journal_path(self) -> Path:
        return self.index_dir / "in-progress.json"

    def _journal(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._journal_path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return {}

    def recover(self) -> list[str]:
        """Remove rows of documents whose write was interrupted; returns their ids."""
        self._unsent = {CHUNKS: [], SENTENCES: []}
        self._unpublished.clear()
        self._pending.clear()
        self._send_failed = False
        journal = self._journal()
        if not journal:
            return []
        documents = self.documents()
        for doc_id, content_hash in journal.items():
            done = doc_id in documents and documents[doc_id].content_hash == content_hash
            if not done:
                self._delete_rows({"$and": [{"doc_id": doc_id}, {"content_hash": content_hash}]})
        self._journal_path.unlink(missing_ok=True)
        return sorted(journal)

    def _delete_rows(self, where: dict[str, Any]) -> None:
        for name in (CHUNKS, SENTENCES):
            self._collection(name).delete(where=where)

    def _add(self, collection: str, records: Sequence[Record], batch: int) -> None:
        """``add``, not ``upsert``: row ids carry the content hash, so a new row never replaces an
        old one, and Chroma's ``add`` is about twice as fast (measured: 1,600 rows 1.9 s vs 3.8 s)."""
        col = self._collection(collection)
        limit = batch
        with contextlib.suppress(Exception):
            limit = min(batch, int(self._chroma().get_max_batch_size()))
        for i in range(0, len(records), limit):
            part = records[i : i + limit]
            col.add(
                ids=[r.id for r in part],
                embeddings=[r.vector for r in part],
                documents=[r.text for r in part],
                metadatas=[r.metadata for r in part],
            )

    @property
    def unsent_rows(self) -> int:
        return sum(len(rows) for rows in self._unsent.values())

    def flush(self) -> None:
        """Send buffered rows to Chroma; the journal already names their documents.

        If sending fails (a full disk), some documents of the batch may have part of their rows in
        Chroma. Committing them would show half a document, so the store refuses to commit until
        the next writer's ``recover`` removes every uncommitted row the journal names.
        """
        if self._send_failed:
            raise UserError("an earlier write to the index failed", "run the same ingest again to resume")
        try:
            for name, rows in self._unsent.items():
                if rows:
                    self._add(name, rows, ADD_BATCH)
                    rows.clear()
            while self._unpublished:
                self._publish(*self._unpublished[0])
                self._unpublished.pop(0)
        except BaseException:
            self._send_failed = True
            raise

    def _write_journal(self) -> None:
        entries = {d: r.content_hash for d, r in self._pending.items()}
        if self._writing:
            entries[self._writing[0]] = self._writing[1]
        if entries:
            _atomic_write(self._journal_path, json.dumps(entries))
        else:
            self._journal_path.unlink(missing_ok=True)

    def write_document(
        self,
        record: DocRecord,
        text: str,
        chunks: Sequence[Record],
        sentences: Sequence[Record],
        batch: int = ADD_BATCH,
        commit: bool = True,
    ) -> None:
        """Write a document's rows; it becomes visible only when the manifest flips (``commit``).

        Ingest commits every couple of seconds rather than per file: rewriting a 20,000-entry
        manifest per article would cost more than embedding it. The journal lists every written
        but uncommitted document, so a crash loses at most that batch, never leaves half of one.
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._writing = (record.doc_id, record.content_hash)
        self._write_journal()
        texts = self.index_dir / "texts"
        texts.mkdir(exist_ok=True)
        text_path = texts / f"{record.content_hash}.txt"
        if not text_path.is_file():
            _atomic_write(text_path, text)
        self._unsent[CHUNKS].extend(chunks)
        self._unsent[SENTENCES].extend(sentences)
        if self._chroma_url:
            self._unpublished.append((record, text, chunks))
        self._pending[record.doc_id] = record
        self._writing = None
        if commit or self.unsent_rows >= batch:
            self.flush()
        if commit:
            self.commit()

    def commit(self) -> int:
        """Flip the manifest for every fully written document; returns how many."""
        self.flush()
        if not self._pending:
            self._write_journal()
            return 0
        documents = self.documents()
        replaced = []
        for doc_id, record in self._pending.items():
            previous = documents.get(doc_id)
            documents[doc_id] = record
            if previous and previous.content_hash != record.content_hash:
                replaced.append(previous)
        flip_started = time.perf_counter()
        self._write_manifest(documents)
        self.last_flip_s = time.perf_counter() - flip_started
        for previous in replaced:
            stale = [{"doc_id": previous.doc_id}, {"content_hash": previous.content_hash}]
            self._delete_rows({"$and": stale})
            self._drop_text_if_unused(previous.content_hash, documents)
        committed = len(self._pending)
        self._pending.clear()
        self._write_journal()
        return committed

    def remove_document(self, doc_id: str) -> DocRecord:
        documents = self.documents()
        record = documents.pop(doc_id, None)
        if record is None:
            raise UserError(f"no document {doc_id!r} in the index", "see `rag docs list`")
        if self._chroma_url:
            self._collection(DOCUMENTS).delete(ids=[doc_id])
        self._write_manifest(documents)
        self._delete_rows({"doc_id": doc_id})
        self._drop_text_if_unused(record.content_hash, documents)
        return record

    def _drop_text_if_unused(self, content_hash: str, documents: dict[str, DocRecord]) -> None:
        if all(d.content_hash != content_hash for d in documents.values()):
            (self.index_dir / "texts" / f"{content_hash}.txt").unlink(missing_ok=True)

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex(self.index_dir)
        return self._lexical

    def rebuild_lexical(self) -> int:
        """Rebuild BM25 from the sentences in Chroma (the source of truth); returns the row count."""
        ids, texts = self._get_all(SENTENCES, "documents")
        rows = list(zip(ids, [d or "" for d in texts], strict=True))
        self.lexical.rebuild(rows)
        return len(rows)

    def sentence_share(self, text: str) -> float:
        return self.lexical.sentence_share(text)

    def lexical_search(self, query: str, n: int) -> list[tuple[str, float]]:
        if self.lexical.outdated:
            self.rebuild_lexical()
        return self.lexical.search(query, n)

    def sentence_rows(
        self, ids: Sequence[str], chunk_ids: Sequence[str], include_vectors: bool = False
    ) -> list[Hit]:
        """Sentence rows by id plus the rows the given chunks own, in one read where possible.

        Chunks' sentences are found by id where BM25 knows them (a key lookup); a ``chunk_id``
        filter, a metadata scan that cost tens of milliseconds per question at 140,000 sentences,
        is left for chunks written since BM25's last rebuild.
        """
        owned, unknown = self.lexical.sentences_of(chunk_ids) if chunk_ids else ([], [])
        wanted = list(dict.fromkeys([*ids, *owned]))
        hits = self.get(SENTENCES, include_vectors=include_vectors, ids=wanted) if wanted else []
        if unknown:
            hits += self.get(SENTENCES, {"chunk_id": {"$in": unknown}}, include_vectors=include_vectors)
        return hits

    def check_consistency(self, repair: bool = False) -> dict[str, Any]:
        """Do the manifest, Chroma and BM25 agree about which documents exist? Optionally repair.

        Repairs never invent data: rows of documents the manifest does not list as complete are
        deleted, documents whose rows or text are missing are dropped from the manifest (re-ingest
        them), and BM25 is rebuilt from Chroma, the source of truth.
        """
        documents = self.documents()
        complete = {d: r.content_hash for d, r in documents.items()}
        orphans: dict[str, list[str]] = {}
        counts: dict[str, dict[str, int]] = {CHUNKS: {}, SENTENCES: {}}
        sentence_docs: dict[str, str] = {}  # sentence row id -> doc id, for complete documents
        set_aside = None
        try:
            rows = {name: self.all_metadata(name) for name in (CHUNKS, SENTENCES)}
        except UserError:
            if not repair or self._chroma_url:
                raise
            set_aside = self._set_aside_chroma()
            rows = {CHUNKS: [], SENTENCES: []}
        except Exception as exc:  # a damaged database fails on read in chromadb's own types
            if not repair or self._chroma_url:
                raise damaged(self.index_dir, f"Chroma cannot read it ({type(exc).__name__})") from None
            set_aside = self._set_aside_chroma()
            rows = {CHUNKS: [], SENTENCES: []}
        for name in (CHUNKS, SENTENCES):
            for row_id, meta in rows[name]:
                doc_id = str(meta.get("doc_id"))
                if complete.get(doc_id) != meta.get("content_hash"):
                    orphans.setdefault(name, []).append(row_id)
                    continue
                counts[name][doc_id] = counts[name].get(doc_id, 0) + 1
                if name == SENTENCES:
                    sentence_docs[row_id] = doc_id
        broken = sorted(
            d
            for d, r in documents.items()
            if counts[CHUNKS].get(d, 0) != r.n_chunks
            or counts[SENTENCES].get(d, 0) != r.n_sentences
            or not (self.index_dir / "texts" / f"{r.content_hash}.txt").is_file()
        )
        good_sentences = {row_id for row_id, doc_id in sentence_docs.items() if doc_id not in broken}
        lexical_drift = self.lexical.outdated or set(self.lexical.ids()) != good_sentences
        report: dict[str, Any] = {
            "documents": len(documents),
            "orphan rows": sum(len(v) for v in orphans.values()),
            "incomplete documents": broken,
            "lexical index in step": not lexical_drift,
            "consistent": not orphans and not broken and not lexical_drift,
        }
        if set_aside is not None:
            report["unreadable Chroma moved to"] = str(set_aside)
        if broken:
            report["ingest again"] = sorted({documents[d].source or documents[d].source_path for d in broken})
        if repair and not report["consistent"]:
            for name, ids in orphans.items():
                for start in range(0, len(ids), 5000):
                    self._collection(name).delete(ids=ids[start : start + 5000])
            if broken:
                if self._chroma_url:
                    self._collection(DOCUMENTS).delete(ids=broken)
                for doc_id in broken:
                    documents.pop(doc_id)
                self._write_manifest(documents)
                for doc_id in broken:
                    self._delete_rows({"doc_id": doc_id})
            self.rebuild_lexical()
            report["repaired"] = True
        return report

    def _set_aside_chroma(self) -> Path:
        """Move an unreadable Chroma folder out of the way (kept, never deleted) so a new one starts."""
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # chromadb caches the failed system per path
        self._client = None
        self._collections.clear()
        self._counts.clear()
        target = self.index_dir / f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(self.index_dir / "chroma", target)
        return target

    # -- sharing one index through a Chroma server -----------------------------------------------
    def _publish(self, record: DocRecord, text: str, chunks: Sequence[Record]) -> None:
        """Mark a document complete on the server, after its rows: other clients rebuild from this."""
        meta = {k: v for k, v in asdict(record).items() if v is not None}
        meta["page_starts"] = json.dumps(record.page_starts)
        vector = chunks[0].vector if chunks else [1.0] + [0.0] * max(0, (self.embed_dim or 1) - 1)
        self._collection(DOCUMENTS).upsert(
            ids=[record.doc_id], embeddings=[vector], documents=[text], metadatas=[meta]
        )

    def sync_from_server(self) -> bool:
        """Make the local manifest, texts and BM25 match the server's; True when anything changed.

        The server is the source of truth, so any machine pointed at it with an empty --index
        directory serves the same index, and knows the content hashes already ingested.
        """
        col = self._collection(DOCUMENTS)
        try:
            res = col.get(include=["metadatas"])
        except Exception as exc:  # chromadb raises many transport errors; all mean the same here
            raise UserError(
                f"cannot read the index from the Chroma server {self._chroma_url} ({exc})",
                "is `chroma run` up at that address?",
            ) from None
        remote: dict[str, DocRecord] = {}
        for doc_id, meta in zip(res["ids"], res["metadatas"], strict=True):
            fields = dict(meta or {})
            fields["page_starts"] = json.loads(str(fields.get("page_starts") or "[]"))
            fields.setdefault("date", None)
            remote[doc_id] = DocRecord(**fields)
        local = self.documents() if self._manifest_path.is_file() else None
        texts = self.index_dir / "texts"
        missing = [d for d, r in remote.items() if not (texts / f"{r.content_hash}.txt").is_file()]
        if local == remote and not missing:
            return False
        self.index_dir.mkdir(parents=True, exist_ok=True)
        texts.mkdir(exist_ok=True)
        for start in range(0, len(missing), 100):
            got = col.get(ids=missing[start : start + 100], include=["documents"])
            for doc_id, text in zip(got["ids"], got["documents"], strict=True):
                _atomic_write(texts / f"{remote[doc_id].content_hash}.txt", text or "")
        self._write_manifest(remote)
        self.rebuild_lexical()
        return True

    def ensure_manifest(self) -> None:
        if not self._manifest_path.is_file():
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._write_manifest({})
