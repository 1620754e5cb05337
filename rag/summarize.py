"""Summaries with citations: deterministic selection and grouping, the model only rewrites.

Map: each article's sentences are ranked by centrality (closeness to the article's mean vector)
and position. Reduce (several articles): the best sentences are grouped by embedding similarity so
one event reported by several outlets becomes one sentence citing all of them, groups are ordered
by article date, and conflicts come from the same rules as answers. The model shortens each chosen
sentence; the rewrite is kept only if the judge finds it supported, else the source is quoted.
Memory stays bounded: one article's sentences at a time, a few kept per article.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.errors import UserError
from index.store import SENTENCES, ChromaStore
from rag import events as ev
from rag import text as t
from rag.analyse import analyse
from rag.conflicts import Conflict, ConflictSide, find_conflicts
from rag.events import EventDate, Precision
from rag.faithful import check as faithful_check
from rag.faithful import clean
from rag.judge import judge, passage_context
from rag.llm import ChatModel
from rag.nlp import demonyms
from rag.nlp import lexicon as nlp_lexicon
from rag.prompts import render
from rag.records import Citation
from rag.retrieve import Evidence, Retriever, evidence_from_hit, in_window
from rag.verify import is_headline

SAME_EVENT_COSINE = 0.6
TOPIC_COSINE = 0.45
# Sources cited for one summary sentence: enough to show it is widely reported, few enough to read.
MAX_OUTLETS = 5
RARE_SHARE = 0.15
REWORDED_BELOW = 0.8
FIGURE = re.compile(r"\d[\d,.]*\d(?:-[a-z]+)?|\d(?:-[a-z]+)?")
# A summary reports; it does not replay a speaker's own words ("We spoke today…") or run-on quotes.
FIRST_PERSON = re.compile(r"\b(I|we|We|our|Our|my|My|me|us)\b|^[\"“‘']")
DANGLING = re.compile(r"^(He|She|They|It|This|These|That|Those)\b")
QUOTE_FACTOR = 0.55  # gain kept by a first-person quote
LONG_FACTOR = 0.8  # gain kept by a sentence over 45 words
CACHE_VERSION = 7
# A summary sentence has at least this many words outside dates and times (a sentence, not a stamp).
MIN_PLAIN_WORDS = 4
TIME_WORDS = frozenset({"am", "pm", "a.m", "p.m", "gmt", "utc", "et", "est", "edt", "pt", "pst", "pdt"})
LENGTH_FLOOR = 8
LENGTH_EXPONENT = 0.5
MARKS_SLOT = "\u27e8marks\u27e9"  # where a note's citation markers go once they are numbered
HEADING_WORDS = 12  # an event without a headline is headed by its first sentence, this long
SentenceMode = Literal["generated", "extractive", "note"]


@dataclass
class SummarySentence:
    text: str
    citations: list[Citation]
    mode: SentenceMode


@dataclass
class Note:
    """Where reports of one event disagree, in plain words: what, which articles, both values."""

    text: str
    kind: Literal["date", "number"]
    about: str
    documents: list[str]
    citations: list[Citation]
    sides: list[ConflictSide]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Note:
        return cls(
            data["text"],
            data["kind"],
            data["about"],
            data["documents"],
            [Citation(**c) for c in data["citations"]],
            [ConflictSide(**side) for side in data["sides"]],
        )


@dataclass
class Event:
    """One happening: its date (ISO; `date_precision` says whether the day is known), a heading,
    its sentences and the articles that report it."""

    date: str | None
    date_precision: Precision | None
    heading: str
    sentences: list[SummarySentence]
    documents: list[str]
    notes: list[Note]
    text: str = ""  # the event's paragraph as the summary shows it, markers included

    def spelled_date(self) -> str:
        if not self.date or not self.date_precision:
            return "Undated"
        return EventDate(dt.date.fromisoformat(self.date), self.date_precision, "").spelled()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            data["date"],
            data["date_precision"],
            data["heading"],
            [_sentence_from_json(x) for x in data["sentences"]],
            data["documents"],
            [Note.from_json(n) for n in data["notes"]],
            data["text"],
        )


@dataclass
class AlsoReported:
    """An event the summary's length left no sentence for: one line (date, headline, one cited
    sentence), so that nothing is left out silently."""

    date: str | None
    date_precision: Precision | None
    heading: str
    documents: list[str]
    citation: Citation
    text: str = ""  # the line as the summary shows it, marker included

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlsoReported:
        return cls(
            data["date"],
            data["date_precision"],
            data["heading"],
            data["documents"],
            Citation(**data["citation"]),
            data["text"],
        )


@dataclass
class Omitted:
    """An article the summary neither cites nor lists, and why."""

    doc_id: str
    reason: str


def _sentence_from_json(data: dict[str, Any]) -> SummarySentence:
    return SummarySentence(data["text"], [Citation(**c) for c in data["citations"]], data["mode"])


@dataclass
class Summary:
    summary: str
    mode: str
    sentences: list[SummarySentence]  # every sentence and note in reading order
    events: list[Event]
    conflicts: list[Note]
    documents: list[str]
    timings: dict[str, float]
    also_reported: list[AlsoReported] = field(default_factory=list)
    omitted: list[Omitted] = field(default_factory=list)
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], cached: bool = False) -> Summary:
        return cls(
            data["summary"],
            data["mode"],
            [_sentence_from_json(x) for x in data["sentences"]],
            [Event.from_json(e) for e in data["events"]],
            [Note.from_json(n) for n in data["conflicts"]],
            data["documents"],
            data["timings"],
            [AlsoReported.from_json(a) for a in data.get("also_reported", [])],
            [Omitted(**o) for o in data.get("omitted", [])],
            cached,
        )


@dataclass
class Options:
    sentences: int | None = None  # shared out across events; None: a budget per event
    per_article: int = 2
    max_words: int | None = None
    format: Literal["text", "md"] = "text"


@dataclass
class _Pick:
    evidence: Evidence
    score: float
    members: list[Evidence] = field(default_factory=list)


def _article_sentences(store: ChromaStore, doc_id: str) -> list[Evidence]:
    rows = store.get(SENTENCES, {"doc_id": doc_id}, include_vectors=True)
    ordered = sorted(rows, key=lambda r: int(r.metadata["start"]))
    return [evidence_from_hit(h, 0.0, h.vector) for h in ordered]


class TermStats:
    """How often each term occurs across what is being summarized: counts, not text, so memory stays
    bounded by the vocabulary however many articles there are.

    A term in few sentences is specific (a bridge's name, a host town); a term that several articles
    report is an event worth a line (the road closure). Terms in most sentences (the mayor's name,
    "council") carry little, so a summary made of them says nothing.
    """

    def __init__(self) -> None:
        self.sentences = 0
        self.articles = 0
        self.sentence_df: Counter[str] = Counter()
        self.article_df: Counter[str] = Counter()
        self.event_df: Counter[str] | None = None  # articles of one event that say the term

    def for_event(self, concept_sets: Sequence[set[str]]) -> TermStats:
        """The same counts, plus how many of one event's articles say each term: what several
        outlets report of the event is its main fact (who, what, when, how many)."""
        stats = copy.copy(self)
        stats.event_df = Counter(term for concepts in concept_sets for term in concepts)
        return stats

    def add_article(self, concept_sets: Sequence[set[str]]) -> None:
        self.articles += 1
        self.sentences += len(concept_sets)
        seen: set[str] = set()
        for concepts in concept_sets:
            self.sentence_df.update(concepts)
            seen |= concepts
        self.article_df.update(seen)

    def weight(self, term: str) -> float:
        """Luhn's significance: a term said a few times is a topic, once a detail, everywhere noise."""
        df = self.sentence_df[term]
        idf = math.log((self.sentences + 1) / (df + 0.5))
        repeated = 1.0 + math.log(max(1, df))
        spread = 1.0 + math.log(max(1, self.article_df[term]))
        if self.event_df is not None:
            spread *= 1.0 + math.log(max(1, self.event_df[term]))
        return max(0.0, idf) * repeated * spread


@dataclass
class _Candidate:
    evidence: Evidence
    concepts: set[str]
    specific: set[str]
    position: float  # 0 at the article's start, 1 at its end
    topical: float = 0.0


def _concepts(text: str) -> tuple[set[str], set[str]]:
    """Content terms and adjacent pairs ("road closure", "North Sea"), and which are names or
    figures (who, how many, when). Pairs tell a specific event from its generic head word."""
    terms = t.content_terms(text)
    pairs = set(ev.phrases(text))
    named = {t.stem(n) for n in t.names(text)} | t.numbers(text) | {t.stem(m) for m in t.months(text)}
    specific = {term for term in terms if term in named or any(ch.isdigit() for ch in term)}
    return terms | pairs, specific


def _plain_words(text: str) -> list[str]:
    """Words that are not part of a date or a time: a dateline or a timestamp ("July 23, 2019,
    8:01 p.m.") has none, however many figures it holds."""
    calendar = set(t.MONTH_NAMES) | set(nlp_lexicon()["weekdays"]) | TIME_WORDS
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in calendar]


