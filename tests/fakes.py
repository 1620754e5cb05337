"""Fakes for fast unit tests of pipeline logic (never used where the real model takes seconds)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.llm import Completion, Message, TokenSink


class ScriptedChatModel:
    """Returns prepared drafts in order and records the prompts it was given."""

    name = "scripted"

    def __init__(self, *drafts: str) -> None:
        self.drafts = list(drafts)
        self.prompts: list[list[Message]] = []

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        on_token: TokenSink | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        self.prompts.append(list(messages))
        text = self.drafts.pop(0) if self.drafts else "NOT IN THE ARTICLES"
        if on_token:
            for word in text.split(" "):
                on_token(word + " ")
        return Completion(text=text, prompt_tokens=100, completion_tokens=len(text.split()), seconds=0.01)
