"""Small, deterministic text features shared by evidence scoring, citation checks and eval."""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache

from rag.nlp import lexicon, word_set

STOPWORDS = word_set("stopwords")
QUESTION_FILLER = frozenset(
    [
        "happen",
        "happened",
        "happening",
        "discuss",
        "discussed",
        "discussion",
        "talk",
        "talked",
        "call",
        "calls",
        "called",
        "phone",
        "conversation",
        "know",
        "known",
        "describe",
        "described",
        "give",
        "gave",
        "get",
        "got",
        "make",
        "made",
        "take",
        "took",
        "kind",
        "sort",
        "type",
        "thing",
        "things",
        "news",
        "story",
        "stories",
        "report",
        "reports",
    ]
)
NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "denied"}
)
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
}
ORDINAL_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ],
        start=1,
    )
}


def figure_values(text: str) -> set[str]:
    """The values a text gives, however spelled: '6', 'six' and 'the sixth time' all give '6'.
    For comparing two readings of a count; verification keeps to `numbers` (a rank is not a count)."""
    words = re.findall(r"[a-z]+", fold(text).lower())
    return numbers(text) | {ORDINAL_WORDS[w] for w in words if w in ORDINAL_WORDS}


# Words that flip or narrow a claim; a statement using one its passage lacks is not supported.
POLARITY_WORDS = frozenset(
    [
        "reject",
        "rejected",
        "refuse",
        "refused",
        "fail",
        "failed",
        "deny",
        "denied",
        "cancel",
        "cancelled",
        "canceled",
        "resume",
        "resumed",
        "halt",
        "halted",
        "lose",
        "lost",
        "oppose",
        "opposed",
        "ban",
        "banned",
        "block",
        "blocked",
        "veto",
        "vetoed",
        "full",
        "entire",
        "all",
        "every",
        "only",
        "partial",
        "none",
        "increase",
        "increased",
        "decrease",
        "decreased",
        "rise",
        "rose",
        "fall",
        "fell",
    ]
)
# Titles are capitalised but name no one and no place on their own; nationality words are read from
# the parse in context (``rag.query.demonyms``).
TITLE_WORDS = frozenset(
    {
        "president",
        "vice",
        "secretary",
        "minister",
        "adviser",
        "advisor",
        "spokesperson",
        "spokesman",
        "envoy",
        "chancellor",
        "prime",
        "general",
        "senator",
        "governor",
        "mayor",
        "ambassador",
        "director",
        "chief",
        "press",
        "national",
    }
)

MONTH_NAMES = lexicon()["months"]
YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")  # a year as news writes it
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-.%]*[A-Za-z0-9%]|[A-Za-z0-9]")