def candidates(sentences: Sequence[Evidence]) -> list[_Candidate]:
    """Sentences a summary may report: not headlines, fragments or first-person quotes. A short
    sentence qualifies when it states a figure ("The parade lasted three hours.")."""
    usable = [
        s
        for s in sentences
        if not is_headline(s.text)
        and s.vector is not None
        and (len(terms := t.content_terms(s.text)) >= 5 or (len(terms) >= 3 and t.numbers(s.text)))
        and len(_plain_words(s.text)) >= MIN_PLAIN_WORDS
    ]
    out = []
    for i, s in enumerate(usable):
        concepts, specific = _concepts(s.text)
        out.append(_Candidate(s, concepts, specific, i / max(1, len(usable) - 1)))
    return out


def _boost(term: str, specific: set[str]) -> float:
    if any(ch.isdigit() for ch in term):
        return 2.0  # figures are what readers look for and what a paraphrase loses
    return 1.5 if term in specific else 1.0


def _gain(c: _Candidate, stats: TermStats, covered: set[str], from_same_article: int) -> float:
    """New information per word: weighted new terms (names and figures count half again), less
    for an article already quoted, so several outlets and events get their say."""
    new = c.concepts - covered
    value = sum(stats.weight(term) * _boost(term, c.specific) for term in new)
    value /= max(LENGTH_FLOOR, len(c.evidence.text.split())) ** LENGTH_EXPONENT
    value *= 1.0 + 0.3 * (1.0 - c.position)  # news puts what matters first
    value /= 1.0 + from_same_article
    if FIRST_PERSON.search(c.evidence.text):
        value *= QUOTE_FACTOR
    if len(c.evidence.text.split()) > 45:
        value *= LONG_FACTOR
    if DANGLING.match(c.evidence.text):
        value *= 0.5  # "He said…" means nothing once lifted out of its article
    return value * (0.5 + max(0.0, c.topical)) if c.topical else value


