"""Thin shells: the `rag` CLI and the Gradio page. They parse input, call `rag`, format output."""
