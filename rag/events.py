"""Events: one happening reported by several articles, dated by what the articles say, in time order.

A folder of news holds several stories and the same story from several outlets. Articles are
grouped by the vocabulary they share beyond what every article of the set says (TF-IDF over the
set, so "the talks" that all articles mention does not join them, and "the ferry strike" does), and
by the event's date: the date an article gives for what it reports ("on Wednesday", "July 3"),
read against the article's own date, else its publication date. An article whose date disagrees
with the other reports of the same event is named in a note instead of being dated silently.
"""

from __future__ import annotations

import calendar
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np

from rag import text as t
from rag.nlp import lexicon
from rag.retrieve import Evidence

if TYPE_CHECKING:
    from index.store import DocRecord

Precision = Literal["day", "month"]

# Phrase TF-IDF cosine (over the phrases at least two articles of the set say) at which two
# articles report the same happening, and the share of the shorter one's phrases they must share
# (in a set of two, the cosine alone is 1 as soon as one phrase is shared).
SAME_EVENT = 0.3
MIN_OVERLAP = 0.1
# Articles far apart in date join only when they share more and one date is the weaker (read from
# the text's first lines, not declared): then that date is wrong. Two declared dates far apart are
# two happenings of a developing story, unless the articles are near copies.
SAME_EVENT_DATES_APART = 0.35
COPY_OVERLAP = 0.5
MIN_DAYS_APART = 3
# A date the article gives counts as its event's date when it is this close before its publication.
EVENT_DAYS_BEFORE = 31
LEAD_SENTENCES = 6
# How much a date is to be believed, by where it came from (index/formats.py's date sources).
DATE_TRUST = {"metadata": 3, "front_matter": 3, "feed": 3, "published_line": 2, "lead": 1}
# A sentence of one article joins another event when it is this much closer to that event's sentences.
SPLIT_MARGIN = 0.15
# Sentences per event by default: a few, one more for each further outlet reporting it.
EVENT_BASE_SENTENCES = 3
EVENT_MAX_SENTENCES = 6
DEFAULT_MAX_SENTENCES = 15  # over many events the per-event budget is shared out from this
DATE_WORDS = re.compile(
    r"\b(today|tonight|yesterday|"
    + "|".join(lexicon()["weekdays"])
    + "|"
    + "|".join(calendar.month_abbr[1:])
    + r")",
    re.IGNORECASE,
)
MONTHS = {name: n for n, name in enumerate(lexicon()["months"], 1)}
MONTHS |= {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}
WEEKDAYS = {name: n for n, name in enumerate(lexicon()["weekdays"])}
_DAY = re.compile(r"\b([0-3]?\d)(?:st|nd|rd|th)?\b")


@dataclass(frozen=True)
class EventDate:
    day: date
    precision: Precision
    words: str  # how the article says it ("on Wednesday"), or "published"

    def spelled(self) -> str:
        if self.precision == "month":
            return f"{self.day.strftime('%B')} {self.day.year}"
        return f"{self.day.strftime('%B')} {self.day.day}, {self.day.year}"


@dataclass
class Article:
    """What grouping needs of one article: its date, the date it gives, its words and sentences."""

    doc_id: str
    title: str
    title_source: str
    published: date | None
    date_source: str | None
    sentences: list[Evidence]
    said: EventDate | None = None
    said_in: Evidence | None = None  # the sentence that gives `said`
    terms: Counter[str] = field(default_factory=Counter)
    first_sentence: str = ""
    concepts: set[str] = field(default_factory=set)  # what its sentences say (rag.summarize's terms)

    @property
    def trust(self) -> int:
        return DATE_TRUST.get(self.date_source or "", 0)

    @property
    def event_date(self) -> EventDate | None:
        if self.said is not None:
            return self.said
        return EventDate(self.published, "day", "published") if self.published else None


@dataclass
class EventGroup:
    articles: list[Article]
    date: EventDate | None = None
    misdated: list[Article] = field(default_factory=list)  # dated against the other reports
    sentence_ids: set[str] = field(default_factory=set)  # sentences split off other articles

    @property
    def doc_ids(self) -> list[str]:
        return [a.doc_id for a in self.articles]