def fold(text: str) -> str:
    """Unicode to plain ASCII, so 'Tefera’s' and "Tefera's" compare equal."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').replace("—", " - ")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


# A few verbs news writers vary on purpose; each group counts as one term ("asked for" ~ "urged").
SYNONYM_GROUPS = [
    ("ask", "urg", "request", "demand"),
    ("pledg", "promis", "vow", "commit", "assur"),
    ("talk", "discuss", "spok", "speak", "conversation", "conversat"),
    ("agre", "accept"),
    ("kill", "die", "dead", "death"),
]
CANONICAL = {member: group[0] for group in SYNONYM_GROUPS for member in group}


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    base = _stem(word)
    return CANONICAL.get(base, base)


def _stem(word: str) -> str:
    word = word.lower().strip(".'-")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ss", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + keep
            break
    if word.endswith("e") and len(word) > 4 and not word[-2].isdigit():
        word = word[:-1]  # pause/paused, issue/issued, advise/advised meet at one stem
    return word


_ABBREVIATION = re.compile(r"\b(?:[A-Z]\.){2,}")


def haystack(text: str) -> str:
    """Lower-case ASCII with dotted abbreviations collapsed, for verbatim name and word lookups."""
    return _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), fold(text)).lower()


def words(text: str) -> list[str]:
    """Word tokens; dotted abbreviations collapse so 'U.S.' and 'US' are the same word."""
    text = _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), fold(text))
    return [w.strip(".'-") for w in _WORD.findall(text)]


def content_terms(text: str) -> set[str]:
    """Stemmed content words; number words become digits so 'sixteen' matches '16'."""
    return set(_content_terms(text))


@lru_cache(maxsize=65536)
def _content_terms(text: str) -> frozenset[str]:
    """Cached: retrieval, answer checks and the judge look at the same sentences many times."""
    out = set()
    for w in words(text):
        lower = w.lower()
        if lower in STOPWORDS or len(w) < 2:
            continue
        out.add(NUMBER_WORDS.get(lower, stem(w)))
    return frozenset(out)


def numbers(text: str) -> set[str]:
    """Numbers as digits, e.g. '40', '30-day' -> '30', 'sixteen' -> '16'."""
    folded = fold(text)
    found = {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", folded)}
    found |= {
        NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", folded.lower()) if w in NUMBER_WORDS and w != "one"
    }
    return found


def polarity_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", fold(text).lower()) if w in POLARITY_WORDS}


_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*")  # a word with its hyphens and apostrophes


def names(text: str) -> set[str]:
    """Capitalised words that are not sentence-initial or common words: people, places, organisations."""
    out = set()
    text = _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), fold(text))
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        tokens = _NAME_TOKEN.findall(sentence)
        for token in tokens:
            bare = token.strip("'-")
            if bare.endswith("'s"):
                bare = bare[:-2]
            acronym = len(bare) >= 2 and bare.isupper()  # US, EU, NSA: who did what hinges on them
            if (len(bare) < 3 and not acronym) or not bare[0].isupper():
                continue
            lower = bare.lower()
            if lower in STOPWORDS or lower in MONTH_NAMES:
                continue
            if lower in NUMBER_WORDS:
                continue
            out.add(lower)
    return out


def months(text: str) -> set[str]:
    lowered = fold(text).lower()
    return {m for m in MONTH_NAMES if re.search(rf"\b{m}\b", lowered)}


def has_negation(text: str) -> bool:
    lowered = fold(text).lower()
    return any(w in NEGATIONS for w in re.findall(r"[a-z]+", lowered)) or "n't" in lowered


def name_in(name: str, haystack_lower: str) -> bool:
    """A name matches when written the same, allowing transliteration endings (Olexandr/Oleksandr)."""
    if re.search(rf"\b{re.escape(name)}", haystack_lower):
        return True
    if len(name) >= 6:
        return re.search(rf"\b{re.escape(name[:-1])}", haystack_lower) is not None
    return False


def same_name_word(a: str, b: str, min_length: int = 6) -> bool:
    """Two spellings of one name word: the same, or long words that differ only in their last two
    letters, as transliterations of one name do across articles (Horodetsky, Horodetskyy,
    Horodetskiy). Short words only as written: "Ines" is not "Inessa"."""
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    if min(len(a), len(b)) < min_length:
        return False
    shared = len(os.path.commonprefix([a, b]))
    return shared >= max(len(a), len(b)) - 2


def terms_said(terms: set[str] | frozenset[str], text: str) -> set[str]:
    """The terms a text says: as a content term, or as a name spelled in it."""
    have, lowered = content_terms(text), haystack(text)
    return {term for term in terms if term in have or name_in(term, lowered)}


def specific_terms(question: str) -> set[str]:
    """Terms a question cannot do without: names and anything with a digit (F-16, 2025, 40)."""
    terms = key_terms(question)
    named = {stem(n) for n in names(question) - _name_modifiers(question)}
    return {term for term in terms if term in named or any(ch.isdigit() for ch in term)}


def _name_modifiers(question: str) -> set[str]:
    """Hyphenated words that use a name to describe ("Brno-based", "Oscar-winning"): an article says
    the same in other words ("based in Brno"), so they are not names the question cannot do without."""
    words = _NAME_TOKEN.findall(fold(question))
    return {w.lower() for w in words if "-" in w.strip("-") and w.rsplit("-", 1)[1][:1].islower()}


_MEASURE_QUESTION = re.compile(
    r"\bhow (long|far|large|big|old|high|low|fast|tall|deep|hot|cold|warm|heavy)\b", re.I
)


def key_terms(question: str) -> set[str]:
    """What a question is about: its content terms without question filler."""
    return {t for t in content_terms(question) if t not in QUESTION_FILLER and t not in STOPWORDS}


def topic_terms(question: str) -> set[str]:
    """Key terms minus the words that only ask for a measure, for deciding whether to abstain.

    "How long did the strike last?" is about the strike: "long" and "last" only ask for a duration,
    and an article that says "a four-day strike" answers it without using either word.
    """
    measure = _MEASURE_QUESTION.search(question)
    if measure:
        question = _MEASURE_QUESTION.sub(" ", question)
        if measure.group(1).lower() == "long":
            question = re.sub(r"\blast(ed|s)?\b", " ", question, flags=re.I)
    return key_terms(question)


@lru_cache(maxsize=65536)
def numbers_outside_dates(text: str) -> frozenset[str]:
    """Counts and amounts, not the day or year of a date ("April 7, 2025" answers no 'how many').
    Cached: every question's type check looks for dates in the same candidate sentences."""
    from index.loaders import find_dates

    for start, end, _iso in reversed(find_dates(text)):
        text = text[:start] + " " + text[end:]
    return frozenset(n for n in numbers(text) if not YEAR.fullmatch(n))


