"""A generated news corpus for scale runs: deterministic, any size, with one checkable fact per article.

Every article reports one event in an invented town (a budget, a strike, a bridge, a flood, …) with a
headline, a dateline, several paragraphs of plausible detail and a *key fact*: a figure attached to a
name that no other article shares. ``questions`` asks for those facts, so a scale run can check that
retrieval still finds the right article among thousands, not only that it is fast.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

TOWNS_A = ["Ash", "Bram", "Cor", "Dun", "Ell", "Fen", "Gar", "Hol", "Ivy", "Kel", "Lorn", "Mar", "Nor", "Orm"]
TOWNS_B = ["ford", "wick", "by", "ton", "mouth", "field", "stead", "holm", "dale", "bury", "gate", "well"]
FIRST = [
    "Alma",
    "Boris",
    "Clara",
    "David",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Joris",
    "Kira",
    "Luca",
]
LAST = ["Adler", "Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Grant", "Hale", "Ito", "Jansen", "Kovac"]
ROLES = ["mayor", "council leader", "union spokesperson", "fire chief", "harbour master", "school director"]
SUBJECTS = [
    (
        "budget",
        "approved a budget of {n} million euros for {thing}",
        "How much money was approved for {thing} in {town}?",
    ),
    (
        "strike",
        "ended a strike after a pay rise of {n} percent for {thing}",
        "What pay rise ended the strike of {thing} in {town}?",
    ),
    (
        "bridge",
        "opened the {thing} bridge, which cost {n} million euros",
        "What did the {thing} bridge in {town} cost?",
    ),
    ("flood", "counted {n} flooded homes along {thing}", "How many homes flooded along {thing} in {town}?"),
    ("school", "hired {n} new teachers for {thing}", "How many teachers were hired for {thing} in {town}?"),
    (
        "tram",
        "ordered {n} trams for the {thing} line",
        "How many trams were ordered for the {thing} line in {town}?",
    ),
]
THINGS = [
    "the river Ess",
    "North Quay",
    "the old mill",
    "Elm Street",
    "the harbour",
    "Lake Vorn",
    "the east ward",
]
FILLER = [
    "Residents gathered outside the town hall for most of the afternoon.",
    "The decision followed weeks of public hearings and several postponed votes.",
    "Local businesses said they expected the change to affect trade over the coming months.",
    "Officials promised to publish a detailed report before the end of the quarter.",
    "Critics argued that the plan had been rushed and that costs were likely to rise.",
    "Supporters pointed to similar projects in neighbouring towns that had worked well.",
    "A regional newspaper survey found that most residents backed the idea.",
    "The opposition asked for an independent review of the figures.",
    "Work is expected to begin in the spring if the weather allows.",
    "Several speakers at the meeting raised concerns about noise and traffic.",
]


@dataclass(frozen=True)
class Article:
    name: str
    text: str
    question: str
    answer: str


def _town(rng: random.Random, i: int) -> str:
    # The index keeps names unique without a lookup table: base-N digits pick the syllables.
    a, b = TOWNS_A[i % len(TOWNS_A)], TOWNS_B[(i // len(TOWNS_A)) % len(TOWNS_B)]
    return f"{a}{b}-{i // (len(TOWNS_A) * len(TOWNS_B)) + 1}" if i >= len(TOWNS_A) * len(TOWNS_B) else a + b


def article(i: int, seed: int = 0, paragraphs: int = 6) -> Article:
    rng = random.Random(seed * 1_000_003 + i)
    town = _town(rng, i)
    kind, fact, question = SUBJECTS[i % len(SUBJECTS)]
    thing = rng.choice(THINGS)
    n = str(rng.randint(12, 980))
    person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    role = rng.choice(ROLES)
    day = date(2020, 1, 1) + timedelta(days=rng.randint(0, 5 * 365))
    title = f"{town} {kind} news: {thing.replace('the ', '').title()}"
    lead = f"The authorities in {town} {fact.format(n=n, thing=thing)} on {day:%B} {day.day}, {day.year}."
    quote = f'"This matters for everyone in {town}," said {person}, the {role}.'
    body = [lead, quote]
    for _ in range(paragraphs - 2):
        body.append(" ".join(rng.sample(FILLER, 3)))
    text = f"{title}\nPublished {day.isoformat()}\n\n" + "\n\n".join(body) + "\n"
    return Article(f"a{i:06d}.txt", text, question.format(thing=thing, town=town), n)


def articles(count: int, seed: int = 0, paragraphs: int = 6) -> Iterator[Article]:
    for i in range(count):
        yield article(i, seed, paragraphs)


def write_corpus(folder: Path, count: int, seed: int = 0, paragraphs: int = 6) -> Path:
    """Write ``count`` articles (skipping ones already there) and a questions.jsonl beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f"{folder.name}.questions.jsonl").open("w", encoding="utf-8") as questions:
        for item in articles(count, seed, paragraphs):
            path = folder / item.name
            if not path.is_file():
                path.write_text(item.text, encoding="utf-8")
            row = {"doc_id": Path(item.name).stem, "question": item.question, "answer": item.answer}
            questions.write(json.dumps(row) + "\n")
    return folder
