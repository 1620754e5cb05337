"""Chat models behind one small interface: llama.cpp in process, or an OpenAI-compatible server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from index.cpu import ThreadPolicy
from index.errors import ModelFileError, UserError

Message = dict[str, str]
TokenSink = Callable[[str], None]


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass
class Scores:
    """Log-probabilities of given replies to one prompt, each reply ending there.

    `logprobs[i]` holds one entry per token of reply i, then the log-probability that the reply
    ends after it (end of turn, full stop or line break): a reply the model would continue
    ("Port" when it means "Port Elsby") loses on that last entry.
    """

    logprobs: list[list[float]]
    prompt_tokens: int
    seconds: float

    def total(self, i: int) -> float:
        return sum(self.logprobs[i])


class ChatModel(Protocol):
    name: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        on_token: TokenSink | None = None,
        stop: Sequence[str] = (),
    ) -> Completion: ...


def gpu_offload_supported() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        return False


def llama_backends() -> list[str]:
    """The compute backends this llama.cpp build holds (CPU, CUDA, Metal, …), as its system info
    names them."""
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    except Exception:
        return []
    return list(dict.fromkeys(re.findall(r"(?:^|\| )([A-Za-z][A-Za-z0-9_]*) : ", info)))


@cache
def gguf_header(model_path: Path) -> tuple[int, int]:
    """(layers the model has, output layer included; its parameters), read from the GGUF header
    without loading the weights: what `rag doctor` and the page say before any question."""
    from gguf import GGUFReader

    reader = GGUFReader(str(model_path))
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    layers = int(reader.fields[f"{arch}.block_count"].parts[-1][0]) + 1
    return layers, sum(int(tensor.n_elements) for tensor in reader.tensors)


def offloaded_layers(model_path: Path, n_gpu_layers: int) -> tuple[int, int]:
    """(layers llama.cpp puts on the GPU, layers the model has, output layer included)."""
    total = gguf_header(model_path)[0]
    if not gpu_offload_supported() or n_gpu_layers == 0:
        return 0, total
    return (total if n_gpu_layers < 0 else min(n_gpu_layers, total)), total


def _bounded_ram_cache(capacity_bytes: int) -> Any:
    """A prompt-state cache that holds what its capacity says.

    llama-cpp-python's LlamaRAMCache counts only the KV state (~8 MB for a 340-token prompt here)
    against its capacity, but each entry also keeps a copy of that prompt's logits (tokens × 49k
    vocabulary floats, ~67 MB), which a "256 MB" cache let grow a summary run to 1.4 GB. Resuming
    from a cached prefix never reads those logits (the next token is always evaluated afresh), so
    entries keep a zero view of the right shape instead: no memory, same answers.
    """
    import numpy as np
    from llama_cpp import LlamaRAMCache
    from llama_cpp.llama import LlamaState

    class CompactRAMCache(LlamaRAMCache):  # type: ignore[misc]
        def __setitem__(self, key: Any, value: Any) -> None:
            scores = value.scores
            if scores is not None and scores.size:
                zero_row = np.zeros((1, scores.shape[1]), dtype=scores.dtype)
                scores = np.broadcast_to(zero_row, scores.shape)
            compact = LlamaState(
                input_ids=value.input_ids,
                scores=scores,
                n_tokens=value.n_tokens,
                llama_state=value.llama_state,
                llama_state_size=value.llama_state_size,
                seed=value.seed,
            )
            super().__setitem__(key, compact)

    return CompactRAMCache(capacity_bytes=capacity_bytes)


# Generated tokens between two looks at how many cores are free (a look costs tens of microseconds).
RECHECK_THREADS_EVERY = 8


class LlamaChatModel:
    """One long-lived llama.cpp instance; a lock serialises callers (UI sessions queue, not crash)."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int,
        n_threads: int | None,
        n_gpu_layers: int,
        flash_attn: bool,
        seed: int,
        prompt_cache_mb: int = 0,
    ) -> None:
        self.model_path = model_path
        self.prompt_cache_mb = prompt_cache_mb
        self.name = model_path.stem
        self.threads = ThreadPolicy(n_threads)
        self.settings: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_threads": self.threads.limit,
            "n_threads_batch": self.threads.limit,
            "n_gpu_layers": n_gpu_layers if gpu_offload_supported() else 0,
            "flash_attn": flash_attn,
            "seed": seed,
            "n_batch": 512,
        }
        self._llama: Any = None
        self._lock = threading.Lock()
        self.load_s = 0.0
        self._chat_formatter: Any = None
        self._turn_end: list[int] | None = None

    def load(self) -> Any:
        if self._llama is None:
            if not self.model_path.is_file():
                raise ModelFileError(
                    f"chat model {self.model_path} is missing",
                    "pass an existing GGUF with --model, or `make setup`",
                )
            from llama_cpp import Llama

            t0 = time.perf_counter()
            try:
                self._llama = Llama(model_path=str(self.model_path), verbose=False, **self.settings)
            except (ValueError, RuntimeError) as exc:
                raise ModelFileError(
                    f"cannot load chat model {self.model_path} ({exc})",
                    "the file is corrupt or not a GGUF; pick another with --model",
                ) from None
            if self.prompt_cache_mb:
                # Answer, retry and summary prompts each start with their own static prefix (system
                # prompt, worked examples). llama.cpp keeps only the last prompt's KV; the RAM cache
                # keeps a state per prompt, so alternating between them still reuses each prefix.
                self._llama.set_cache(_bounded_ram_cache(self.prompt_cache_mb << 20))
            self.load_s = time.perf_counter() - t0
        return self._llama

    def parameters(self) -> int:
        """The model's size in parameters (loads it): larger readers are given whole passages."""
        import llama_cpp

        return int(llama_cpp.llama_model_n_params(self.load().model))

    def forget_prompts(self) -> None:
        """Drop every reusable prompt prefix (the context's and the cache's), for cold timings."""
        with self._lock:
            llama = self.load()
            llama.reset()
            if llama.cache is not None:
                llama.cache.cache_state.clear()

    def close(self) -> None:
        """Free the model now; left to interpreter shutdown, llama-cpp-python's finalizer can fail noisily."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    def _formatter(self, llama: Any) -> Any:
        """The model's own chat template, as `create_chat_completion` uses it."""
        if self._chat_formatter is None:
            from llama_cpp.llama_chat_format import CHATML_CHAT_TEMPLATE, Jinja2ChatFormatter

            def text(token: int) -> str:
                return str(llama._model.token_get_text(token)) if token != -1 else ""

            self._chat_formatter = Jinja2ChatFormatter(
                template=llama.metadata.get("tokenizer.chat_template", CHATML_CHAT_TEMPLATE),
                eos_token=text(llama.token_eos()),
                bos_token=text(llama.token_bos()),
                stop_token_ids=[llama.token_eos()],
            )
        return self._chat_formatter

    def _end_of_turn(self, llama: Any, formatted: Any) -> list[int]:
        """Tokens after which a reply is complete: the template's end of turn (ChatML's <|im_end|>),
        a full stop, a line break."""
        if self._turn_end is None:
            probe = self._formatter(llama)(
                messages=[{"role": "user", "content": "x"}, {"role": "assistant", "content": "\x00"}]
            )
            after = probe.prompt.split("\x00", 1)[1] if "\x00" in probe.prompt else ""
            closing = after.split("\n", 1)[0] if after.strip() else ""
            tokens = llama.tokenize(closing.encode(), add_bos=False, special=True) if closing else []
            stops = [llama.tokenize(mark.encode(), add_bos=False, special=False) for mark in (".", "\n")]
            self._turn_end = list(
                dict.fromkeys((tokens[:1] or [llama.token_eos()]) + [s[0] for s in stops if len(s) == 1])
            )
        return self._turn_end

    def score(self, messages: Sequence[Message], replies: Sequence[str]) -> Scores:
        """Log-probability of each reply as the assistant's whole answer to `messages`.

        The prompt is evaluated once (and its prefix reused from the last call, as generation does);
        each reply then costs one batch of a few tokens whose logits are all read.
        """
        import numpy as np

        with self._lock:
            llama = self.load()
            t0 = time.perf_counter()
            formatted = self._formatter(llama)(messages=list(messages))
            prompt = llama.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
            end = self._end_of_turn(llama, formatted)
            self.threads.apply(llama)
            n_prompt = self._eval_prefix(llama, prompt)
            n_vocab = llama.n_vocab()
            first = _log_softmax(
                np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(n_vocab,)).copy()
            )
            out: list[list[float]] = []
            for reply in replies:
                tokens = llama.tokenize(reply.encode("utf-8"), add_bos=False, special=False)
                tokens = tokens[: max(1, llama.n_batch - 1)] or end[:1]
                if n_prompt + len(tokens) >= llama.n_ctx():
                    out.append([float("-inf")])
                    continue
                llama._ctx.kv_cache_seq_rm(-1, n_prompt, -1)
                llama._batch.set_batch(batch=tokens, n_past=n_prompt, logits_all=True)
                llama._ctx.decode(llama._batch)
                rows = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(tokens) * n_vocab,))
                table = _log_softmax(rows.reshape(len(tokens), n_vocab).copy())
                logprobs = [float(first[tokens[0]])]
                logprobs += [float(table[i, tok]) for i, tok in enumerate(tokens[1:])]
                logprobs.append(float(np.logaddexp.reduce(table[-1, end])))
                out.append(logprobs)
            llama._ctx.kv_cache_seq_rm(-1, n_prompt, -1)
            llama.n_tokens = n_prompt
            return Scores(out, len(prompt), time.perf_counter() - t0)

    def _eval_prefix(self, llama: Any, prompt: list[int]) -> int:
        """Evaluate `prompt`, reusing the longest prefix the context or the prompt cache holds (a
        reading prompt continues its draft's conversation, which generation cached); at least its
        last token is evaluated so that its logits are fresh. Nothing is saved: a saved state copies
        the whole logits buffer (100 MB for this vocabulary) on the way."""
        from llama_cpp import Llama

        def held() -> int:
            return int(Llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), prompt[:-1]))

        if llama.cache:
            try:
                cached = llama.cache[prompt]
                if Llama.longest_token_prefix(cached.input_ids.tolist(), prompt[:-1]) > held():
                    llama.load_state(cached)
            except KeyError:
                pass
        llama.n_tokens = held()
        llama.eval(prompt[llama.n_tokens :])
        return len(prompt)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        on_token: TokenSink | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        with self._lock:
            llama = self.load()
            t0 = time.perf_counter()
            pieces: list[str] = []
            n_completion = 0
            self.threads.apply(llama)
            stream = llama.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=40 if temperature > 0 else 1,
                repeat_penalty=1.1,
                seed=self.settings["seed"],
                stop=list(stop) or None,
                stream=True,
            )
            for chunk in stream:
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    n_completion += 1
                    pieces.append(delta)
                    if n_completion % RECHECK_THREADS_EVERY == 0:  # a neighbour may have started
                        self.threads.apply(llama)
                    if on_token:
                        on_token(delta)
            total_tokens = int(llama.n_tokens)
            return Completion(
                text="".join(pieces),
                prompt_tokens=max(0, total_tokens - n_completion),
                completion_tokens=n_completion,
                seconds=time.perf_counter() - t0,
            )


