"""Loading, chunking, embedding and storing articles. Knows nothing about answering."""
