"""Eval sets, metrics and the runner behind `rag eval`. Needs no LLM judge."""
