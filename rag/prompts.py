"""Prompt templates are data files in the top-level `prompts` package, rendered strictly."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources


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
