"""`rag bench`: speed through our code path next to a bare llama-cpp-python loop, same settings.

Medians over repeats. Generation speed is decode speed (tokens after the first / time after the
first), so prompt processing is reported separately as time to first token, cold and warm-prefix.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from index.errors import UserError
from index.store import CHUNKS
from rag.analyse import analyse
from rag.prompts import draft_messages
from rag.retrieve import Evidence

# The bench's own text, written for it: the generation prompt is the same size and shape as a real
# answer's evidence without being any article's story.
BENCH_PROMPT_SENTENCES = [
    "The Kestrel Ridge observatory reopened its main telescope after a refit that took 14 months.",
    "The new mirror coating reflects 96 percent of light, up from 88 percent before the refit.",
    "The refit cost 7.2 million francs, of which the regional science fund paid two thirds.",
    "Director Ilse Varga said the first survey will map 3,000 faint galaxies by next winter.",
    "Night tours for visitors resume in May, with 40 places on each of three evenings a week.",
    "A road crew will widen the access track in June, closing it for nine days.",
]
GENERATION_QUESTIONS = [
    "How long did the telescope refit take?",
    "How much light does the new coating reflect?",
    "Who paid for most of the refit?",
    "How many galaxies will the first survey map?",
    "When do the night tours resume?",
]
SAMPLE_SET = Path(__file__).resolve().parent.parent / "eval" / "sets" / "sample.jsonl"
GENERIC_QUESTIONS = ["What happened?", "Who said what?", "When did it happen?", "How many were there?"]


def corpus_questions(corpus: Path | None, n: int = 5) -> list[str]:
    """Questions for the corpus being timed: the sample eval set's own for the sample articles,
    general ones for a corpus of the user's."""
    if corpus is None and SAMPLE_SET.is_file():
        import json

        items = [json.loads(line) for line in SAMPLE_SET.read_text(encoding="utf-8").splitlines() if line]
        asked = [x["question"] for x in items if x.get("kind") == "answer"]
        return asked[:n] or GENERIC_QUESTIONS
    return GENERIC_QUESTIONS


def bench_messages(question: str, evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """Exactly what `ask` sends the model to draft an open question's answer from this evidence."""
    return draft_messages(question, evidence)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _effective(llama: Any) -> dict[str, Any]:
    """What the llama.cpp context actually runs with, read back from it (not what we asked for)."""
    return {
        "n_ctx": llama.n_ctx(),
        "n_threads": llama.n_threads,
        "n_threads_batch": llama.n_threads_batch,
        "n_batch": llama.n_batch,
        "n_gpu_layers": llama.model_params.n_gpu_layers,
        "flash_attn_type": int(llama.context_params.flash_attn_type),
    }


def _decode_rate(run: Callable[[Callable[[str], None]], int]) -> tuple[float, float]:
    """(time to first token, decode tokens/s) for one streamed generation."""
    stamps: list[float] = []
    t0 = time.perf_counter()
    n = run(lambda _piece: stamps.append(time.perf_counter()))
    if len(stamps) < 2:
        return (stamps[0] - t0 if stamps else 0.0), 0.0
    return stamps[0] - t0, (min(n, len(stamps)) - 1) / (stamps[-1] - stamps[0])


def _bare_embed_times(embedder: Any, texts: list[str], repeats: int) -> list[float]:
    """llama.cpp's own speed on the same batches: pre-tokenized, no read-back, no Python per text.

    What our embedder reaches against this is the figure (like generation's ratio to a bare loop);
    the absolute tokens/s is the machine's.
    """
    from index.embedder import LlamaEmbedder

    if not isinstance(embedder, LlamaEmbedder):
        return []
    llama = embedder._model()
    token_lists = [llama.tokenize(x.encode("utf-8"))[: llama.n_batch] for x in texts]
    batches: list[list[list[int]]] = [[]]
    for tokens in token_lists:
        if sum(map(len, batches[-1])) + len(tokens) > llama.n_batch:
            batches.append([])
        batches[-1].append(tokens)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for batch in batches:
            llama._batch.reset()
            for seq, tokens in enumerate(batch):
                llama._batch.add_sequence(tokens, seq, True)
            llama._ctx.kv_cache_clear()
            llama._ctx.decode(llama._batch)
        times.append(time.perf_counter() - t0)
    llama._batch.reset()
    return times


@contextmanager
def competing_load(n: int) -> Iterator[int]:
    """`n` CPU-bound processes (plain busy loops), as a browser tab, a build or a second job would be."""
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(n)
    ]
    try:
        time.sleep(0.3)  # let them reach their loops
        yield n
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait()


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def bench(
    app: Any,
    repeats: int = 5,
    corpus: Path | None = None,
    log: Callable[[str], None] = print,
    contended: bool = False,
) -> dict[str, Any]:
    from rag.llm import LlamaChatModel

    results: dict[str, Any] = {"settings": {}}
    chat = app.chat
    if not isinstance(chat, LlamaChatModel):
        raise UserError(
            "rag bench measures the in-process llama.cpp model", "run it without --llm-url / RAG_LLM_URL"
        )
    log("loading models")
    t0 = time.perf_counter()
    chat.load()
    load_chat = time.perf_counter() - t0
    t0 = time.perf_counter()
    _ = app.embedder.dimension
    load_embed = time.perf_counter() - t0
    results["load"] = {"chat_s": round(load_chat, 3), "embedder_s": round(load_embed, 3)}
    results["settings"], results["generation"] = _bench_generation(chat, repeats, log)
    results["embedding"] = _bench_embedding(app.embedder, repeats, log)
    results.update(_bench_corpus(app, chat, repeats, corpus, log))
    if contended:
        results["contended"] = _bench_contended(app, chat, repeats, corpus, log, results)
    return results


