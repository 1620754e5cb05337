"""Loading, chunking, embedding and storing articles. Knows nothing about answering."""

# Before anything loads llama.cpp: its OpenMP workers' spin time is read once, at load (see cpu.py).
from index import cpu as _cpu  # noqa: E402,F401
