"""The typed records an answer is made of and handed out as: citations, timings, the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rag.conflicts import Conflict

if TYPE_CHECKING:
    from rag.retrieve import Evidence

# span: a name, figure or date found in a cited sentence; generated: the model's sentence, verified;
# extractive: the cited sentence quoted; abstained: no answer found with enough confidence, the
# closest passages shown instead.
Mode = Literal["span", "generated", "extractive", "abstained"]
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    title: str
    date: str | None
    page: int | None
    text: str
    start: int
    end: int

    @classmethod
    def from_evidence(cls, n: int, ev: Evidence) -> Citation:
        title = ev.display_title or ev.title
        return cls(n, ev.doc_id, ev.chunk_id, title, ev.date, ev.page, ev.text, ev.start, ev.end)


@dataclass
class Timings:
    """Where an answer's time went; `total_s` excludes model loading (`load_s`)."""

    load_s: float = 0.0
    retrieve_s: float = 0.0
    generate_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of_parts(cls, parts: Sequence[Timings]) -> Timings:
        """A question answered in parts took the sum of its parts."""
        return cls(
            retrieve_s=round(sum(p.retrieve_s for p in parts), 4),
            generate_s=round(sum(p.generate_s for p in parts), 4),
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            completion_tokens=sum(p.completion_tokens for p in parts),
        )

    def add(self, seconds: float, prompt_tokens: int, completion_tokens: int = 0) -> None:
        """A model call's share: generation and reading both count as model time."""
        self.generate_s = round(self.generate_s + seconds, 4)
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens


@dataclass
class Answer:
    question: str
    answer: str
    mode: Mode
    abstained: bool
    citations: list[Citation]
    closest: list[Citation]
    conflicts: list[Conflict]
    timings: Timings
    draft: str = ""
    standalone_question: str = ""
    dropped: list[str] = field(default_factory=list)
    retrieved_docs: list[str] = field(default_factory=list)  # evidence order, for retrieval metrics
    confidence: float = 0.0  # probability that the answer is right; below `answer_threshold` it is withheld
    nearest: list[Citation] = field(default_factory=list)  # shown as `closest` if it is withheld
    time_window: dict[str, Any] | None = None  # the dates a relative time in the question resolved to

    def to_json(self) -> dict[str, Any]:
        keys = (
            "question",
            "answer",
            "mode",
            "abstained",
            "confidence",
            "citations",
            "closest",
            "conflicts",
            "time_window",
            "timings",
        )
        data = asdict(self)
        return {k: data[k] for k in keys}