def _bench_contended(
    app: Any,
    chat: Any,
    repeats: int,
    corpus: Path | None,
    log: Callable[[str], None],
    idle: dict[str, Any],
) -> dict[str, Any]:
    """The corpus figures again next to one busy process per core, side by side with the idle ones."""
    n = machine_cores()
    log(f"the same next to {n} busy process(es), one per core")
    with competing_load(n):
        busy = _bench_corpus(app, chat, repeats, corpus, log)
    pairs = {
        "ask_p50_s": (idle["ask"]["p50_s"], busy["ask"]["p50_s"]),
        "generate_p50_s": (idle["ask"]["generate_p50_s"], busy["ask"]["generate_p50_s"]),
        "ingest_files_per_s": (idle["ingest"]["files_per_s"], busy["ingest"]["files_per_s"]),
        "summary_s": (idle["summary"]["seconds"], busy["summary"]["seconds"]),
        "cold_ask_s": (idle["ask"]["cold_ask_s"], busy["ask"]["cold_ask_s"]),
        "resident_ask_s": (idle["ask"]["resident_ask_s"], busy["ask"]["resident_ask_s"]),
    }
    out: dict[str, Any] = {"competing_processes": n}
    for key, (calm, loaded) in pairs.items():
        out[f"{key} idle"] = calm
        out[f"{key} contended"] = loaded
        out[f"{key} ratio"] = round(loaded / calm, 2) if calm else None
    return out


