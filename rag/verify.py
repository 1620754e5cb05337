"""Step 4 of an answer: verify. A statement stays only when an evidence sentence supports it.

A 135M model cannot be trusted to cite or to refuse, so grounding is a property of the pipeline:
every statement of a generated answer is checked against the evidence (judge.py), attached to the
sentence that supports it, and dropped when none does; a statement that answers another kind of
question than the one asked is dropped too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag import text as t
from rag.analyse import Query
from rag.judge import judge, passage_context
from rag.kinds import holds_kind
from rag.nlp import lexicon
from rag.records import MARKER
from rag.retrieve import Evidence

# A name or figure of the question that no evidence sentence holds caps the coverage below any
# answering threshold, unless it is one of many the evidence does hold: "Danish skater Ines Varga
# at the 1980 Games" with only "Danish" unsaid is still about her; "Bishop Orla on the harbour
# strike" without "Orla" is about someone else.
MISSING_SPECIFIC_SHARE = 1 / 3
MIN_STATEMENT_TERMS = 3  # "Mayor Tefera is" is not a statement worth citing
REFUSAL = re.compile(
    r"not in the articles|does not (?:say|mention|answer|provide)|doesn't (?:say|mention)|no information|"
    r"not (?:mentioned|specified|stated|provided)|cannot answer|can't answer|i don't know",
    re.I,
)
CLAUSE_BREAK = re.compile(
    r",\s|;\s|\s(?:which|who|during|in the|on the|between|while|because|after|before|as part of|according to|"
    r"with the|for the|at the)\s",
    re.I,
)
META_PREFIX = re.compile(r"^\s*(the answer is|answer|the facts are|facts?|based on the facts)\s*:\s*", re.I)
# A list item's number or bullet ("2. ", "3) ", "- ", "• "): the model lists the facts it was shown,
# and the number is its list's, not the news.
LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]\s+|[-*•–]\s+)")


def key_coverage(query: Query, evidence: Sequence[Evidence]) -> tuple[float, list[str]]:
    """Share of the question's key terms that the evidence contains, and the missing ones.

    Names and numbers in the question count double: a question about a person or figure the
    articles never mention is the typical unanswerable question. When a third or more of those
    are missing the coverage is capped below half.
    """
    terms = query.topic
    if not terms:
        return 1.0, []
    weight = {term: (2.0 if term in query.specific else 1.0) for term in terms}
    found = t.terms_said(terms, " ".join(context(e) for e in evidence))
    missing = sorted(terms - found)
    score = sum(weight[x] for x in found) / sum(weight.values())
    unsaid = sum(term in query.specific for term in missing)
    if unsaid and unsaid >= MISSING_SPECIFIC_SHARE * len(query.specific & terms):
        score = min(score, 0.49)
    return score, missing


def restates_supported(query: Query, statement: str, cited: Sequence[Evidence]) -> bool:
    """Whether the cited evidence says everything the statement repeats of the question: the judge
    lets a quarter of a statement's words go unsupported, and when those are the question's own
    ("the Brno ferry *was documented carrying* horses") the sentence answers a different question."""
    repeated = t.content_terms(statement) & query.words
    return t.terms_said(repeated, " ".join(context(e) for e in cited)) == repeated


def context(ev: Evidence) -> str:
    return passage_context(ev.text, ev.title, ev.date)


def is_headline(sentence: str) -> bool:
    return not sentence.rstrip().endswith((".", "!", "?", '"', "”", "’", ")"))


def instruction_echo(answer: str) -> bool:
    """An answer that repeats the prompt's own wording is about the prompt, not the news."""
    folded = t.fold(answer).lower()
    return any(phrase in folded for phrase in lexicon()["instruction_phrases"])


def split_statements(answer: str) -> list[str]:
    from index.chunking import sentence_spans

    return [s.text.strip() for s in sentence_spans(answer) if s.text.strip()]


def clause_prefixes(statement: str) -> list[str]:
    """The statement, then ever shorter prefixes ending before a clause break.

    Small models restate the question or add a flourish ("…on Wednesday, which is a day of the
    week"); cutting the unsupported tail keeps the supported claim instead of discarding it.
    """
    cuts = sorted({m.start() for m in CLAUSE_BREAK.finditer(statement) if m.start() > 0}, reverse=True)
    out = [statement]
    for cut in cuts:
        prefix = statement[:cut].rstrip(" ,;:")
        if prefix and prefix not in out:
            out.append(prefix + ".")
    return out


def misses_what_was_asked(
    query: Query, statement: str, sources: Sequence[Evidence], evidence: Sequence[Evidence]
) -> bool:
    """A figure from the question (a year, a number) that the evidence has but this passage lacks.

    "How large is the 2025 budget?" answered from a sentence about the tram budget: the evidence
    mentions 2025 elsewhere, so this passage is about something else.
    """
    cited = t.haystack(" ".join(e.text for e in sources) + " " + statement)
    elsewhere = t.haystack(" ".join(e.text + " " + (e.date or "") for e in evidence))
    figures = {term for term in query.specific if any(ch.isdigit() for ch in term)}
    return any(t.name_in(term, elsewhere) and not t.name_in(term, cited) for term in figures)


