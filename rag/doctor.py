"""`rag doctor`: what is installed, what runs where, and why each setting has its value."""

from __future__ import annotations

import platform
import sqlite3
from importlib import metadata
from typing import Any

from index import modelfiles
from index.errors import UserError
from rag.llm import gpu_offload_supported
from rag.settings import config_file_path, load_settings, setting_sources


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def diagnose(cli_flags: dict[str, Any]) -> dict[str, dict[str, Any]]:
    settings = load_settings(**cli_flags)
    report: dict[str, dict[str, Any]] = {}
    report["versions"] = {
        "python": platform.python_version(),
        **{
            d: _version(d)
            for d in ("rag-news", "llama-cpp-python", "chromadb", "gradio", "langchain-text-splitters")
        },
        "sqlite (used by Chroma)": sqlite3.sqlite_version,
    }
    models: dict[str, Any] = {}
    try:
        chat = modelfiles.locate(modelfiles.CHAT_GGUF)
        models["chat default"] = str(chat)
        models["chat sha256"] = modelfiles.verify(
            chat, modelfiles.CHAT_GGUF.sha256, settings.data_dir / "models"
        )
    except UserError as exc:
        models["chat default"] = f"problem: {exc}"
    if settings.model:
        models["chat selected"] = f"{settings.model} ({'exists' if settings.model.is_file() else 'MISSING'})"
    for name, pinned in modelfiles.MINILM_FILES.items():
        try:
            models[f"embedder {name}"] = modelfiles.verify(
                modelfiles.locate(pinned), pinned.sha256, settings.data_dir / "models"
            )
        except UserError as exc:
            models[f"embedder {name}"] = f"problem: {exc}"
    converted = sorted((settings.data_dir / "models").glob("all-MiniLM-L6-v2-*.gguf"))
    models["embedder gguf"] = str(converted[-1]) if converted else "not converted yet (`rag models prepare`)"
    report["models"] = models
    report["hardware"] = {
        "gpu offload available": gpu_offload_supported(),
        "gpu layers used": settings.n_gpu_layers if gpu_offload_supported() else 0,
        "threads": settings.n_threads,
    }
    index: dict[str, Any] = {"location": str(settings.index_dir)}
    manifest = settings.index_dir / "manifest.json"
    if manifest.is_file():
        import json

        data = json.loads(manifest.read_text(encoding="utf-8"))
        docs = data.get("documents", {})
        index.update(
            {
                "documents": len(docs),
                "chunks": sum(d.get("n_chunks", 0) for d in docs.values()),
                "sentences": sum(d.get("n_sentences", 0) for d in docs.values()),
                "embedding model": data.get("embed_model"),
                "dimension": data.get("embed_dim"),
            }
        )
    else:
        index["status"] = "empty (run `rag ingest PATH`)"
    report["index"] = index
    sources = setting_sources(settings, cli_flags)
    report["settings"] = {name: f"{value}  ({origin})" for name, (value, origin) in sources.items()}
    report["settings"]["config file"] = str(config_file_path() or "none")
    return report
