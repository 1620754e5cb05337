"""The GGUF conversion of all-MiniLM-L6-v2 must embed like the original sentence-transformers model."""

from __future__ import annotations

import json

import numpy as np

from tests.helpers import REFERENCE_VECTORS, require_shared


def test_gguf_embedder_matches_sentence_transformers(app):
    data = json.loads(require_shared(REFERENCE_VECTORS).read_text())
    items = [item for item in data["items"] if item["text"].strip()]
    assert len(items) >= 5
    vectors = app.embedder.embed([item["text"] for item in items])
    worst = 1.0
    for item, vector in zip(items, vectors, strict=True):
        ours = np.asarray(vector)
        ref = np.asarray(item["vector"])
        cosine = float(ours @ ref / (np.linalg.norm(ours) * np.linalg.norm(ref)))
        worst = min(worst, cosine)
        assert cosine >= 0.999, f"{item['text'][:60]!r}: cosine {cosine:.5f}"
        assert abs(np.linalg.norm(ours) - 1.0) < 1e-3
    print(f"worst cosine vs reference: {worst:.6f}")


def test_token_count_matches_reference_tokenizer(app):
    data = json.loads(require_shared(REFERENCE_VECTORS).read_text())
    for item in data["items"]:
        if item["text"].strip() and "n_tokens" in item:
            assert app.embedder.count_tokens(item["text"]) == item["n_tokens"], item["text"][:60]
