"""SIGKILL `rag ingest` at random moments: the index still opens, answers, and holds no half document."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from index.store import CHUNKS, SENTENCES, ChromaStore
from tests.helpers import ROOT, rag

KILLS = 20
# Enough documents that the first kills land mid-ingest on a fast machine (one of these short
# articles takes under 0.1 s to embed).
DOCS = 60


def make_corpus(folder: Path, n: int) -> None:
    sample = sorted((ROOT / "eval" / "corpus").glob("*.txt"))
    folder.mkdir(parents=True)
    for i in range(n):
        body = sample[i % len(sample)].read_text(encoding="utf-8")
        (folder / f"edition-{i:02d}.txt").write_text(f"{body}\nThis is edition {i} of the Marrowby digest.\n")


def check_consistent(app, index: Path) -> int:
    if not (index / "manifest.json").is_file():
        return 0
    store = ChromaStore(index, app.embedder.name, app.embedder.dimension)
    documents = store.documents()  # the manifest parses
    for doc_id, record in documents.items():
        rows = store.get(CHUNKS, {"$and": [{"doc_id": doc_id}, {"content_hash": record.content_hash}]})
        assert len(rows) == record.n_chunks, f"{doc_id}: {len(rows)} of {record.n_chunks} chunks"
        sentences = store.get(
            SENTENCES, {"$and": [{"doc_id": doc_id}, {"content_hash": record.content_hash}]}
        )
        assert len(sentences) == record.n_sentences, doc_id
    return len(documents)


def test_sigkill_during_ingest_never_leaves_a_half_document(app, tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, DOCS)
    index = tmp_path / "index"
    rng = random.Random(7)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    seen_docs = []
    for attempt in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--index", str(index)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.8, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        seen_docs.append(check_consistent(app, index))
        if attempt % 7 == 6 and seen_docs[-1]:
            answer = rag("ask", "How many stops does the tram line have?", "--index", str(index), "--json")
            assert answer.returncode == 0, answer.stderr
            json.loads(answer.stdout)
    assert max(seen_docs) > 0, "no kill landed after the first document was written"
    assert min(seen_docs) < DOCS, "every kill came after ingest had finished"
    final = rag("ingest", str(corpus), "--index", str(index), "--json")
    assert final.returncode == 0, final.stderr
    assert check_consistent(app, index) == DOCS
    store = ChromaStore(index, app.embedder.name, app.embedder.dimension)
    documents = store.documents()
    assert store.count(CHUNKS) == sum(r.n_chunks for r in documents.values())  # no duplicates
    assert store.count(SENTENCES) == sum(r.n_sentences for r in documents.values())
    assert set(store.lexical.ids()) == {i for i, _ in store.all_metadata(SENTENCES)}
    print(f"documents complete after each kill: {seen_docs}")
