"""The answer path's shape: one module per step, imports that flow one way, one question typer."""

from __future__ import annotations

import ast
from pathlib import Path

RAG = Path(__file__).resolve().parent.parent / "rag"


def _imports(path: Path) -> set[str]:
    """The `rag` modules a module imports, lazily or at the top, for type checking or at run time."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("rag."):
                out.add(node.module.split(".")[1])
            elif node.module == "rag":
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("rag."))
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, set()) & graph.keys()):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    return next((c for node in sorted(graph) if node not in state and (c := visit(node))), None)


def test_cycle_finder_finds_an_invented_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_rag():
    graph = {path.stem: _imports(path) for path in RAG.glob("*.py")}
    assert _cycle(graph) is None


def test_the_steps_are_modules_and_import_forward_only():
    steps = ["analyse", "retrieve", "read", "verify", "compose", "answer"]
    for n, step in enumerate(steps):
        assert (RAG / f"{step}.py").is_file()
        later = set(steps[n + 1 :])
        assert not _imports(RAG / f"{step}.py") & later, f"{step} imports a later step"
    assert not (RAG / "qtype.py").exists() and not (RAG / "query.py").exists()
