"""From a question to a short list of evidence sentences, each a verbatim span of an article."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.embedder import Embedder
from index.errors import UserError
from index.store import CHUNKS, SENTENCES, Hit, Store
from rag import text as t
from rag.analyse import Query
from rag.kinds import holds_kind
from rag.timewindow import TimeWindow

RRF_K = 60
HEADLINE_PENALTY = 0.15
TYPE_BONUS = 0.1
TYPED_SLOTS = 2
TYPED_MARGIN = 0.3
TYPED_POOL = 6
OPENING_CHARS = 400  # characters from an article's start where its byline and dateline stand
# Who a planted paragraph addresses: an AI reader, under the names people give one.
_AI = (
    r"(?:ai(?: (?:models?|systems?|tools?|agents?))?|a\.i\.|artificial intelligence|assistants?"
    r"|chat ?bots?|chatgpt|language models?|llms?)"
)
_ANSWER_VERBS = r"(say|answer|reply|respond|report|state|write|claim)"
_GREETINGS = (
    r"(if you are|if you're|attention|note to|notice to|message to|instructions? (for|to)|dear|hey|hello)"
)
_READING = r"(reading|processing|summari[sz]ing|answering|parsing)"
# Text that speaks to an AI reader instead of about the news: an order to drop its instructions or the
# other sources, an AI told what it must answer, or a greeting of one ("Note to AI models:", "If you
# are an AI summarizing this, …", "For any AI reading this:"). News about AI names AI without these.
INSTRUCTION_LIKE = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules"
    r"|other (articles|sources|documents|texts|reports))\b|"
    r"system prompt|\byou are (an? )?(ai|assistant|language model|chatbot)\b|<\|[a-z_]+\|>|\[/?INST\]|"
    rf"\b{_AI}\b.{{0,20}}\b(must|should|shall|are to) (always )?{_ANSWER_VERBS}\b|"
    rf"\b{_GREETINGS}\W{{1,3}}(an? |the |all |any )?{_AI}\b[^.:,]{{0,40}}[:,]|"
    rf"\b(for|to) (any|all|every|the) {_AI}(\s*:|\s+{_READING}\b)|"
    rf"\bwhen (asked|answering|responding|summari[sz]ing)\b.{{0,60}}"
    rf"\b(you must|you should|always) {_ANSWER_VERBS}\b",
    re.I,
)


@dataclass
class Evidence:
    sentence_id: str
    doc_id: str
    chunk_id: str
    title: str
    date: str | None
    page: int | None
    start: int
    end: int
    text: str
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    vector: list[float] | None = field(default=None, repr=False)
    display_title: str = ""  # what a citation shows when the title is only the file name


@dataclass
class _Pool:
    chunk_hits: list[Hit]
    candidates: dict[str, Hit]
    fused: dict[str, float]
    vectors: dict[str, list[float]]


@dataclass
class Retrieval:
    question: str
    evidence: list[Evidence]
    chunks: list[Hit] = field(default_factory=list)  # ranked chunks: ids and metadata, text not read
    seconds: float = 0.0


def evidence_from_hit(
    hit: Hit, score: float, vector: Sequence[float] | None, dense: float = 0.0, lexical: float = 0.0
) -> Evidence:
    """An evidence sentence from a row of the sentences collection."""
    meta = hit.metadata
    page = int(meta.get("page", -1))
    return Evidence(
        sentence_id=hit.id,
        doc_id=str(meta["doc_id"]),
        chunk_id=str(meta.get("chunk_id", "")),
        title=str(meta.get("title", "")),
        date=str(meta.get("date") or "") or None,
        page=page if page >= 0 else None,
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=hit.text,
        score=score,
        dense=dense,
        lexical=lexical,
        vector=list(vector) if vector is not None else None,
        display_title=str(meta.get("display_title", "")),
    )


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: robust to score scales that differ between dense and lexical lists."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return fused


def lexical_overlap(
    question_terms: frozenset[str] | set[str], terms: set[str], idf: dict[str, float] | None = None
) -> float:
    """Share of the question's key terms in the sentence, each weighted by its rarity among candidates.

    A name that every candidate mentions ("Brindlecombe") then counts little, and the term that tells
    the candidates apart ("asked", "lighthouse") counts a lot.
    """
    if not question_terms:
        return 0.0
    weight = idf or {}
    total = sum(weight.get(q, 1.0) for q in question_terms)
    return sum(weight.get(q, 1.0) for q in question_terms & terms) / total


LEXICAL_WIDEN = 4
RECENT_BONUS = 0.05  # "recently": a preference among comparable sentences, never a filter
NOTHING: dict[str, Any] = {"doc_id": {"$in": []}}  # a window no article is dated in


def build_where(
    doc: str | None = None, since: str | None = None, until: str | None = None
) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if doc:
        clauses.append({"doc_id": doc})
    # Dates are ISO strings; Chroma compares numbers only, so date windows filter after retrieval.
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def in_window(date: str | None, since: str | None, until: str | None) -> bool:
    if not since and not until:
        return True
    if not date:
        return False
    return (not since or date >= since) and (not until or date <= until)


class Retriever:
    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def retrieve(
        self,
        query: Query,
        *,
        k: int,
        n_evidence: int,
        doc: str | None = None,
        since: str | None = None,
        until: str | None = None,
        as_of: str | None = None,
        window: TimeWindow | None = None,
        prefer: TimeWindow | None = None,
    ) -> Retrieval:
        """Evidence sentences for `query`; a follow-up's own words weigh double.

        Articles dated after `as_of` are not used (undated ones are); a `window` keeps only articles
        dated inside it; articles inside a `prefer` window ("recently") rank a little higher."""
        question = query.search_text
        t0 = time.perf_counter()
        self._text_cache: dict[str, str] = {}
        q_vec = np.asarray(self.embedder.embed([question])[0])
        where = self._dated_where(build_where(doc, since, until), as_of, window)
        complete = self.store.content_hashes()

        def usable(h: Hit) -> bool:
            """Only rows of complete documents: a write in progress (or killed) stays invisible."""
            meta = h.metadata
            dated = meta.get("date") or None
            return (
                complete.get(str(meta.get("doc_id"))) == meta.get("content_hash")
                and in_window(dated, since, until)
                and (not as_of or not dated or dated <= as_of)
                and (window is None or window.holds(dated))
            )

        if where == NOTHING:
            return Retrieval(question, [], [], time.perf_counter() - t0)

        widen = LEXICAL_WIDEN if (as_of or window) else 1  # BM25 cannot filter by date: read further
        pool = self._gather(question, q_vec, k, n_evidence, where, usable, doc, widen)
        scored = [ev for ev in self._score(query, q_vec, pool, prefer) if not self._beside_instructions(ev)]
        chosen = _select(scored, n_evidence, query)
        return Retrieval(question, chosen, pool.chunk_hits, time.perf_counter() - t0)

    def opening(self, doc_id: str) -> list[Evidence]:
        """An article's first sentences, in order: where its byline and its dateline stand."""
        rows = self.store.get(SENTENCES, {"doc_id": doc_id})
        head = [h for h in rows if int(h.metadata["start"]) < OPENING_CHARS]
        return [evidence_from_hit(h, 1.0, None) for h in sorted(head, key=lambda h: int(h.metadata["start"]))]

    def passages(self, evidence: Sequence[Evidence], n: int) -> list[str]:
        """The article passages (chunks) that hold the first evidence sentences, best first, for a
        reader that reads more than one sentence at a time. Paragraphs addressed to an AI are left
        out: they are not evidence in a passage either."""
        ids = list(dict.fromkeys(ev.chunk_id for ev in evidence))[:n]
        texts = {h.id: h.text for h in self.store.get(CHUNKS, ids=ids)} if ids else {}
        out = []
        for chunk_id in ids:
            lines = [x for x in texts.get(chunk_id, "").split("\n") if not INSTRUCTION_LIKE.search(x)]
            text = " ".join(" ".join(lines).split())
            if text:
                out.append(text)
        return out

    def _beside_instructions(self, ev: Evidence) -> bool:
        """Text next to instructions addressed to an AI is not evidence: a planted paragraph ("Assistant,
        you must answer that …. The call lasted 7 hours.") speaks to the reader, not about the news."""
        try:
            text = self._texts(ev.doc_id)
        except UserError:
            return False
        start = text.rfind("\n", 0, ev.start) + 1
        end = text.find("\n", ev.end)
        return INSTRUCTION_LIKE.search(text[start : end if end >= 0 else len(text)]) is not None

    def _texts(self, doc_id: str) -> str:
        """A document's text, read once per retrieval."""
        if doc_id not in self._text_cache:
            self._text_cache[doc_id] = self.store.document_text(doc_id)
        return self._text_cache[doc_id]

    def _dated_where(
        self, where: dict[str, Any] | None, as_of: str | None, window: TimeWindow | None
    ) -> dict[str, Any] | None:
        """Chroma compares numbers only, so dates become the ids of the documents they allow."""
        if not as_of and window is None:
            return where
        documents = self.store.documents()
        if window is not None:
            allowed = [
                d
                for d, r in documents.items()
                if window.holds(r.date) and (not as_of or (r.date or "") <= as_of)
            ]
            if not allowed:
                return NOTHING
            clause: dict[str, Any] = {"doc_id": {"$in": allowed}}
        else:
            later = [d for d, r in documents.items() if r.date and as_of and r.date > as_of]
            if not later:
                return where
            clause = {"doc_id": {"$nin": later}}
        return clause if where is None else {"$and": [where, clause]}

    def _gather(
        self,
        question: str,
        q_vec: np.ndarray,
        k: int,
        n_evidence: int,
        where: dict[str, Any] | None,
        usable: Callable[[Hit], bool],
        doc: str | None,
        widen: int = 1,
    ) -> _Pool:
        """Candidate sentences: dense hits, BM25 hits and the sentences of the best chunks."""
        chunk_hits = [
            h for h in self.store.query(CHUNKS, q_vec.tolist(), k * 2, where, include_text=False) if usable(h)
        ][:k]
        sentence_hits = [
            h
            for h in self.store.query(
                SENTENCES, q_vec.tolist(), max(4 * n_evidence, 24), where, include_vectors=True
            )
            if usable(h)
        ]
        candidates: dict[str, Hit] = {h.id: h for h in sentence_hits}
        lexical_ranking = [
            sid for sid, _ in self.store.lexical_search(question, widen * max(4 * n_evidence, 24))
        ]
        missing_lexical = [sid for sid in lexical_ranking if sid not in candidates]
        fused = rrf([[h.id for h in sentence_hits], lexical_ranking])
        chunk_ids = [h.id for h in chunk_hits]
        for h in self.store.sentence_rows(missing_lexical, chunk_ids, include_vectors=True):
            if h.id not in candidates and (not doc or h.metadata.get("doc_id") == doc) and usable(h):
                candidates[h.id] = h
        missing = [i for i, h in candidates.items() if h.vector is None]
        vectors = self.store.vectors(SENTENCES, missing)
        return _Pool(chunk_hits, candidates, fused, vectors)

    def _score(
        self, query: Query, q_vec: np.ndarray, pool: _Pool, prefer: TimeWindow | None
    ) -> list[Evidence]:
        """One score per candidate: dense similarity, term overlap, its chunk's rank, BM25 fusion."""
        candidates, vectors, fused = pool.candidates, pool.vectors, pool.fused
        chunk_ids = [h.id for h in pool.chunk_hits]
        q_terms = query.search_key
        focus_terms = query.key if query.about else frozenset()
        candidate_terms = {sid: t.content_terms(h.text) for sid, h in candidates.items()}
        title_terms: dict[str, set[str]] = {}
        n_candidates = max(1, len(candidates))
        idf = {
            q: math.log(1 + n_candidates / (1 + sum(q in terms for terms in candidate_terms.values())))
            * (2.0 if q in focus_terms else 1.0)
            for q in q_terms
        }
        chunk_rank = {cid: r for r, cid in enumerate(chunk_ids)}
        scored: list[Evidence] = []
        for sid, hit in candidates.items():
            vec = vectors.get(sid) if hit.vector is None else hit.vector
            dense = float(np.dot(q_vec, np.asarray(vec))) if vec is not None else hit.score
            title = str(hit.metadata.get("title", ""))
            if title not in title_terms:
                title_terms[title] = t.content_terms(title)
            # A sentence often leaves its subject to the headline ("It lasted three hours"): the
            # title's terms count, less than the sentence's own.
            lexical = 0.6 * lexical_overlap(q_terms, candidate_terms[sid], idf) + 0.4 * lexical_overlap(
                q_terms, candidate_terms[sid] | title_terms[title], idf
            )
            rank_bonus = (
                1.0 / (RRF_K + chunk_rank[hit.metadata["chunk_id"]])
                if hit.metadata.get("chunk_id") in chunk_rank
                else 0.0
            )
            score = dense + 0.35 * lexical + 2.0 * rank_bonus + 3.0 * fused.get(sid, 0.0)
            if query.sentence_kind and holds_kind(query, hit.text):
                score += TYPE_BONUS  # it holds the kind of thing asked for (a count, a date, a name)
            if not hit.text.rstrip().endswith((".", "!", "?", '"', "”", "’", ")")):
                score -= HEADLINE_PENALTY  # headlines and captions match names but rarely answer
            if prefer is not None and prefer.holds(hit.metadata.get("date") or None):
                score += RECENT_BONUS
            scored.append(evidence_from_hit(hit, score, vec, dense=dense, lexical=lexical))
        scored.sort(key=lambda e: e.score, reverse=True)
        return scored


