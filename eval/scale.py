"""Scale run: generate N articles, ingest them in a child process (interrupted once, then resumed),
check the index is whole, measure retrieval at that size, and summarize a 200-article folder.

`make scale` runs 20,000 articles; the test suite runs 1,000. Figures go to stdout as JSON
(progress to stderr) so the README and the issue notes quote them rather than guesses.

    python -m eval.scale --articles 20000 --work .scale --out artifacts/scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval.synth import write_corpus

RAG = [sys.executable, "-m", "ui.cli"]
ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_child(args: list[str], interrupt_after_s: float | None = None) -> dict[str, Any]:
    """Run `rag …`; optionally Ctrl-C it after a while. Returns exit code, seconds and peak RSS."""
    import tempfile

    t0 = time.perf_counter()
    interrupted = False
    with tempfile.TemporaryFile() as sink:  # not a pipe: a big --json report must not block the child
        proc = subprocess.Popen(
            [*RAG, *args],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.DEVNULL,
            # A shell without job control starts background jobs with SIGINT ignored, and children
            # inherit that: the planned Ctrl-C then did nothing (a 20,000-article run went on to
            # the end). The child gets the default handler back, as if typed at a terminal.
            preexec_fn=_default_sigint,
        )
        deadline = time.monotonic() + (interrupt_after_s if interrupt_after_s is not None else 1e9)
        while True:  # os.wait4 rather than Popen.wait: it also reports the child's peak memory
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline and not interrupted:
                proc.send_signal(signal.SIGINT)
                interrupted = True
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sink.seek(0)
        out = sink.read()
    return {
        "exit": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "interrupted": interrupted,
        "stdout": out.decode("utf-8", "replace"),
    }


def index_facts(index: Path) -> dict[str, Any]:
    """Documents in the manifest, rows in Chroma, and whether they match exactly (no duplicates)."""
    from rag.factory import App
    from rag.settings import load_settings

    app = App(load_settings(index=index))
    try:
        store = app.store()
        docs = store.documents()
        expected_chunks = sum(d.n_chunks for d in docs.values())
        expected_sentences = sum(d.n_sentences for d in docs.values())
        chunks, sentences = store.count("chunks"), store.count("sentences")
        return {
            "documents": len(docs),
            "chunks": chunks,
            "sentences": sentences,
            "rows_match_manifest": chunks == expected_chunks and sentences == expected_sentences,
            "consistent": store.check_consistency()["consistent"],
        }
    finally:
        app.close()


def measure_retrieval(index: Path, questions: list[dict[str, str]]) -> dict[str, Any]:
    from rag.analyse import analyse
    from rag.factory import App
    from rag.settings import load_settings

    app = App(load_settings(index=index))
    try:
        retriever = app.answerer.retriever
        retriever.retrieve(analyse(questions[0]["question"]), k=6, n_evidence=6)  # load models and BM25
        times, hits = [], 0
        for row in questions:
            query = analyse(row["question"])
            t0 = time.perf_counter()
            found = retriever.retrieve(query, k=6, n_evidence=6)
            times.append(time.perf_counter() - t0)
            hits += any(e.doc_id == row["doc_id"] and row["answer"] in e.text for e in found.evidence)
        times.sort()
        return {
            "questions": len(questions),
            "p50_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
            "fact_found_at_6": round(hits / len(questions), 3),
        }
    finally:
        app.close()


def summarize_folder(work: Path, corpus: Path, count: int) -> dict[str, Any]:
    """Summarize `count` articles (a folder of their own) and check every citation against the text."""
    folder = work / f"summary-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(corpus.glob("*.txt"))[:count]:
        target = folder / path.name
        if not target.exists():
            target.write_bytes(path.read_bytes())
    index = work / f"summary-{count}-index"
    ingest = run_child(["ingest", str(folder), "--index", str(index), "--json"])
    result = run_child(["summarize", "--all", "--index", str(index), "--json"])
    if result["exit"] != 0:
        return {"articles": count, "exit": result["exit"]}
    summary = json.loads(result["stdout"])
    texts = {}
    for path in folder.glob("*.txt"):
        texts[path.stem] = path.read_text(encoding="utf-8")
    citations = [c for s in summary["sentences"] for c in s["citations"]]
    valid = sum(1 for c in citations if texts.get(c["doc_id"], "")[c["start"] : c["end"]] == c["text"])
    generated = sum(1 for s in summary["sentences"] if s["mode"] == "generated")
    return {
        "articles": count,
        "ingest_s": ingest["seconds"],
        "seconds": result["seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
        "sentences": len(summary["sentences"]),
        "generated_sentences": generated,
        "citations": len(citations),
        "citations_valid": valid,
        "every_sentence_cited": all(s["citations"] for s in summary["sentences"]),
        "summary": summary["summary"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000, help="How many articles to generate.")
    parser.add_argument("--work", type=Path, default=Path(".scale"), help="Scratch folder (corpus, index).")
    parser.add_argument("--paragraphs", type=int, default=6, help="Paragraphs per article.")
    parser.add_argument(
        "--interrupt-after", type=float, default=60.0, help="Ctrl-C the first ingest after this many seconds."
    )
    parser.add_argument("--questions", type=int, default=200, help="Retrieval questions to time.")
    parser.add_argument("--summarize", type=int, default=200, help="Articles in the summary run (0: skip).")
    parser.add_argument("--out", type=Path, help="Also write the JSON report here.")
    args = parser.parse_args(argv)

    work = args.work.resolve()
    corpus, index = work / f"corpus-{args.articles}", work / f"index-{args.articles}"
    report: dict[str, Any] = {"articles": args.articles, "paragraphs": args.paragraphs}
    report["cpus"] = os.cpu_count()
    log(f"generating {args.articles} articles in {corpus}")
    t0 = time.perf_counter()
    write_corpus(corpus, args.articles, paragraphs=args.paragraphs)
    report["generate_s"] = round(time.perf_counter() - t0, 2)

    log(f"ingesting into {index} (Ctrl-C after {args.interrupt_after:.0f} s, then resuming)")
    first = run_child(["ingest", str(corpus), "--index", str(index), "--json"], args.interrupt_after)
    first.pop("stdout")
    # Read the manifest file, not Chroma: a client opened here now would not see the resumed writes.
    manifest = json.loads((index / "manifest.json").read_text()) if first["interrupted"] else None
    first["documents_kept"] = len(manifest["documents"]) if manifest else None
    resumed = run_child(["ingest", str(corpus), "--index", str(index), "--json"])
    outcomes = json.loads(resumed.pop("stdout") or "{}").get("outcomes", [])
    resumed["indexed"] = sum(o["status"] == "indexed" for o in outcomes)
    resumed["unchanged"] = sum(o["status"] == "unchanged" for o in outcomes)
    report["ingest"] = {"first": first, "resumed": resumed}
    total_s = first["seconds"] + resumed["seconds"]
    facts = index_facts(index)
    report["index"] = facts
    report["ingest"]["chunks_per_s"] = round(facts["chunks"] / total_s, 1) if total_s else None
    report["ingest"]["articles_per_s"] = round(facts["documents"] / total_s, 2) if total_s else None

    log("timing retrieval")
    questions_path = corpus.parent / f"{corpus.name}.questions.jsonl"
    rows = [json.loads(x) for x in questions_path.read_text().splitlines()]
    step = max(1, len(rows) // args.questions)
    report["retrieval"] = measure_retrieval(index, rows[::step][: args.questions])

    if args.summarize:
        log(f"summarizing {args.summarize} articles")
        report["summary"] = summarize_folder(work, corpus, min(args.summarize, args.articles))

    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