def select(pool: Sequence[_Candidate], stats: TermStats, n: int) -> list[_Pick]:
    """Greedy coverage: each pick adds the most information not yet said (a classic extractive
    summarizer's objective), so a short summary spans the article's distinct facts instead of
    restating its central theme; the same event from other outlets joins the pick as support."""
    remaining = list(pool)
    covered: set[str] = set()
    picks: list[_Pick] = []
    per_article: Counter[str] = Counter()
    while remaining and len(picks) < n:
        gains = [_gain(c, stats, covered, per_article[c.evidence.doc_id]) for c in remaining]
        best = max(range(len(remaining)), key=lambda i: gains[i])
        if gains[best] <= 0:
            break
        chosen = remaining.pop(best)
        per_article[chosen.evidence.doc_id] += 1
        vec = np.asarray(chosen.evidence.vector)
        members = [chosen.evidence]
        for other in list(remaining):
            similarity = float(vec @ np.asarray(other.evidence.vector))
            fresh = other.concepts - chosen.concepts - covered
            if similarity >= 0.8 and len(fresh) < 0.5 * len(other.concepts):
                remaining.remove(other)  # the same fact again (a summary box repeating the body, say)
            if (
                similarity >= SAME_EVENT_COSINE
                and len(members) < MAX_OUTLETS
                and other.evidence.doc_id not in {m.doc_id for m in members}
            ):
                members.append(other.evidence)  # another outlet reporting it: cite it too if it holds
        covered |= chosen.concepts
        picks.append(_Pick(chosen.evidence, gains[best], members))
    return picks


