"""Embedders: the real one runs all-MiniLM-L6-v2 in llama.cpp; a hashing one serves fast unit tests.

The MiniLM weights ship as safetensors. They are converted once to GGUF (BERT architecture, mean
pooling, embedding tables kept in f32) and cached in the data directory, so queries and ingest use
the same llama.cpp runtime as the chat model and no torch is ever needed.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index import modelfiles
from index.cpu import ThreadPolicy
from index.errors import ModelFileError

EMBED_WINDOW_TOKENS = 256  # all-MiniLM-L6-v2 was trained with max_seq_length 256
CONVERTER_VERSION = "2"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``count_tokens`` lets chunking fit the window."""

    name: str
    window_tokens: int

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


def _special_token_type(token: str) -> int:
    import gguf

    if token in {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}:
        return int(gguf.TokenType.CONTROL)
    return int(gguf.TokenType.NORMAL)


def _phantom(token: str) -> str:
    """llama.cpp's WPM vocab marks word starts with U+2581 instead of marking continuations with ##."""
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def convert_minilm_to_gguf(safetensors_path: Path, vocab_path: Path, out_path: Path) -> Path:
    """Write a BERT GGUF for llama.cpp from the sentence-transformers checkpoint."""
    import gguf
    from safetensors.numpy import load_file

    tensors = load_file(str(safetensors_path))
    vocab = vocab_path.read_text(encoding="utf-8").splitlines()
    n_layers = 1 + max(int(m.group(1)) for k in tensors if (m := re.search(r"layer\.(\d+)\.", k)))
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)

    tmp = out_path.with_suffix(f".tmp{os.getpid()}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp), arch="bert")
    writer.add_name(modelfiles.EMBED_MODEL_NAME)
    writer.add_context_length(512)
    writer.add_embedding_length(384)
    writer.add_feed_forward_length(1536)
    writer.add_block_count(n_layers)
    writer.add_head_count(12)
    writer.add_layer_norm_eps(1e-12)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_token_type_count(2)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([_phantom(t) for t in vocab])
    writer.add_token_types([_special_token_type(t) for t in vocab])
    ids = {t: i for i, t in enumerate(vocab)}
    writer.add_bos_token_id(ids["[CLS]"])
    writer.add_eos_token_id(ids["[SEP]"])
    writer.add_sep_token_id(ids["[SEP]"])
    writer.add_pad_token_id(ids["[PAD]"])
    writer.add_unk_token_id(ids["[UNK]"])
    writer.add_mask_token_id(ids["[MASK]"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    for name, array in tensors.items():
        if name.startswith("bert."):
            name = name[5:]
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue
        new_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise ModelFileError(
                f"unexpected tensor {name!r} in {safetensors_path}", "is this all-MiniLM-L6-v2?"
            )
        data = array.astype(np.float32)
        is_matmul = new_name.startswith("blk.") and data.ndim == 2  # attention and FFN projections
        if is_matmul:  # lookup tables (token, position, token-type) and norms stay f32
            data = data.astype(np.float16)
        writer.add_tensor(new_name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out_path)
    return out_path


def prepare_default_embedder(data_dir: Path) -> Path:
    """Return the cached MiniLM GGUF, verifying the wheel's files and converting on first use."""
    sources = {name: modelfiles.locate(pinned) for name, pinned in modelfiles.MINILM_FILES.items()}
    stamp_dir = data_dir / "models"
    for name, pinned in modelfiles.MINILM_FILES.items():
        modelfiles.verify(sources[name], pinned.sha256, stamp_dir)
    tag = modelfiles.MINILM_FILES["model.safetensors"].sha256[:12]
    out = data_dir / "models" / f"all-MiniLM-L6-v2-{tag}-c{CONVERTER_VERSION}.gguf"
    if not out.is_file():
        convert_minilm_to_gguf(sources["model.safetensors"], sources["vocab.txt"], out)
    return out


class LlamaEmbedder:
    """A GGUF embedding model in llama.cpp, loaded on first use."""

    def __init__(
        self,
        model_path: Path,
        name: str,
        n_threads: int | None,
        flash_attn: bool = True,
        n_gpu_layers: int = 0,
        batch_tokens: int = 512,
    ) -> None:
        self.model_path = model_path
        self.name = name
        self.window_tokens = EMBED_WINDOW_TOKENS
        self.threads = ThreadPolicy(n_threads)
        self._flash_attn = flash_attn
        self._n_gpu_layers = n_gpu_layers
        self._batch_tokens = batch_tokens
        self._llama: Any = None
        self._dimension: int | None = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._llama is None:
            if not self.model_path.is_file():
                raise ModelFileError(f"embedding model {self.model_path} is missing", modelfiles.INSTALL_HINT)
            from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

            try:
                self._llama = Llama(
                    model_path=str(self.model_path),
                    embedding=True,
                    pooling_type=LLAMA_POOLING_TYPE_MEAN,
                    n_ctx=self._batch_tokens,
                    n_batch=self._batch_tokens,
                    n_ubatch=self._batch_tokens,
                    n_threads=self.threads.limit,
                    n_threads_batch=self.threads.limit,
                    flash_attn=self._flash_attn,
                    n_gpu_layers=self._n_gpu_layers,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelFileError(
                    f"cannot load embedding model {self.model_path}: {exc}",
                    "delete it to rebuild, or pick another",
                ) from None
            self._dimension = int(self._llama.n_embd())
        return self._llama

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._model()
        assert self._dimension is not None
        return self._dimension

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._model().tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def close(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            model = self._model()
            self.threads.apply(model)
            vectors = model.embed(list(texts), normalize=True, truncate=True)
        return [list(map(float, v)) for v in vectors]


class ReusingEmbedder:
    """Embeds each distinct text once per ingest and hands out the same vector for repeats.

    News folders repeat text: wire copy republished by several outlets, boilerplate paragraphs,
    an edited article whose other sentences did not change. The memory is bounded (least recently
    used texts are forgotten), so a 20,000-article ingest stays flat.
    """

    def __init__(self, inner: Embedder, max_texts: int = 50_000) -> None:
        from collections import OrderedDict

        self.inner = inner
        self.name = inner.name
        self.window_tokens = inner.window_tokens
        self.max_texts = max_texts
        self.reused = 0
        self.embedded = 0
        self.tokens_embedded = 0  # what the encoder ran over, special tokens included
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        keys = [hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts]
        todo: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in self._vectors:
                self._vectors.move_to_end(key)
            else:
                todo.setdefault(key, text)
        fresh = self.inner.embed(list(todo.values())) if todo else []
        self.tokens_embedded += sum(
            min(self.inner.count_tokens(text), self.window_tokens) for text in todo.values()
        )
        for key, vector in zip(todo, fresh, strict=True):
            self._vectors[key] = np.asarray(vector, dtype=np.float32)
        out = [self._vectors[key].astype(np.float64).tolist() for key in keys]
        while len(self._vectors) > self.max_texts:
            self._vectors.popitem(last=False)
        self.embedded += len(todo)
        self.reused += len(texts) - len(todo)
        return out


class HashingEmbedder:
    """Deterministic bag-of-words vectors: no model, for fast unit tests of retrieval logic."""

    def __init__(self, dimension: int = 64, name: str = "hashing-64") -> None:
        self.dimension = dimension
        self.name = name
        self.window_tokens = EMBED_WINDOW_TOKENS

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = np.zeros(self.dimension, dtype=np.float64)
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                vec[h % self.dimension] += 1.0
            norm = float(np.linalg.norm(vec))
            out.append((vec / norm if norm else vec).tolist())
        return out
