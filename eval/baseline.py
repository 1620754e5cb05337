"""The plain recipe other tools ship, for comparison only: `rag eval --baseline`."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from index.store import CHUNKS
from rag.analyse import previous_question
from rag.answer import Answerer, AnswerOptions, check_question
from rag.prompts import render
from rag.records import MARKER, Answer, Citation, Timings


class BaselineAnswerer:
    """Top-k chunks by embedding into a "cite your sources" prompt; the model cites as it likes."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def ask(
        self, question: str, options: AnswerOptions | None = None, history: Sequence[tuple[str, str]] = ()
    ) -> Answer:
        """The plain recipe other tools ship: top-k chunks by embedding, the model cites as it likes.

        Kept only so `rag eval --baseline` can measure what the grounded pipeline adds.
        """
        opts = options or AnswerOptions()
        question = check_question(question)
        load_s = self.answerer.load()
        t0 = time.perf_counter()
        previous = previous_question(question, history)
        query = f"{question} (about: {previous})" if previous else question
        vector = self.answerer.retriever.embedder.embed([query])[0]
        chunks = self.answerer.retriever.store.query(CHUNKS, vector, min(opts.k, 4))
        retrieve_s = time.perf_counter() - t0
        sources = "\n\n".join(f"[{n}] {' '.join(h.text.split())}" for n, h in enumerate(chunks, 1))
        messages = [{"role": "user", "content": render("baseline", sources=sources, question=question)}]
        completion = self.answerer.chat.complete(
            messages, max_tokens=opts.max_tokens, temperature=opts.temperature
        )
        text = completion.text.strip()
        cited = sorted({int(x) for m in MARKER.finditer(text) for x in m.group(1).split(",")})
        citations = []
        for n in cited:
            if 1 <= n <= len(chunks):
                meta = chunks[n - 1].metadata
                page = int(meta.get("page", -1))
                citations.append(
                    Citation(
                        n,
                        str(meta["doc_id"]),
                        chunks[n - 1].id,
                        str(meta.get("title", "")),
                        str(meta.get("date") or "") or None,
                        page if page >= 0 else None,
                        chunks[n - 1].text,
                        int(meta["start"]),
                        int(meta["end"]),
                    )
                )
        abstained = bool(re.search(r"don'?t know|do not know", text, re.I))
        return Answer(
            question=question,
            answer=text,
            mode="abstained" if abstained else "generated",
            abstained=abstained,
            confidence=0.0 if abstained else 1.0,  # the plain recipe gives every answer it writes
            citations=citations,
            closest=[],
            conflicts=[],
            timings=Timings(
                load_s=round(load_s, 4),
                retrieve_s=round(retrieve_s, 4),
                generate_s=round(completion.seconds, 4),
                total_s=round(time.perf_counter() - t0, 4),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
            ),
            draft=text,
            standalone_question=query,
            retrieved_docs=[str(h.metadata["doc_id"]) for h in chunks],
        )