class ReplyScorer(Protocol):
    """A chat model that can say how likely each of several replies is (in-process models can)."""

    def score(self, messages: Sequence[Message], replies: Sequence[str]) -> Scores: ...


def can_score(chat: object) -> bool:
    return callable(getattr(chat, "score", None))


def _log_softmax(rows: Any) -> Any:
    import numpy as np

    rows = rows - rows.max(axis=-1, keepdims=True)
    return rows - np.log(np.exp(rows).sum(axis=-1, keepdims=True))


class OpenAIChatModel:
    """Generation on any OpenAI-compatible server (llama.cpp server, vLLM, …).

    Streams, so the page shows the draft as it comes, and sends the same sampling settings as the
    in-process model (greedy ``top_k`` at temperature 0, ``repeat_penalty``, ``seed``), so that eval
    metrics agree between the two backends.
    """

    def __init__(
        self, base_url: str, model: str = "default", seed: int = 0, timeout_s: float = 120.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = f"{model}@{self.base_url}"
        self._model = model
        self._seed = seed
        self._timeout = timeout_s
        self.load_s = 0.0

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        on_token: TokenSink | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        import json
        import urllib.error
        import urllib.request

        body = {
            "model": self._model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_k": 40 if temperature > 0 else 1,
            "repeat_penalty": 1.1,
            "seed": self._seed,
            "stop": list(stop) or None,
            "stream": True,
        }
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        t0 = time.perf_counter()
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                for raw in response:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    event = json.loads(payload)
                    usage = event.get("usage") or usage
                    choices = event.get("choices") or [{}]
                    delta = (choices[0].get("delta") or {}).get("content")
                    if delta:
                        pieces.append(delta)
                        if on_token:
                            on_token(delta)
        except urllib.error.HTTPError as exc:
            raise UserError(
                f"the model server at {self.base_url} refused the request (HTTP {exc.code})",
                "check --llm-url: it should end in /v1 and serve chat completions",
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise UserError(
                f"the model server at {self.base_url} did not answer ({exc})", "is it running?"
            ) from None
        return Completion(
            text="".join(pieces),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", len(pieces))),
            seconds=time.perf_counter() - t0,
        )