class Summarizer:
    def __init__(self, store: ChromaStore, retriever: Retriever, chat: ChatModel, rewrites: int = 1) -> None:
        self.store = store
        self.retriever = retriever
        self.chat = chat
        self.rewrites = rewrites

    def select_documents(
        self, doc: str | None, all_docs: bool, topic: str | None, since: str | None, until: str | None
    ) -> list[str]:
        documents = self.store.documents()
        if doc:
            if doc not in documents:
                raise UserError(f"no document {doc!r} in the index", "see `rag docs list`")
            return [doc]
        if topic:
            found = self.retriever.retrieve(analyse(topic), k=20, n_evidence=20, since=since, until=until)
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
        use_cache: bool = True,
        on_event: Callable[[Event], None] | None = None,
    ) -> Summary:
        """`use_cache=False` recomputes (eval timings must measure the work, not a cache hit).
        `on_event` receives each event of a timeline as soon as its sentences are written, its
        paragraph numbered as in the finished summary: a long summary reads while it is made."""
        opts = options or Options()
        t0 = time.perf_counter()
        key = self._cache_key(doc_ids, opts, topic)
        cached = self._cache_read(key) if use_cache else None
        if cached:
            return cached
        pool, stats, articles = self._map(doc_ids, opts, topic, progress)
        groups = ev.group_articles(articles) if len(doc_ids) > 1 else ev.single(articles)
        owners = ev.assign_sentences(groups, [(c.evidence.doc_id, c.evidence.vector) for c in pool])
        select_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        weights = [len(g.articles) for g in groups]
        budgets = ev.budgets(weights, opts.sentences)
        words = ev.budgets(weights, opts.max_words, minimum=LENGTH_FLOOR) if opts.max_words else None
        events, also = [], []
        timeline = len(groups) > 1
        numbers: dict[tuple[str, int], int] = {}
        said: set[str] = set()  # wire copy: the same sentence printed by two outlets, in two events
        for number, (group, budget) in enumerate(zip(groups, budgets, strict=True)):
            mine = [c for c, owner in zip(pool, owners, strict=True) if owner == number]
            picks = select(mine, stats.for_event([a.concepts for a in group.articles]), budget)
            picks = [p for p in picks if _said_once(p.evidence.text, said)]
            sentences = [self._write(pick, stats) for pick in picks]
            if words:
                sentences = _trim_words(sentences, words[number])
            event = self._event(group, picks, sentences, mine)
            if event.sentences:
                events.append(event)
                if on_event and timeline:
                    _number(event, numbers)
                    on_event(event)
            elif (line := _also_reported(group, mine, stats)) is not None:
                also.append(line)
        return self._finish(key, events, also, doc_ids, opts, timeline, (select_s, t0, t1))

    def _finish(
        self,
        key: str,
        events: list[Event],
        also: list[AlsoReported],
        doc_ids: Sequence[str],
        opts: Options,
        timeline: bool,
        clock: tuple[float, float, float],
    ) -> Summary:
        select_s, t0, t1 = clock
        numbers: dict[tuple[str, int], int] = {}
        for event in events:
            _number(event, numbers)
        for line in also:
            c = line.citation
            c.n = numbers.setdefault((c.doc_id, c.start), len(numbers) + 1)
            line.text = f"{_spelled(line.date, line.date_precision)} — {line.heading} [{c.n}]"
        ordered = [x for e in events for x in e.sentences] + [
            SummarySentence(n.text, n.citations, "note") for e in events for n in e.notes
        ]
        generated = sum(x.mode == "generated" for x in ordered)
        reporting = sum(x.mode != "note" for x in ordered)
        summary = Summary(
            summary=render_summary(events, opts.format, also, timeline),
            mode="generated" if generated * 2 >= max(1, reporting) else "extractive",
            sentences=ordered,
            events=events,
            conflicts=[n for e in events for n in e.notes],
            documents=list(doc_ids),
            timings=_timings(select_s, t0, t1, len(doc_ids), reporting),
            also_reported=also,
            omitted=_omitted(doc_ids, events, also),
        )
        self._cache_write(key, summary)
        return summary

    def _event(
        self,
        group: ev.EventGroup,
        picks: Sequence[_Pick],
        sentences: list[SummarySentence],
        pool: Sequence[_Candidate],
    ) -> Event:
        members = [m for p in picks for m in p.members]
        cited = list(dict.fromkeys(c.doc_id for x in sentences for c in x.citations))
        notes = [_date_note(group, a, pool) for a in group.misdated]
        notes += [_number_note(c, members) for c in find_conflicts(members, kinds=("number",))[:2]]
        when = group.date
        return Event(
            date=when.day.isoformat() if when else None,
            date_precision=when.precision if when else None,
            heading=_heading(group, cited),
            sentences=sentences,
            documents=list(dict.fromkeys(cited + group.doc_ids)),
            notes=[n for n in notes if n is not None],
        )

    def _map(
        self,
        doc_ids: Sequence[str],
        opts: Options,
        topic: str | None,
        progress: Callable[[int, int], None] | None,
    ) -> tuple[list[_Candidate], TermStats, list[ev.Article]]:
        """Each article's candidate sentences (on topic when one is given), its best few kept, and
        what event grouping needs of it (its phrases and dated sentences)."""
        focus = np.asarray(self.retriever.embedder.embed([topic])[0], dtype=np.float32) if topic else None
        topic_terms = t.content_terms(topic) if topic else set()
        stats = TermStats()
        pool: list[_Candidate] = []
        articles: list[ev.Article] = []
        records = self.store.documents()
        keep = max(4, 2 * opts.per_article)
        for number, doc_id in enumerate(doc_ids, 1):
            sentences = _article_sentences(self.store, doc_id)
            found = candidates(sentences)
            articles.append(ev.make_article(records[doc_id], sentences))
            articles[-1].concepts = set().union(*(c.concepts for c in found))
            stats.add_article([c.concepts for c in found])
            if focus is not None:
                for cand in found:
                    cand.topical = float(np.asarray(cand.evidence.vector) @ focus)
                on_topic = [x for x in found if x.concepts & topic_terms or x.topical >= TOPIC_COSINE]
                if len(on_topic) < 0.5 * len(found):
                    found = on_topic  # the topic is one aspect of this article: report only that

            if len(doc_ids) > 1:  # bounded memory: an article's best few wait for the reduce step
                local = TermStats()
                local.add_article([c.concepts for c in found])
                best = {id(p.evidence) for p in select(found, local, keep)}
                found = [c for c in found if id(c.evidence) in best]
            pool.extend(found)
            if progress:
                progress(number, len(doc_ids))
        return pool, stats, articles

    def _write(self, group: _Pick, stats: TermStats) -> SummarySentence:
        source = group.evidence
        keep = must_keep(source.text, stats)
        sentence = " ".join(source.text.split())
        budget = max(8, round(len(sentence.split()) * 0.6))
        # Five phrasings in the order they pass the checks most often, each next one chosen for the
        # sentences the earlier ones lose (docs/benchmarks.md): shown examples, deleting words,
        # "in your own words", examples plus a word budget, a plain request. `rewrites` of them
        # are tried, one model call each.
        attempts = (
            lambda: shorten_messages(sentence, keep),
            lambda: drop_words_messages(sentence, keep),
            lambda: paraphrase_messages(sentence, keep),
            lambda: shorten_messages(sentence, keep, budget),
            lambda: shorten_messages(sentence, keep, examples=False),
        )
        for build in attempts[: self.rewrites]:
            messages = build()
            draft = self.chat.complete(messages, max_tokens=80, temperature=0.0)
            text = clean(draft.text.strip().split("\n")[0].strip().lstrip("•*-– "))
            supporters = [m for m in group.members if self._rewrite_ok(text, m, sentence, keep)]
            if source in supporters:
                return SummarySentence(text, [Citation.from_evidence(0, m) for m in supporters], "generated")
        text = " ".join(source.text.split()).lstrip("•*-– ")
        cited = [source] + [
            m
            for m in group.members
            if m is not source and judge(text, [passage_context(m.text, m.title, m.date)]).supported
        ]
        return SummarySentence(text, [Citation.from_evidence(0, m) for m in cited], "extractive")

    @staticmethod
    def _rewrite_ok(draft: str, member: Evidence, source: str, keep: Sequence[str]) -> bool:
        """A rewrite counts when it is shorter, still says something, keeps the must-keep words,
        keeps who did what to whom in that sentence (rag.faithful) and the judge finds every term,
        name and figure of it in the passage."""
        if not draft or len(t.content_terms(draft)) < 4 or not _rewritten(draft, source):
            return False
        if not keeps(draft, keep) or not faithful_check(member.text, draft).faithful:
            return False
        return judge(draft, [passage_context(member.text, member.title, member.date)]).supported

    # -- cache keyed by the documents' content and the options ---------------------------------
    def _cache_key(self, doc_ids: Sequence[str], opts: Options, topic: str | None) -> str:
        docs = self.store.documents()
        material = json.dumps(
            [
                CACHE_VERSION,
                [(d, docs[d].content_hash) for d in doc_ids],
                asdict(opts),
                topic,
                self.chat.name,
                self.rewrites,
            ]
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
            data["timings"] = {**data["timings"], "total_s": 0.0}
            return Summary.from_json(data, cached=True)
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


def _timings(select_s: float, t0: float, t1: float, articles: int, sentences: int) -> dict[str, float]:
    """Where a summary's time went, per article read and per sentence written, as `--json` reports."""
    total = time.perf_counter() - t0
    generate = time.perf_counter() - t1
    return {
        "select_s": round(select_s, 4),
        "generate_s": round(generate, 4),
        "total_s": round(total, 4),
        "per_article_s": round(total / max(1, articles), 4),
        "per_sentence_s": round(generate / max(1, sentences), 4),
    }


def shorten_messages(
    sentence: str, keep: Sequence[str], limit: int | None = None, examples: bool = True
) -> list[dict[str, str]]:
    """Two worked examples first: a 135M model copies a long sentence unless shown a shortening,
    and the examples are a static prefix llama.cpp keeps in its KV cache."""
    messages = []
    for n in (1, 2) if examples else ():
        messages.append({"role": "user", "content": render(f"shorten_question_{n}")})
        messages.append({"role": "assistant", "content": render(f"shorten_answer_{n}")})
    must = f" It must contain: {', '.join(keep)}." if keep else ""
    budget = f" of at most {limit} words" if limit else ""
    messages.append(
        {"role": "user", "content": render("shorten", sentence=sentence, keep=must, budget=budget)}
    )
    return messages


def _rewritten(draft: str, source: str) -> bool:
    """The model's own sentence: shorter than the source, or reworded (not a near-copy) at about
    its length. A verbatim copy, or the source with a clause added, is not a rewrite."""
    if len(draft) < len(source):
        return True
    similar = difflib.SequenceMatcher(None, draft.lower(), source.lower(), autojunk=False).ratio()
    return len(draft) <= 1.1 * len(source) and similar < REWORDED_BELOW


def drop_words_messages(sentence: str, keep: Sequence[str]) -> list[dict[str, str]]:
    """Deleting words, shown twice first: the rewrite a small model copies least and garbles least."""
    messages = []
    for n in (1, 2):
        messages.append({"role": "user", "content": render(f"drop_question_{n}")})
        messages.append({"role": "assistant", "content": render(f"drop_answer_{n}")})
    must = f" It must contain: {', '.join(keep)}." if keep else ""
    messages.append({"role": "user", "content": render("drop_words", sentence=sentence, keep=must)})
    return messages


def paraphrase_messages(sentence: str, keep: Sequence[str]) -> list[dict[str, str]]:
    """Last try for a sentence the model will not shorten: the same facts in other words."""
    must = f" It must contain: {', '.join(keep)}." if keep else ""
    return [{"role": "user", "content": render("paraphrase", sentence=sentence, keep=must)}]


def must_keep(text: str, stats: TermStats, limit: int = 3) -> list[str]:
    """The words a rewrite may not lose: its figures and its rarest names (a product, a country, a surname),
    as written. Only a name's last word counts ("Costa Rica" keeps "Rica"), and the names every
    other sentence repeats (the protagonists) may become pronouns."""
    _, specific = _concepts(text)
    rare_below = max(2.0, RARE_SHARE * stats.sentences)
    found: dict[str, tuple[int, int]] = {}
    for match in FIGURE.finditer(text):
        found.setdefault(match.group(), (0, match.start()))
    tokens = t.words(text)
    groups = demonyms(text)
    for i, word in enumerate(tokens):
        if i == 0 or any(ch.isdigit() for ch in word) or word in found or word not in text:
            continue  # a sentence's first word is capitalised anyway: "Ferry captain …"; a word
            # not in the text was joined from a dashed pair ("A–B") and cannot be asked for
        term = t.stem(word)
        followed_by_name = i + 1 < len(tokens) and tokens[i + 1][:1].isupper()
        if (
            term in specific
            and not followed_by_name
            and word.lower() not in t.TITLE_WORDS
            and word.lower() not in groups
            and stats.sentence_df[term] <= rare_below
        ):
            found[word] = (stats.sentence_df[term], text.find(word))
    ranked = sorted(found, key=lambda w: found[w])[:limit]
    return sorted(ranked, key=lambda w: found[w][1])


def keeps(draft: str, keep: Sequence[str]) -> bool:
    """Every must-keep word is in the draft: figures as numbers, names as written or stemmed."""
    terms, hay, figures = t.content_terms(draft), t.haystack(draft), t.numbers(draft)
    return all(
        t.numbers(word) <= figures
        if any(ch.isdigit() for ch in word)
        else t.stem(word) in terms or t.name_in(word.lower(), hay)
        for word in keep
    )


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


def _number(event: Event, numbers: dict[tuple[str, int], int]) -> None:
    """Citation numbers in reading order across the summary; the event's paragraph with markers."""
    parts = []
    items: list[SummarySentence | Note] = [*event.sentences, *event.notes]
    for item in items:
        for c in item.citations:
            c.n = numbers.setdefault((c.doc_id, c.start), len(numbers) + 1)
        markers = "".join(f"[{c.n}]" for c in item.citations)
        if isinstance(item, Note):
            item.text = item.text.replace(MARKS_SLOT, markers)
            parts.append(item.text)
        else:
            parts.append(f"{item.text.rstrip('. ')} {markers}.")
    event.text = " ".join(parts)


def render_summary(
    events: Sequence[Event],
    fmt: Literal["text", "md"],
    also: Sequence[AlsoReported] = (),
    timeline: bool = False,
) -> str:
    """One event: its paragraph. Several (or an article set that had several): short dated
    paragraphs in time order, then one line for each event the length left no sentence for."""
    if len(events) == 1 and not also and not timeline:
        return events[0].text
    body = "\n\n".join(render_event(e, fmt) for e in events)
    if not also:
        return body
    if fmt == "md":
        tail = "**Also reported**\n\n" + "\n".join(f"- {a.text}" for a in also)
    else:
        tail = "Also reported:\n" + "\n".join(f"- {a.text}" for a in also)
    return f"{body}\n\n{tail}" if body else tail


def render_event(event: Event, fmt: Literal["text", "md"]) -> str:
    """One event of a timeline: its date and heading, then its paragraph."""
    if fmt == "md":
        return f"**{event.spelled_date()}** — *{event.heading}*\n\n{event.text}"
    return f"{event.spelled_date()} — {event.heading}\n{event.text}"


def _said_once(text: str, said: set[str]) -> bool:
    """True the first time a sentence's words come up in a summary, False for a repeat."""
    key = " ".join(t.words(text)).lower()
    if key in said:
        return False
    said.add(key)
    return True


def _spelled(date: str | None, precision: Precision | None) -> str:
    if not date or not precision:
        return "Undated"
    return EventDate(dt.date.fromisoformat(date), precision, "").spelled()


def _also_reported(group: ev.EventGroup, pool: Sequence[_Candidate], stats: TermStats) -> AlsoReported | None:
    """An event without sentences in the summary, as one line citing its most telling sentence."""
    best = select(list(pool), stats.for_event([a.concepts for a in group.articles]), 1)
    evidence = (
        best[0].evidence
        if best
        else next((s for a in group.articles if (s := _sentence_of(a, pool)) is not None), None)
    )
    if evidence is None:
        return None
    when = group.date
    return AlsoReported(
        date=when.day.isoformat() if when else None,
        date_precision=when.precision if when else None,
        heading=_heading(group, [evidence.doc_id]),
        documents=list(group.doc_ids),
        citation=Citation.from_evidence(0, evidence),
    )


def _omitted(doc_ids: Sequence[str], events: Sequence[Event], also: Sequence[AlsoReported]) -> list[Omitted]:
    """Articles neither cited nor listed, with the reason: normally none."""
    cited = {c.doc_id for e in events for x in e.sentences for c in x.citations}
    cited |= {c.doc_id for e in events for n in e.notes for c in n.citations}
    cited |= {a.citation.doc_id for a in also}
    grouped = {d for e in events for d in e.documents} | {d for a in also for d in a.documents}
    out = []
    for doc_id in doc_ids:
        if doc_id in cited:
            continue
        if doc_id in grouped:
            out.append(Omitted(doc_id, "reports an event the summary cites from other articles"))
        else:
            out.append(Omitted(doc_id, "no complete sentence to report"))
    return out


def _heading(group: ev.EventGroup, cited: Sequence[str]) -> str:
    """The headline of the article the event's sentences cite most, else the first sentence cut short."""
    titled = [a for a in group.articles if a.title_source != "filename" and a.title.strip()]
    if titled:
        best = max(titled, key=lambda a: (cited.count(a.doc_id), a.trust, -group.articles.index(a)))
        return " ".join(best.title.split())
    words = next((a.first_sentence for a in group.articles if a.first_sentence), "").split()
    return " ".join(words[:HEADING_WORDS]) + ("…" if len(words) > HEADING_WORDS else "")


def _sentence_of(article: ev.Article, pool: Sequence[_Candidate]) -> Evidence | None:
    """The sentence that gives an article's date, else its best candidate sentence."""
    if article.said_in is not None:
        return article.said_in
    return next((c.evidence for c in pool if c.evidence.doc_id == article.doc_id), None)


def _date_note(group: ev.EventGroup, misdated: ev.Article, pool: Sequence[_Candidate]) -> Note | None:
    """ "`doc` is dated May 3, 2026, but describes the events that the other articles date April 26,
    2026 [2][5]." — the article's own date against the date the event's other reports give."""
    others = [a for a in group.articles if a not in group.misdated and a.event_date]
    dated = misdated.published or (misdated.event_date.day if misdated.event_date else None)
    if not others or group.date is None or dated is None:
        return None
    witness = max(others, key=lambda a: a.trust)
    own, theirs = _sentence_of(misdated, pool), _sentence_of(witness, pool)
    if own is None or theirs is None:
        return None
    named = f"`{witness.doc_id}` dates" if len(others) == 1 else "the other articles date"
    text = render(
        "conflict_event_date",
        doc=misdated.doc_id,
        dated=EventDate(dated, "day", "").spelled(),
        others=named,
        event_date=group.date.spelled(),
        marks=MARKS_SLOT,
    )
    sides = [
        ConflictSide(own.doc_id, own.title, own.date, dated.isoformat(), own.text, own.start, own.end),
        ConflictSide(theirs.doc_id, theirs.title, theirs.date, group.date.day.isoformat(), theirs.text,
                     theirs.start, theirs.end),
    ]  # fmt: skip
    cites = [Citation.from_evidence(0, own), Citation.from_evidence(0, theirs)]
    return Note(text, "date", group.date.spelled(), [misdated.doc_id, witness.doc_id], cites, sides)


def _number_note(conflict: Conflict, members: Sequence[Evidence]) -> Note:
    """Two reports of the event give different figures for the same thing."""
    first, second = conflict.sides
    text = render(
        "conflict_event_number",
        first=f"`{first.doc_id}` says {first.value}",
        second=f"`{second.doc_id}` says {second.value}",
        about=conflict.about.split(" (")[0],
        marks=MARKS_SLOT,
    )
    by_place = {(m.doc_id, m.start): m for m in members}
    cites = [Citation.from_evidence(0, by_place[(side.doc_id, side.start)]) for side in conflict.sides]
    return Note(text, "number", conflict.about, [first.doc_id, second.doc_id], cites, conflict.sides)
