"""Prompt templates are data files in the top-level `prompts` package, rendered strictly."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from rag.records import MARKER

if TYPE_CHECKING:
    from rag.retrieve import Evidence

Message = dict[str, str]
CONTROL_TOKENS = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<<\/?SYS>>", re.I)


class PromptError(KeyError):
    pass


@cache
def load_template(name: str) -> string.Template:
    text = resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return string.Template(text)


def template_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".txt") for p in resources.files("prompts").iterdir() if p.name.endswith(".txt")
    )


def render(name: str, **values: object) -> str:
    """Fill a template; a missing variable is an error, never an empty hole in a prompt."""
    template = load_template(name)
    try:
        return template.substitute({k: str(v) for k, v in values.items()}).strip()
    except KeyError as missing:
        raise PromptError(f"prompt {name!r} needs variable {missing.args[0]!r}") from None
    except ValueError as exc:
        raise PromptError(f"prompt {name!r} is malformed: {exc}") from None


def variables(name: str) -> set[str]:
    """The placeholders a template uses, for tests that every one gets a value."""
    template = load_template(name)
    return {
        m.group("named") or m.group("braced")
        for m in template.pattern.finditer(template.template)
        if m.group("named") or m.group("braced")
    }


def as_quoted_data(text: str) -> str:
    """An article sentence as the model sees it: no chat-template tokens, no citation-like markers.

    Citations keep the verbatim text; only the prompt copy is defanged, so an article cannot open a
    fake system turn or plant "[3]" where the model would take it for one of our markers.
    """
    text = CONTROL_TOKENS.sub(" ", text)
    text = MARKER.sub("", text)
    return " ".join(text.split())


def format_evidence(evidence: Sequence[Evidence]) -> str:
    return "\n".join(
        render("evidence_line", n=n, text=as_quoted_data(ev.text)) for n, ev in enumerate(evidence, 1)
    )


def draft_messages(question: str, evidence: Sequence[Evidence]) -> list[Message]:
    """The prompt an open question's draft is written from: the system prompt (a static prefix in
    the KV cache), then the numbered evidence sentences and the question."""
    return [
        {"role": "system", "content": render("system")},
        {"role": "user", "content": render("answer", evidence=format_evidence(evidence), question=question)},
    ]


def passage_messages(question: str, passages: Sequence[str]) -> list[Message]:
    """The prompt a passage reader answers from: numbered article passages, then the question; the
    reply is the answer's own words (a name, a figure, a date), so it can be found in a passage."""
    numbered = "\n\n".join(
        render("evidence_line", n=n, text=as_quoted_data(text)) for n, text in enumerate(passages, 1)
    )
    return [
        {"role": "system", "content": render("system_passages")},
        {"role": "user", "content": render("passages", passages=numbered, question=question)},
    ]


def focused_messages(question: str, sentence: Evidence, examples: bool = True) -> list[Message]:
    """The second try: answer from the one sentence that holds the answer, optionally after two
    worked examples (which stop some restated questions and copied sentences, and cause others)."""
    messages = []
    for n in (1, 2) if examples else ():
        messages.append({"role": "user", "content": render(f"rewrite_question_{n}")})
        messages.append({"role": "assistant", "content": render(f"rewrite_answer_{n}")})
    content = render("rewrite_answer", sentence=as_quoted_data(sentence.text), question=question)
    messages.append({"role": "user", "content": content})
    return messages
