"""Summaries with citations: deterministic selection and grouping, the model only rewrites.

Map: each article's sentences are ranked by centrality (closeness to the article's mean vector)
and position. Reduce (several articles): the best sentences are grouped by embedding similarity so
one event reported by several outlets becomes one sentence citing all of them, groups are ordered
by article date, and conflicts come from the same rules as answers. The model shortens each chosen
sentence; the rewrite is kept only if the judge finds it supported, else the source is quoted.
Memory stays bounded: one article's sentences at a time, a few kept per article.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import UserError
from index.store import SENTENCES, ChromaStore
from rag import text as t
from rag.answer import Citation, _spell_date, is_headline
from rag.conflicts import find_conflicts
from rag.judge import judge, passage_context
from rag.llm import ChatModel
from rag.prompts import render
from rag.retrieve import Evidence, Retriever, evidence_from_hit, in_window

SAME_EVENT_COSINE = 0.6
# A summary reports; it does not replay a speaker's own words ("We spoke today…") or run-on quotes.
FIRST_PERSON = re.compile(r"\b(I|we|We|our|Our|my|My|me|us)\b|^[\"“‘']")
QUOTE_PENALTY = 0.15
LONG_PENALTY = 0.1
CACHE_VERSION = 2


@dataclass
class SummarySentence:
    text: str
    citations: list[Citation]
    mode: str  # generated | extractive


@dataclass
class Summary:
    summary: str
    mode: str
    sentences: list[SummarySentence]
    conflicts: list[dict[str, Any]]
    documents: list[str]
    timings: dict[str, float]
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        return data


@dataclass
class Options:
    sentences: int = 5
    per_article: int = 2
    max_words: int | None = None


@dataclass
class _Pick:
    evidence: Evidence
    score: float
    members: list[Evidence] = field(default_factory=list)


def _article_sentences(store: ChromaStore, doc_id: str) -> list[Evidence]:
    rows = store.get(SENTENCES, {"doc_id": doc_id}, include_vectors=True)
    ordered = sorted(rows, key=lambda r: int(r.metadata["start"]))
    return [evidence_from_hit(h, 0.0, h.metadata.get("_vector")) for h in ordered]


def _specifics(text: str) -> int:
    """Names and figures: a news summary is made of who, what number, when."""
    return len(t.names(text)) + len(t.numbers(text)) + len(t.months(text))


def rank_article(sentences: Sequence[Evidence], n: int, focus: np.ndarray | None = None) -> list[_Pick]:
    """Central, early, specific sentences first (closest to the topic, when there is one)."""
    usable = [
        s for s in sentences if not is_headline(s.text) and len(t.content_terms(s.text)) >= 5 and s.vector
    ]
    if not usable:
        return []
    matrix = np.asarray([s.vector for s in usable], dtype=np.float32)
    centroid = matrix.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    central = matrix @ centroid
    picks: list[_Pick] = []
    topical = matrix @ focus if focus is not None else np.zeros(len(usable))
    score = [
        central[i]
        + 0.15 * (1 - i / max(1, len(usable)))
        + 0.05 * min(5, _specifics(usable[i].text))
        + topical[i]
        - (QUOTE_PENALTY if FIRST_PERSON.search(usable[i].text) else 0.0)
        - (LONG_PENALTY if len(usable[i].text.split()) > 45 else 0.0)
        for i in range(len(usable))
    ]
    order = sorted(range(len(usable)), key=lambda i: score[i], reverse=True)
    for i in order:
        terms = t.content_terms(usable[i].text)
        if any(
            float(matrix[i] @ np.asarray(p.evidence.vector)) > 0.75
            or len(terms & t.content_terms(p.evidence.text)) / max(1, len(terms)) > 0.6
            for p in picks
        ):
            continue  # the same fact again (a summary box repeating the body, say)
        picks.append(_Pick(usable[i], float(score[i]), [usable[i]]))
        if len(picks) >= n:
            break
    return picks


def group_events(picks: Sequence[_Pick]) -> list[_Pick]:
    """Merge picks from different articles that report the same thing (cosine ≥ 0.6)."""
    groups: list[_Pick] = []
    for pick in sorted(picks, key=lambda p: p.score, reverse=True):
        vec = np.asarray(pick.evidence.vector)
        home = next(
            (
                g
                for g in groups
                if all(m.doc_id != pick.evidence.doc_id for m in g.members)
                and float(vec @ np.asarray(g.evidence.vector)) >= SAME_EVENT_COSINE
            ),
            None,
        )
        if home:
            home.members.append(pick.evidence)
        else:
            groups.append(_Pick(pick.evidence, pick.score, [pick.evidence]))
    return groups


class Summarizer:
    def __init__(self, store: ChromaStore, retriever: Retriever, chat: ChatModel) -> None:
        self.store = store
        self.retriever = retriever
        self.chat = chat

    def select_documents(
        self, doc: str | None, all_docs: bool, topic: str | None, since: str | None, until: str | None
    ) -> list[str]:
        documents = self.store.documents()
        if doc:
            if doc not in documents:
                raise UserError(f"no document {doc!r} in the index", "see `rag docs list`")
            return [doc]
        if topic:
            found = self.retriever.retrieve(topic, k=20, n_evidence=20, since=since, until=until)
            chosen = list(dict.fromkeys(e.doc_id for e in found.evidence if e.dense >= 0.3))
        elif all_docs:
            chosen = [d for d, r in documents.items() if in_window(r.date, since, until)]
        else:
            raise UserError("say what to summarize", "give a DOC_ID, --all, or --topic TEXT")
        if not chosen:
            raise UserError("no articles match", "widen --since/--until or try another --topic")
        return sorted(chosen, key=lambda d: (documents[d].date or "9999", d))

    def summarize(
        self,
        doc_ids: Sequence[str],
        options: Options | None = None,
        topic: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Summary:
        opts = options or Options()
        t0 = time.perf_counter()
        key = self._cache_key(doc_ids, opts, topic)
        cached = self._cache_read(key)
        if cached:
            return cached
        per_article = opts.sentences if len(doc_ids) == 1 else opts.per_article
        focus = np.asarray(self.retriever.embedder.embed([topic])[0], dtype=np.float32) if topic else None
        picks: list[_Pick] = []
        for number, doc_id in enumerate(doc_ids, 1):
            article = _article_sentences(self.store, doc_id)
            picks.extend(rank_article(article, per_article, focus))
            if progress:
                progress(number, len(doc_ids))
        select_s = time.perf_counter() - t0
        groups = group_events(picks) if len(doc_ids) > 1 else picks
        groups = groups[: opts.sentences]
        if len(doc_ids) > 1:  # events in time order; undated last
            groups.sort(key=lambda g: (min((m.date or "9999") for m in g.members), -g.score))
        t1 = time.perf_counter()
        sentences = [self._write(g) for g in groups]
        if opts.max_words:
            sentences = _trim_words(sentences, opts.max_words)
        citations_seen: dict[tuple[str, int], int] = {}
        rendered = []
        for sentence in sentences:
            for c in sentence.citations:
                c.n = citations_seen.setdefault((c.doc_id, c.start), len(citations_seen) + 1)
            markers = "".join(f"[{c.n}]" for c in sentence.citations)
            body = sentence.text.rstrip(". ")
            rendered.append(f"{body} {markers}.")
        pooled = [m for g in groups for m in g.members]
        conflicts = find_conflicts(pooled) if len(doc_ids) > 1 else []
        for conflict in conflicts[:2]:
            marks: list[str] = []
            cites: list[Citation] = []
            for side in conflict["sides"]:
                ev = next(m for m in pooled if m.doc_id == side["doc_id"] and m.start == side["start"])
                n = citations_seen.setdefault((ev.doc_id, ev.start), len(citations_seen) + 1)
                cites.append(Citation.from_evidence(n, ev))
                value = _spell_date(side["value"]) if conflict["kind"] == "date" else side["value"]
                marks.append(f"{value} [{n}]")
            note = render(f"conflict_{conflict['kind']}", first=marks[0], second=marks[1])
            sentences.append(SummarySentence(note, cites, "extractive"))
            rendered.append(note)
        generated = sum(s.mode == "generated" for s in sentences)
        summary = Summary(
            summary=" ".join(rendered),
            mode="generated" if generated * 2 >= max(1, len(sentences)) else "extractive",
            sentences=sentences,
            conflicts=conflicts,
            documents=list(doc_ids),
            timings={
                "select_s": round(select_s, 4),
                "generate_s": round(time.perf_counter() - t1, 4),
                "total_s": round(time.perf_counter() - t0, 4),
            },
        )
        self._cache_write(key, summary)
        return summary

    def _write(self, group: _Pick) -> SummarySentence:
        source = group.evidence
        prompt = [{"role": "user", "content": render("shorten", sentence=" ".join(source.text.split()))}]
        draft = self.chat.complete(prompt, max_tokens=80, temperature=0.0).text.strip().split("\n")[0]
        draft = draft.strip().lstrip("•*-– ")
        supporters = [
            m for m in group.members if judge(draft, [passage_context(m.text, m.title, m.date)]).supported
        ]
        ok = (
            draft
            and len(draft) < len(source.text)
            and len(t.content_terms(draft)) >= 4
            and source in supporters
        )
        if ok:
            return SummarySentence(draft, [Citation.from_evidence(0, m) for m in supporters], "generated")
        text = " ".join(source.text.split()).lstrip("•*-– ")
        cited = [source] + [
            m
            for m in group.members
            if m is not source and judge(text, [passage_context(m.text, m.title, m.date)]).supported
        ]
        return SummarySentence(text, [Citation.from_evidence(0, m) for m in cited], "extractive")

    # -- cache keyed by the documents' content and the options ---------------------------------
    def _cache_key(self, doc_ids: Sequence[str], opts: Options, topic: str | None) -> str:
        docs = self.store.documents()
        material = json.dumps(
            [CACHE_VERSION, [(d, docs[d].content_hash) for d in doc_ids], asdict(opts), topic, self.chat.name]
        )
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def _cache_path(self, key: str) -> Path:
        return self.store.index_dir / "summaries" / f"{key}.json"

    def _cache_read(self, key: str) -> Summary | None:
        path = self._cache_path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            sentences = [
                SummarySentence(s["text"], [Citation(**c) for c in s["citations"]], s["mode"])
                for s in data["sentences"]
            ]
            return Summary(
                data["summary"],
                data["mode"],
                sentences,
                data["conflicts"],
                data["documents"],
                {**data["timings"], "total_s": 0.0},
                cached=True,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _cache_write(self, key: str, summary: Summary) -> None:
        path = self._cache_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(summary.to_json()), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass


def _trim_words(sentences: list[SummarySentence], max_words: int) -> list[SummarySentence]:
    kept: list[SummarySentence] = []
    words = 0
    for s in sentences:
        n = len(s.text.split())
        if kept and words + n > max_words:
            break
        kept.append(s)
        words += n
    return kept
