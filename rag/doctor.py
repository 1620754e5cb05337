"""`rag doctor`: what is installed, what runs where, and why each setting has its value."""

from __future__ import annotations

import platform
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any

from index import modelfiles
from index.cpu import ThreadPolicy
from index.errors import UserError
from rag.llm import gpu_offload_supported, llama_backends, offloaded_layers
from rag.settings import Settings, config_file_path, load_settings, setting_sources


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _loaded_chat_file(settings: Settings) -> Path | str:
    """The GGUF that `ask` loads: the selected one, or the default stored as `chat_quant` says."""
    from rag.factory import App

    try:
        return App(settings).chat_model_path()
    except UserError as exc:
        return f"problem: {exc}"


def _chat_reads(settings: Settings) -> str:
    from rag.factory import App

    return App(settings).chat_reads()


def _offload_line(model: Path | str, n_gpu_layers: int) -> str:
    if not isinstance(model, Path):
        return "unknown (no chat model file)"
    try:
        used, total = offloaded_layers(model, n_gpu_layers)
    except Exception as exc:  # a GGUF header we cannot read is reported, not raised
        return f"unknown ({type(exc).__name__})"
    return f"{used} of {total} on the GPU" if used else f"0 of {total} (all on the CPU)"


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
        models["chat wheel file"] = str(chat)
        models["chat sha256"] = modelfiles.verify(
            chat, modelfiles.CHAT_GGUF.sha256, settings.data_dir / "models"
        )
    except UserError as exc:
        models["chat wheel file"] = f"problem: {exc}"
    loaded = _loaded_chat_file(settings)
    models["chat loaded"] = str(loaded) if isinstance(loaded, Path) else loaded
    models["chat model reads"] = _chat_reads(settings)
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
        "llama.cpp backends": ", ".join(llama_backends()) or "unknown",
        "gpu offload available": gpu_offload_supported(),
        "gpu layers (chat model)": _offload_line(loaded, settings.n_gpu_layers),
        "threads": ThreadPolicy(settings.n_threads).describe(),
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