def attach_citations(
    draft: str, evidence: Sequence[Evidence], query: Query | None = None
) -> tuple[list[tuple[str, list[int]]], list[str]]:
    """Pair each statement with the evidence (0-based) that supports it; return the unsupported ones."""
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    for raw in split_statements(draft):
        hinted = [int(x) - 1 for m in MARKER.finditer(raw) for x in m.group(1).split(",")]
        statement = META_PREFIX.sub("", LIST_MARK.sub("", MARKER.sub("", raw))).strip(" ()[]*")
        if len(t.content_terms(statement)) < MIN_STATEMENT_TERMS or REFUSAL.search(statement):
            continue
        if instruction_echo(statement):
            dropped.append(statement)  # about the prompt, not the news: rejected like an unsupported one
            continue
        order = [i for i in hinted if 0 <= i < len(evidence)] + [
            i for i in range(len(evidence)) if i not in hinted
        ]
        found = _supported_prefix(statement, order, evidence, query)
        if found and not any(
            found[1] == k[1] and t.content_terms(found[0]) == t.content_terms(k[0]) for k in kept
        ):
            kept.append(found)
        else:
            dropped.append(statement)
    return kept, dropped


def answering_statements(
    draft: str, evidence: Sequence[Evidence], query: Query
) -> tuple[list[tuple[str, list[int]]], list[str]]:
    """`attach_citations` for an answer: a kept statement must also find in its cited sentences
    every word it repeats of the question (`restates_supported`) and, for a question about a
    refusal, the refusal (`refuses_as_asked`); the others are dropped."""
    kept, dropped = attach_citations(draft, evidence, query)
    answering = []
    for text, sources in kept:
        cited = [evidence[i] for i in sources]
        if restates_supported(query, text, cited) and refuses_as_asked(query, cited):
            answering.append((text, sources))
        else:
            dropped.append(text)
    return answering, dropped


def refuses_as_asked(query: Query, cited: Sequence[Evidence]) -> bool:
    """A question about a refusal ("what did the council reject?") is answered by a sentence that
    tells of that refusal, not by one where the same people agree to, discuss or reject another."""
    asked = _refusals(query.text)
    return not asked or any(asked & _refusals(context(e)) for e in cited)


def _refusals(text: str) -> set[str]:
    """The refusals a text tells of, each by its verb ("denied" and "denies" are one)."""
    words = set(re.findall(r"[a-z]+", t.haystack(text)))
    return {verb for verb, forms in lexicon()["refusal_words"].items() if words & set(forms)}


def _supported_prefix(
    statement: str, order: Sequence[int], evidence: Sequence[Evidence], query: Query | None
) -> tuple[str, list[int]] | None:
    """The longest clause prefix of a statement that answers the question and a passage supports."""
    key = (query.key or query.search_key) if query else frozenset()
    for candidate in clause_prefixes(statement):
        terms = t.content_terms(candidate)
        if len(terms) < MIN_STATEMENT_TERMS:
            break
        if query is not None:
            if not holds_kind(query, candidate):
                continue  # true or not, it does not answer what was asked
            if not terms - query.asked:
                continue  # only restates the question
            if key and not key & terms and query.sentence_kind not in ("person", "place"):
                continue  # a true sentence about something else
        support = next((i for i in order if judge(candidate, [context(evidence[i])]).supported), None)
        sources = [support] if support is not None else _support_by_pair(candidate, evidence)
        if sources and not (
            query and misses_what_was_asked(query, candidate, [evidence[i] for i in sources], evidence)
        ):
            return candidate, sources
    return None


def _support_by_pair(statement: str, evidence: Sequence[Evidence]) -> list[int] | None:
    if t.numbers(statement):
        return None  # a figure must come from one passage: pairs are how 37.8 becomes "the new record"
    for i in range(len(evidence)):
        for j in range(i + 1, len(evidence)):
            if evidence[i].doc_id != evidence[j].doc_id:
                continue  # a sentence stitched from two articles is how attributions get swapped
            if judge(statement, [context(evidence[i]), evidence[j].text]).supported:
                return [i, j]
    return None


def pick_quotes(query: Query, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence that best answers the question, of the right kind; empty when none does."""
    terms = query.key - query.specific or query.key
    usable = [
        e
        for e in evidence
        if holds_kind(query, e.text)
        and terms & t.content_terms(e.text)
        and not is_headline(e.text)
        and not misses_what_was_asked(query, "", [e], evidence)
    ]
    if not usable and query.sentence_kind == "number":  # a count or duration, never a name or place:
        return _same_article_pair(query, terms, evidence)  # those need the sentence that states them
    if not usable:
        return []
    head = t.content_terms(query.amount) if query.amount else set()  # "what pay rise": that sentence first
    ranked = sorted(
        usable,
        key=lambda e: (head <= t.content_terms(e.text), len(terms & t.content_terms(e.text)), e.score),
        reverse=True,
    )
    return ranked[:2] if len(ranked) > 1 and ranked[1].lexical >= 0.5 else ranked[:1]


def _same_article_pair(query: Query, terms: frozenset[str], evidence: Sequence[Evidence]) -> list[Evidence]:
    """The answer and what the question is about can sit in two sentences of one article: "How long
    was the call in which the plants were discussed?" — one sentence gives "hour-long call", another
    of the same article the plants. Both are quoted; a sentence from another article is not used."""
    for about in evidence:
        if is_headline(about.text) or not terms & t.content_terms(about.text):
            continue
        for answer in evidence:
            if (
                answer is not about
                and answer.doc_id == about.doc_id
                and not is_headline(answer.text)
                and holds_kind(query, answer.text)
            ):
                return [answer, about]
    return []