BYLINE_MAX_CHARS = 100  # a byline is a short line of its own: "By Ines Varga and Tom Hale, Brno"
BYLINE_TAIL_WORDS = 4  # what may follow the names: an outlet or a place ("…, Brno Daily")


_AGE = re.compile(r"\b(\d{1,3})(?=[- ]years?[- ]old\b)|\b(?:aged?)\s+(\d{1,3})\b(?![-.,]?\d)", re.I)


def ages(text: str) -> list[tuple[int, int]]:
    """Where a sentence states someone's age, as the characters of the figure: "71-year-old",
    "10 years old", "aged 64", "(age 39)"."""
    return [m.span(1) if m.group(1) else m.span(2) for m in _AGE.finditer(text)]


@lru_cache(maxsize=1)
def _byline() -> re.Pattern[str]:
    openers = "|".join(re.escape(o) for o in sorted(lexicon()["byline_openers"], key=len, reverse=True))
    name = r"[A-Z][\w.'’-]*"
    return re.compile(rf"^\s*(?i:{openers})\s+({name}(?:\s+(?:{name}|and|de|van|von|der|al|bin)){{0,6}})")


def byline_name(line: str) -> tuple[int, int] | None:
    """Where a byline names its writers ("By Ines Varga and Tom Hale" -> "Ines Varga and Tom Hale"),
    as characters of the line; None for any other line ("By Monday, the talks had …")."""
    if len(line.strip()) > BYLINE_MAX_CHARS:
        return None
    found = _byline().match(line)
    if found is None:
        return None
    first = found.group(1).split()[0].lower()
    if first in word_set("weekdays") or first in word_set("months"):
        return None  # "By Monday, …"
    rest = line[found.end() :].strip()
    tail = rest.startswith((",", "|", "–", "—", "-", "(")) and len(rest.split()) <= BYLINE_TAIL_WORDS
    if rest and not tail:
        return None  # the line goes on as a sentence: not a byline
    return found.start(1), found.end(1)


def written_date(line: str, iso: str | None) -> tuple[int, int] | None:
    """Where a line writes the article's own date (its ISO form `iso`, however written: "4 July
    2025", "2025-07-04"), as characters of the line; None when it does not."""
    if iso is None:
        return None
    from index.loaders import find_dates

    return next(((start, end) for start, end, found in find_dates(line) if found == iso), None)
