"""The one place that turns settings into objects; everything else takes plain arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from index import modelfiles
from index.embedder import Embedder, LlamaEmbedder, prepare_default_embedder
from index.errors import ModelFileError, UserError
from index.ingest import IngestReport
from index.ingest import ingest as run_ingest
from index.progress import ProgressMode
from index.store import ChromaStore, DocRecord, WriterLock, forget_open_indexes, index_stamp
from rag.answer import Answerer, AnswerOptions
from rag.llm import ChatModel, LlamaChatModel, OpenAIChatModel, gguf_header, gpu_offload_supported
from rag.read import describe_reading
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.summarize import Summarizer


class App:
    """Lazily built components for one settings object; shells hold one per process."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, chat: ChatModel | None = None
    ) -> None:
        self.settings = settings
        self._index_stamp = index_stamp(settings.index_dir) if not settings.chroma_url else ()
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        if chat is not None:
            self.__dict__["chat"] = chat

    @property
    def gpu_layers(self) -> int:
        return self.settings.n_gpu_layers if gpu_offload_supported() else 0

    def chat_reads(self) -> str:
        """What the chat model reads (sentences or passages) and why, from its GGUF header: said
        before any question loads the model."""
        parameters = None
        if not self.settings.llm_url:
            try:
                parameters = gguf_header(self.chat_model_path())[1]
            except Exception:  # no model file or an unreadable header: the size is unknown
                parameters = None
        return describe_reading(self.settings.reading, parameters)

    def chat_flash_attn(self) -> bool:
        """Flash attention pays on a GPU; on a CPU llama.cpp decodes this model faster without it."""
        if self.settings.flash_attn is not None:
            return self.settings.flash_attn
        return self.settings.n_gpu_layers != 0 and gpu_offload_supported()

    def embed_model_path(self) -> Path:
        if self.settings.embed_model:
            path = self.settings.embed_model
            if not path.is_file():
                raise ModelFileError(
                    f"embedding model {path} does not exist", "fix --embed-model / RAG_EMBED_MODEL"
                )
            return path
        return prepare_default_embedder(self.settings.data_dir)

    def chat_model_path(self) -> Path:
        if self.settings.model:
            path = self.settings.model
            if not path.is_file():
                raise ModelFileError(
                    f"chat model {path} does not exist", "fix --model / RAG_MODEL, or see `rag models`"
                )
            return path
        from rag.models import prepare_chat_model

        return prepare_chat_model(self.settings.data_dir, self.settings.chat_quant)

    @cached_property
    def embedder(self) -> Embedder:
        path = self.embed_model_path()
        name = modelfiles.EMBED_MODEL_NAME if not self.settings.embed_model else path.stem
        return LlamaEmbedder(
            path,
            name=name,
            n_threads=self.settings.n_threads,
            flash_attn=self.settings.embed_flash_attn,
            n_gpu_layers=self.gpu_layers,
        )

    @cached_property
    def chat(self) -> ChatModel:
        if self.settings.llm_url:
            return OpenAIChatModel(self.settings.llm_url, seed=self.settings.seed)
        return LlamaChatModel(
            self.chat_model_path(),
            n_ctx=self.settings.n_ctx,
            n_threads=self.settings.n_threads,
            n_gpu_layers=self.settings.n_gpu_layers,
            flash_attn=self.chat_flash_attn(),
            seed=self.settings.seed,
            prompt_cache_mb=self.settings.prompt_cache_mb,
        )

    def store(self, create: bool = False, verify: bool = True) -> ChromaStore:
        """The index; for reading (``verify``) a damaged one is an error that names the repair."""
        embedder = self.embedder
        store = ChromaStore(
            self.settings.index_dir,
            embed_model=embedder.name,
            embed_dim=embedder.dimension,
            chroma_url=self.settings.chroma_url,
            chroma_prefix=self.settings.chroma_prefix,
            create=create,
        )
        if not create:
            store.check_model()
            if verify:
                store.check_intact()
        return store

    @cached_property
    def answerer(self) -> Answerer:
        scores = self.settings.reader == "auto"
        retriever = Retriever(self.store(), self.embedder)
        return Answerer(retriever, self.chat, score_replies=scores, reading=self.settings.reading)

    def ingest(
        self,
        paths: Sequence[Path],
        report: Callable[[str], None] | None = None,
        progress: ProgressMode = "off",
        on_file: Callable[[int, int, str], None] | None = None,
        urls: Sequence[str] = (),
        feeds: Sequence[str] = (),
        allow_private: bool = False,
    ) -> IngestReport:
        s = self.settings
        existed = s.index_dir.exists()
        fresh = not existed or not any(s.index_dir.iterdir())
        result = run_ingest(
            list(paths),
            self.store(create=True),
            self.embedder,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap=s.chunk_overlap,
            max_file_mb=s.max_file_mb,
            lock_timeout_s=s.lock_timeout_s,
            report=report,
            progress=progress,
            progress_every_s=s.progress_every_s,
            on_file=on_file,
            urls=urls,
            feeds=feeds,
            allow_private=allow_private,
            fetch_timeout_s=s.fetch_timeout_s,
            pool_chunks=s.chunk_vectors == "pooled",
        )
        self.reopen()
        if fresh and not result.usable and not self.store(verify=False).documents():
            self._forget_new_index(keep_folder=existed)
        return result

    def _forget_new_index(self, keep_folder: bool) -> None:
        """An ingest that indexed nothing into a new index leaves no index behind (an empty folder the
        user made stays, emptied again)."""
        import shutil

        index_dir = self.settings.index_dir
        for entry in index_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        if not keep_folder:
            index_dir.rmdir()
        self.reopen()

    def remove_documents(self, doc_ids: Sequence[str]) -> list[DocRecord]:
        """Remove documents under the writer lock, then rebuild BM25 so both indexes agree."""
        store = self.store(verify=False)
        removed = []
        with WriterLock(store.index_dir, self.settings.lock_timeout_s):
            unknown = [d for d in doc_ids if d not in store.documents()]
            if unknown:
                raise UserError(
                    f"no document {unknown[0]!r} in the index (nothing removed)", "see `rag docs list`"
                )
            for doc_id in doc_ids:
                removed.append(store.remove_document(doc_id))
            store.rebuild_lexical()
        self.reopen()
        return removed

    def check_index(self, repair: bool) -> dict[str, object]:
        """`rag doctor --check`: report drift between manifest, Chroma and BM25; repair under the lock."""
        store = self.store(verify=False)
        if not repair:
            return store.check_consistency(repair=False)
        with WriterLock(store.index_dir, self.settings.lock_timeout_s):
            report = store.check_consistency(repair=True)
        self.reopen()
        return report

    def close(self) -> None:
        """Free the models now rather than at interpreter shutdown."""
        for name in ("chat", "embedder"):
            closer = getattr(self.__dict__.get(name), "close", None)
            if closer:
                closer()

    def reopen(self) -> None:
        """Drop readers built on the old index state (their BM25 and manifest views are stale)."""
        for name in ("answerer", "summarizer"):
            self.__dict__.pop(name, None)
        if not self.settings.chroma_url:
            self._index_stamp = index_stamp(self.settings.index_dir)

    def follow_index(self) -> None:
        """Read the index anew when another process (an ingest, `rag docs rm`) changed it since this
        App last read it; the models stay loaded. Long-lived shells (the page, the resident
        `rag ask`) call it before each request."""
        if self.settings.chroma_url or index_stamp(self.settings.index_dir) == self._index_stamp:
            return
        forget_open_indexes()
        self.reopen()

    def use_chat_model(self, path: Path) -> None:
        """Switch the shared chat model (the UI's settings tab); the old one is freed."""
        if not path.is_file():
            raise ModelFileError(f"chat model {path} does not exist", "pick an installed model")
        self.settings = self.settings.model_copy(update={"model": path, "llm_url": None})
        self.__dict__.pop("chat", None)
        self.reopen()

    @cached_property
    def summarizer(self) -> Summarizer:
        return Summarizer(
            self.store(), self.answerer.retriever, self.chat, rewrites=self.settings.summary_rewrites
        )

    def answer_options(self, **overrides: object) -> AnswerOptions:
        s = self.settings
        opts = AnswerOptions(
            k=s.k,
            n_evidence=s.evidence,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            answer_threshold=s.answer_threshold,
            as_of=s.as_of,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(opts, key, value)
        opts.since, opts.until = self.date_bounds(opts.since, opts.until)
        return opts

    def date_bounds(self, since: str | None, until: str | None) -> tuple[str | None, str | None]:
        """`--since`/`--until` as ISO days, one reading for asking and summarizing: a date as given,
        a phrase ("last week") against the as-of date."""
        from datetime import date

        from rag.timewindow import bound

        as_of = self.settings.as_of or date.today()
        return bound(since, as_of, end=False), bound(until, as_of, end=True)
