"""Retrieval, grounded answering, summarizing and settings. Shells call into this package."""