def read_date(phrase: str, anchor: date | None, latest: date | None) -> EventDate | None:
    """One DATE expression as a day or a month. Weekdays, "today" and "yesterday" need the
    article's own date; a month without a year takes the anchor's year (the latest such month on or
    before it). Spans ("last month", "this year") and bare years are context, not the event's date."""
    words = re.sub(r"[^\w\s]", " ", phrase.lower()).split()
    # "may" is a month only beside a day or year ("May 3"), not the verb.
    month = next((MONTHS[w] for w in words if w in MONTHS and (w != "may" or len(words) > 1)), None)
    year_match = t.YEAR.search(phrase)
    year = int(year_match.group()) if year_match else None
    if month is None:
        if anchor is None or len(words) > 3:
            return None
        if "today" in words or "tonight" in words:
            return EventDate(anchor, "day", phrase)
        if "yesterday" in words:
            return EventDate(anchor - timedelta(days=1), "day", phrase)
        weekday = next((WEEKDAYS[w] for w in words if w in WEEKDAYS), None)
        if weekday is None or "next" in words:
            return None
        return EventDate(anchor - timedelta(days=(anchor.weekday() - weekday) % 7), "day", phrase)
    rest = t.YEAR.sub(" ", phrase)
    day_match = _DAY.search(rest)
    base = anchor or latest
    if year is None:
        if base is None:
            return None
        day = int(day_match.group(1)) if day_match else 1
        year = base.year if (month, day) <= (base.month, base.day) else base.year - 1
    if day_match and 1 <= int(day_match.group(1)) <= calendar.monthrange(year, month)[1]:
        return EventDate(date(year, month, int(day_match.group(1))), "day", phrase)
    return EventDate(date(year, month, 1), "month", phrase)


def date_said(article: Article, latest: date | None) -> tuple[EventDate, Evidence] | None:
    """The date the article gives for what it reports: a day it names in its lead, a day shortly
    before its publication anywhere, else a month it names (for an undated article)."""
    from rag.nlp import parse

    anchor = article.published
    found: list[tuple[int, EventDate, Evidence]] = []
    for position, sentence in enumerate(article.sentences):
        for ent in parse(sentence.text).ents:
            if ent.label_ != "DATE":
                continue
            when = read_date(ent.text, anchor, latest)
            if when is not None:
                found.append((position, when, sentence))
    days = [f for f in found if f[1].precision == "day"]
    if anchor is not None:
        days = [f for f in days if timedelta(0) <= anchor - f[1].day <= timedelta(days=EVENT_DAYS_BEFORE)]
    lead = [f for f in days if f[0] < LEAD_SENTENCES]
    months = [f for f in found if f[1].precision == "month"]
    best = (lead or days or ([] if anchor else months))[:1]
    return (best[0][1], best[0][2]) if best else None


def _published(iso: str | None) -> date | None:
    try:
        return date.fromisoformat(iso[:10]) if iso else None
    except ValueError:
        return None


def _tfidf(articles: Sequence[Article]) -> np.ndarray:
    """Rows of L2-normalised TF-IDF over the set's content terms and pairs: what an article shares
    with few others weighs most."""
    df: Counter[str] = Counter()
    for a in articles:
        df.update(set(a.terms))
    vocab = sorted(term for term, n in df.items() if n >= 2)
    index = {term: i for i, term in enumerate(vocab)}
    matrix = np.zeros((len(articles), max(1, len(vocab))), dtype=np.float32)
    n = len(articles)
    for row, a in enumerate(articles):
        for term, count in a.terms.items():
            if term in index:
                matrix[row, index[term]] = (1 + math.log(count)) * math.log((n + 1) / df[term])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _apart(a: Article, b: Article) -> bool:
    da, db = a.event_date, b.event_date
    if da is None or db is None:
        return False
    if "month" in (da.precision, db.precision):
        return (da.day.year, da.day.month) != (db.day.year, db.day.month)
    return abs((da.day - db.day).days) >= MIN_DAYS_APART