def _bench_generation(
    chat: Any, repeats: int, log: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our streamed generation against a bare llama-cpp-python loop on the same weights."""
    from llama_cpp import Llama

    evidence = [
        Evidence(f"b{i}", "bench", "bench#0", "Bench", None, None, 0, 1, s, 1.0)
        for i, s in enumerate(BENCH_PROMPT_SENTENCES)
    ]
    max_tokens = 64

    log("generation: our path vs a bare llama-cpp-python loop (interleaved)")
    bare = Llama(model_path=str(chat.model_path), verbose=False, **chat.settings)
    ours_effective, bare_effective = _effective(chat.load()), _effective(bare)
    settings = {
        "model": str(chat.model_path),
        "ours": ours_effective,
        "bare": bare_effective,
        "identical": ours_effective == bare_effective,
    }
    ours_ttft, ours_rate, warm_ttft, bare_rate, bare_ttft = [], [], [], [], []
    # Interleaved, so that a slow spell of the machine (frequency, a neighbour) hits both sides alike.
    for r in range(repeats):
        messages = bench_messages(GENERATION_QUESTIONS[r % len(GENERATION_QUESTIONS)] + f" ({r})", evidence)
        chat.forget_prompts()  # cold: neither the context nor the prompt cache holds a prefix

        def run_ours(sink: Callable[[str], None], messages: list[dict[str, str]] = messages) -> int:
            return chat.complete(
                messages, max_tokens=max_tokens, temperature=0.0, on_token=sink
            ).completion_tokens

        ttft, rate = _decode_rate(run_ours)
        ours_ttft.append(ttft)
        ours_rate.append(rate)
        warm_ttft.append(_decode_rate(run_ours)[0])
        bare.reset()

        def run_bare(sink: Callable[[str], None], messages: list[dict[str, str]] = messages) -> int:
            n = 0
            stream: Any = bare.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.1,
                seed=chat.settings["seed"],
                stream=True,
            )
            for chunk in stream:
                if chunk["choices"][0].get("delta", {}).get("content"):
                    n += 1
                    sink("")
            return n

        ttft, rate = _decode_rate(run_bare)
        bare_ttft.append(ttft)
        bare_rate.append(rate)
    bare.close()
    prompt_tokens = len(chat.load().tokenize(str(messages).encode()))
    return settings, {
        "tokens_per_s": round(_median(ours_rate), 1),
        "bare_tokens_per_s": round(_median(bare_rate), 1),
        "ratio_vs_bare": round(_median(ours_rate) / _median(bare_rate), 3) if _median(bare_rate) else None,
        "ttft_cold_s": round(_median(ours_ttft), 3),
        "ttft_bare_cold_s": round(_median(bare_ttft), 3),
        "ttft_warm_prefix_s": round(_median(warm_ttft), 3),
        "prompt_tokens_approx": prompt_tokens,
    }


def _bench_embedding(embedder: Any, repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    log("embedding throughput")
    texts = [f"{s} Item {i}." for i in range(40) for s in BENCH_PROMPT_SENTENCES][:240]
    n_tokens = sum(embedder.count_tokens(x) for x in texts)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        embedder.embed(texts)
        times.append(time.perf_counter() - t0)
    bare_times = _bare_embed_times(embedder, texts, repeats)
    return {
        "texts": len(texts),
        "tokens": n_tokens,
        "chunks_per_s": round(len(texts) / _median(times), 1),
        "tokens_per_s": round(n_tokens / _median(times), 1),
        "bare_tokens_per_s": round(n_tokens / _median(bare_times), 1) if bare_times else None,
    }


def _bench_corpus(
    app: Any, chat: Any, repeats: int, corpus: Path | None, log: Callable[[str], None]
) -> dict[str, Any]:
    """Ingest, retrieval and ask over a small corpus (the sample articles unless told)."""
    log("ingest, retrieval and ask on the sample corpus")
    results: dict[str, Any] = {}
    from rag.factory import App
    from rag.settings import Settings

    source = corpus or Path(__file__).resolve().parent.parent / "eval" / "corpus"
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        local = App(
            Settings(**{**app.settings.model_dump(), "index": Path(tmp) / "index"}),
            embedder=app.embedder,
            chat=chat,
        )
        t0 = time.perf_counter()
        report = local.ingest([source])
        ingest_s = time.perf_counter() - t0
        results["ingest"] = {
            "files": report.count("indexed"),
            "files_per_s": round(report.count("indexed") / ingest_s, 3),
            "chunks": report.chunks_written,
            "sentences": report.sentences_written,
            "seconds": round(ingest_s, 3),
            "chunks_per_s": round(report.chunks_written / ingest_s, 2),
            "rows_per_s": round((report.chunks_written + report.sentences_written) / ingest_s, 2),
            "tokens_in_documents": report.tokens_in_documents,
            "tokens_embedded": report.tokens_embedded,
            "tokens_embedded_per_document_token": round(
                report.tokens_embedded / max(1, report.tokens_in_documents), 3
            ),
        }
        store = local.store()
        retriever = local.answerer.retriever
        dense, lexical, fused = [], [], []
        questions = corpus_questions(corpus)
        for q in questions * repeats:
            vec = app.embedder.embed([q])[0]
            t0 = time.perf_counter()
            store.query(CHUNKS, vec, 6)
            dense.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.lexical_search(q, 24)
            lexical.append(time.perf_counter() - t0)
            query = analyse(q)
            t0 = time.perf_counter()
            retriever.retrieve(query, k=6, n_evidence=6)
            fused.append(time.perf_counter() - t0)
        results["retrieval"] = {
            "dense_p50_ms": round(_median(dense) * 1000, 2),
            "lexical_p50_ms": round(_median(lexical) * 1000, 2),
            "p50_ms": round(_median(fused) * 1000, 2),
        }
        asks = []
        for q in questions:
            chat.forget_prompts()  # each question from a cold context, as a new question is
            asks.append(asdict(local.answerer.ask(q, local.answer_options()).timings))
        results["ask"] = {
            "p50_s": round(_median([a["total_s"] for a in asks]), 3),
            "retrieve_p50_s": round(_median([a["retrieve_s"] for a in asks]), 3),
            "generate_p50_s": round(_median([a["generate_s"] for a in asks]), 3),
            "questions": len(asks),
            "cold_ask_s": _cold_ask(local.settings.index_dir, local.settings.data_dir, questions[0]),
            "resident_ask_s": _resident_ask(local.settings.index_dir, local.settings.data_dir, questions),
        }
        results["summary"] = _bench_summary(local, chat)
    return results


def _cold_ask(index: Path, data_dir: Path, question: str) -> float:
    """Wall clock of `rag ask` in a new process with nothing resident: imports, models, index and
    the answer."""
    return _timed_ask(
        {"RAG_INDEX": str(index), "RAG_DATA_DIR": str(data_dir), "RAG_KEEP_WARM_S": "0"}, question
    )


def _resident_ask(index: Path, data_dir: Path, questions: Sequence[str]) -> float:
    """Wall clock of `rag ask` in a new process handing its question to the resident process that
    an earlier `rag ask` left behind: the median over the other questions, each asked once (a
    repeated question would be served partly by the prompt cache). The resident is then stopped."""
    env = {"RAG_INDEX": str(index), "RAG_DATA_DIR": str(data_dir), "RAG_KEEP_WARM_S": "120"}
    _timed_ask(env, questions[0])  # answers in its own process and leaves the resident behind
    _cli(env, "resident", "--index", str(index))  # answered once the resident has loaded
    try:
        return round(_median([_timed_ask(env, q) for q in questions[1:] or questions]), 3)
    finally:
        _cli(env, "resident", "--stop", "--index", str(index))


def _timed_ask(env: dict[str, str], question: str) -> float:
    t0 = time.perf_counter()
    _cli(env, "ask", question)
    return round(time.perf_counter() - t0, 3)


def _cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise UserError(
            f"`rag {args[0]}` in a new process failed: {done.stderr.strip()[-300:]}",
            "run it by hand to see why",
        )


def _bench_summary(local: Any, chat: Any) -> dict[str, Any]:
    """`summarize --all` over the corpus, computed (never served by the summary cache)."""
    summarizer = local.summarizer
    docs = summarizer.select_documents(None, True, None, None, None)
    chat.forget_prompts()
    t0 = time.perf_counter()
    summary = summarizer.summarize(docs, use_cache=False)
    seconds = time.perf_counter() - t0
    return {
        "articles": len(docs),
        "sentences": len(summary.sentences),
        "seconds": round(seconds, 3),
        "per_article_s": round(seconds / max(1, len(docs)), 3),
    }
