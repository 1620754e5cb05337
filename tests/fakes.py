"""Fakes for fast unit tests of pipeline logic (never used where the real model takes seconds)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.llm import Completion, Message, Scores, TokenSink


class ScriptedChatModel:
    """Returns prepared drafts in order and records the prompts it was given."""

    name = "scripted"

    def __init__(self, *drafts: str) -> None:
        self.drafts = list(drafts)
        self.prompts: list[list[Message]] = []
        self.drafts_given: list[str] = []

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
        self.drafts_given.append(text)
        if on_token:
            for word in text.split(" "):
                on_token(word + " ")
        return Completion(text=text, prompt_tokens=100, completion_tokens=len(text.split()), seconds=0.01)


class ReadingChatModel(ScriptedChatModel):
    """Also scores replies, as an in-process model does: each reply's log-probability is looked up
    by its text (`unknown` for the rest), and the prompts it read are recorded."""

    name = "reading"

    def __init__(self, logprobs: dict[str, float], *drafts: str, unknown: float = -12.0) -> None:
        super().__init__(*drafts)
        self.logprobs = logprobs
        self.unknown = unknown
        self.read: list[list[Message]] = []

    def score(self, messages: Sequence[Message], replies: Sequence[str]) -> Scores:
        self.read.append(list(messages))
        return Scores(
            [[self.logprobs.get(r, self.unknown)] for r in replies], prompt_tokens=120, seconds=0.01
        )