def overlap(a: Article, b: Article) -> float:
    shared = len(a.terms.keys() & b.terms.keys())
    return shared / max(1, min(len(a.terms), len(b.terms)))


def _requirement(a: Article, b: Article) -> tuple[float, bool]:
    """The phrase cosine two articles' groups need to join, and whether they may join at all."""
    shared = overlap(a, b)
    if not _apart(a, b):
        return SAME_EVENT, shared >= MIN_OVERLAP
    if a.trust != b.trust:
        return SAME_EVENT_DATES_APART, shared >= MIN_OVERLAP
    return 0.0, shared >= COPY_OVERLAP


def cluster(articles: Sequence[Article]) -> list[EventGroup]:
    """Average-link merging of articles while the closest two groups still share enough phrases;
    groups whose dates are apart need more in common. Group similarities are updated in place
    (Lance-Williams), so a few hundred articles take a moment, not minutes."""
    n = len(articles)
    if not n:
        return []
    vectors = _tfidf(articles)
    sims = (vectors @ vectors.T).astype(np.float64)
    needed = np.zeros((n, n))
    allowed = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            needed[i, j], allowed[i, j] = needed[j, i], allowed[j, i] = _requirement(articles[i], articles[j])
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    while len(members) > 1:
        alive = np.array(sorted(members))
        sub = sims[np.ix_(alive, alive)]
        ok = allowed[np.ix_(alive, alive)] & (sub >= needed[np.ix_(alive, alive)])
        np.fill_diagonal(ok, False)
        if not ok.any():
            break
        flat = int(np.argmax(np.where(ok, sub, -np.inf)))
        i, j = int(alive[flat // len(alive)]), int(alive[flat % len(alive)])
        size_i, size_j = len(members[i]), len(members[j])
        sims[i, :] = sims[:, i] = (size_i * sims[i, :] + size_j * sims[j, :]) / (size_i + size_j)
        needed[i, :] = needed[:, i] = np.maximum(needed[i, :], needed[j, :])
        allowed[i, :] = allowed[:, i] = allowed[i, :] & allowed[j, :]
        members[i] += members.pop(j)
    return [EventGroup([articles[k] for k in sorted(g)]) for g in members.values()]


def date_event(group: EventGroup) -> None:
    """The event's date: the day most of its articles give (ties to the better-sourced date,
    then the earliest); an article giving a day far from it is misdated. Else a month one names."""
    dated = [a for a in group.articles if a.event_date and a.event_date.precision == "day"]
    if dated:

        def support(a: Article) -> tuple[int, int, int]:
            near = [b for b in dated if not _apart(a, b)]
            day = a.event_date.day if a.event_date else date.max
            return (len(near), max(b.trust for b in near), -day.toordinal())

        anchor = max(dated, key=support)
        agreeing = [a for a in dated if not _apart(a, anchor)]
        group.date = min((a.event_date for a in agreeing if a.event_date), key=lambda d: d.day)
        group.misdated = [a for a in dated if _apart(a, anchor)]
        return
    months = Counter(a.event_date.day for a in group.articles if a.event_date)
    if months:
        day = max(months, key=lambda d: (months[d], -d.toordinal()))
        group.date = EventDate(day, "month", "month")


def order(groups: list[EventGroup]) -> list[EventGroup]:
    """Time order; undated events last."""
    return sorted(groups, key=lambda g: (g.date is None, g.date.day if g.date else date.max))


def latest_date(articles: Sequence[Article]) -> date | None:
    """What an undated article's "in March" is read against: the set's latest publication date
    (the latest March on or before it), as a question's bare month is read against the library."""
    days = [a.published for a in articles if a.published]
    return max(days) if days else None


def phrases(text: str) -> list[str]:
    """Adjacent content-word pairs ("air defense", "pay deal"): two outlets reporting one
    happening share its phrases; two stories on one theme share only single words."""
    out: list[str] = []
    previous = ""
    for word in t.words(text):
        lower = word.lower()
        if lower in t.STOPWORDS or len(word) < 2:
            previous = ""
            continue
        term = t.NUMBER_WORDS.get(lower, t.stem(word))
        if previous:
            out.append(f"{previous} {term}")
        previous = term
    return out


def make_article(record: DocRecord, sentences: Sequence[Evidence]) -> Article:
    """Only the sentences that may give a date are kept (without vectors): memory stays bounded."""
    terms: Counter[str] = Counter()
    for s in sentences:
        terms.update(phrases(s.text))
    dated = [
        replace(s, vector=None)
        for i, s in enumerate(sentences)
        if i < LEAD_SENTENCES or DATE_WORDS.search(s.text)
    ]
    first = next((s.text for s in sentences if len(s.text.split()) >= 6), "")
    return Article(
        record.doc_id, record.title, record.title_source, _published(record.date), record.date_source,
        dated, terms=terms, first_sentence=" ".join(first.split()),
    )  # fmt: skip


def single(articles: Sequence[Article]) -> list[EventGroup]:
    """One article (or one story asked for as such) is one event, dated by what it says."""
    group = EventGroup(list(articles))
    for a in articles:
        said = date_said(a, a.published)
        if said:
            a.said, a.said_in = said
    when = [a.event_date for a in articles if a.event_date]
    group.date = when[0] if when else None
    return [group]


def assign_sentences(
    groups: Sequence[EventGroup], sentences: Sequence[tuple[str, Sequence[float] | None]]
) -> list[int]:
    """The event each candidate sentence reports: its article's, unless it is closer by
    SPLIT_MARGIN to another event's sentences (an article that reports two happenings)."""
    owner = {a.doc_id: i for i, g in enumerate(groups) for a in g.articles}
    base = [owner[doc_id] for doc_id, _ in sentences]
    if len(groups) < 2:
        return base
    rows = [np.asarray(v, dtype=np.float32) if v is not None else None for _, v in sentences]
    centroids: list[np.ndarray | None] = []
    for number in range(len(groups)):
        mine = [r for r, b in zip(rows, base, strict=True) if b == number and r is not None]
        mean = np.mean(mine, axis=0) if mine else None
        norm = float(np.linalg.norm(mean)) if mean is not None else 0.0
        centroids.append(mean / norm if mean is not None and norm else None)
    out = []
    for row, own in zip(rows, base, strict=True):
        if row is None or centroids[own] is None:
            out.append(own)
            continue
        scores = [float(row @ c) if c is not None else -1.0 for c in centroids]
        best = max(range(len(groups)), key=lambda i: scores[i])
        out.append(best if best != own and scores[best] - scores[own] >= SPLIT_MARGIN else own)
    return out


def budgets(weights: Sequence[int], total: int | None, minimum: int = 1) -> list[int]:
    """Sentences (or words) per event. Without a total, a budget per event that grows with the
    outlets reporting it; with one, the total shared out by weight (largest remainder), the
    heaviest events first when there is not enough for all."""
    if total is None:
        per_event = [min(EVENT_MAX_SENTENCES, EVENT_BASE_SENTENCES + w) for w in weights]
        if sum(per_event) <= DEFAULT_MAX_SENTENCES:
            return per_event
        total = DEFAULT_MAX_SENTENCES
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    out = [0] * len(weights)
    for i in order[: max(1, total // minimum)]:
        out[i] = minimum
    left = total - sum(out)
    weight = sum(weights[i] for i in order if out[i]) or 1
    shares = {i: left * weights[i] / weight for i in order if out[i]}
    for i, share in shares.items():
        out[i] += int(share)
    remainder = total - sum(out)
    for i in sorted(shares, key=lambda i: -(shares[i] - int(shares[i])))[: max(0, remainder)]:
        out[i] += 1
    return out


def group_articles(articles: list[Article]) -> list[EventGroup]:
    hint = latest_date(articles)
    for a in articles:
        said = date_said(a, hint)
        if said:
            a.said, a.said_in = said
    groups = cluster(articles)
    for g in groups:
        date_event(g)
    return order(groups)