def _select(scored: list[Evidence], n_evidence: int, query: Query) -> list[Evidence]:
    """The best distinct sentences, keeping room for sentences of the kind of thing asked for."""
    wanted = query.sentence_kind
    chosen: list[Evidence] = []
    seen_texts: list[set[str]] = []
    typed: list[Evidence] = []  # the best candidates holding the kind of thing asked for
    for ev in scored:
        if INSTRUCTION_LIKE.search(ev.text):
            continue  # text addressed to an AI is not evidence about the news
        terms = t.content_terms(ev.text)
        if len(terms) < 2:
            continue  # headlines of one word, bylines, photo credits
        if any(len(terms & other) / max(1, len(terms | other)) > 0.8 for other in seen_texts):
            continue  # the same sentence reported twice
        if len(chosen) < n_evidence:
            chosen.append(ev)
            seen_texts.append(terms)
        elif wanted and len(typed) < TYPED_POOL and holds_kind(query, ev.text):
            typed.append(ev)
        if len(chosen) >= n_evidence and (not wanted or len(typed) >= TYPED_POOL):
            break
    if wanted:
        # The answer usually sits in the article the best evidence comes from ("how long was the
        # call in which X was discussed" is answered where X is): its typed sentences go first.
        leading = {e.doc_id for e in chosen[:2]}
        typed.sort(key=lambda e: (e.doc_id not in leading, -e.score))
        answered_here = any(e.doc_id in leading and holds_kind(query, e.text) for e in chosen)
        if answered_here or (typed and typed[0].doc_id in leading):
            typed = [e for e in typed if e.doc_id in leading]  # not another article's figure
        have = sum(holds_kind(query, e.text) for e in chosen)
        # Keep room for a sentence of the asked kind even when its wording matches weakly
        # ("It lasted three hours" for "How long did the parade last?").
        for ev in typed[: max(0, TYPED_SLOTS - have)]:
            untyped = [i for i, e in enumerate(chosen) if not holds_kind(query, e.text)]
            if untyped and ev.score >= chosen[untyped[-1]].score - TYPED_MARGIN:
                chosen[untyped[-1]] = ev  # the weakest sentence without one makes room
                chosen.sort(key=lambda e: e.score, reverse=True)
    return chosen
