"""BM25 over evidence sentences (bm25s), persisted beside Chroma and rebuilt from it.

The lexical index is derived data: after every write (ingest, docs rm) it is rebuilt from the
sentences stored in Chroma and swapped in atomically, so the two never disagree for long and any
machine can rebuild it from a Chroma server.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 2  # 2: Snowball-stemmed tokens ("lasted" finds "last"); older indexes are rebuilt from Chroma


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokens(texts: Sequence[str], return_ids: bool = True) -> Any:
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="english", stemmer=_stemmer(), return_ids=return_ids, show_progress=False
    )


class LexicalIndex:
    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / "lexical"
        self._model: Any = None
        self._ids: list[str] = []
        self._by_chunk: dict[str, list[str]] | None = None
        self._loaded_stamp: float | None = None

    def rebuild(self, rows: Sequence[tuple[str, str]]) -> None:
        import bm25s

        tmp = self.path.with_name(f".lexical.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        ids = [i for i, _ in rows]
        if rows:
            model = bm25s.BM25()
            model.index(_tokens([text for _, text in rows]), show_progress=False)
            model.save(str(tmp), show_progress=False)
        (tmp / "format.json").write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
        (tmp / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
        old = self.path.with_name(f".lexical.old{os.getpid()}")
        if self.path.exists():
            os.replace(self.path, old)
        os.replace(tmp, self.path)
        shutil.rmtree(old, ignore_errors=True)
        self._model = None

    def ids(self) -> list[str]:
        try:
            data: list[str] = json.loads((self.path / "ids.json").read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return []

    @property
    def built(self) -> bool:
        return (self.path / "ids.json").is_file()

    @property
    def outdated(self) -> bool:
        """Built by an older version (different tokens): search would silently miss; rebuild instead."""
        if not (self.path / "ids.json").is_file():
            return False
        try:
            recorded = json.loads((self.path / "format.json").read_text(encoding="utf-8"))
            return int(recorded["format"]) != FORMAT
        except (OSError, ValueError, KeyError, TypeError):
            return True

    def _load(self) -> bool:
        stamp_file = self.path / "ids.json"
        if not stamp_file.is_file():
            return False
        stamp = stamp_file.stat().st_mtime
        if self._model is None or stamp != self._loaded_stamp:
            import bm25s

            self._ids = self.ids()
            self._by_chunk = None
            self._model = (
                bm25s.BM25.load(str(self.path), show_progress=False, verbosity=0) if self._ids else None
            )
            self._loaded_stamp = stamp
        return self._model is not None

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        if n <= 0 or not self._load():
            return []
        tokens = _tokens([query], return_ids=False)
        if not tokens or not tokens[0]:
            return []
        try:
            scores = self._model.get_scores(tokens[0])
        except (ValueError, KeyError):
            return []
        # Top n among the sentences that share a term with the query: bm25s's own retrieve
        # partitions all 140,000 scores at 20,000 articles (4.5 ms a query); the matching ones
        # are a tenth of that (0.5 ms).
        matching = np.flatnonzero(scores > 0)
        if len(matching) > n:
            matching = matching[np.argpartition(-scores[matching], n - 1)[:n]]
        best = matching[np.lexsort((matching, -scores[matching]))]  # by score, ties by position
        return [(self._ids[int(i)], float(scores[i])) for i in best]

    def sentence_share(self, text: str) -> float:
        """Share of all indexed sentences that contain the rarest word of `text`: how much of the
        collection a name runs through (a story's protagonist is in many sentences, an answer in few)."""
        if not self._load():
            return 0.0
        tokens = _tokens([text], return_ids=False)
        vocab, indptr = self._model.vocab_dict, self._model.scores["indptr"]
        words = [w for w in (tokens[0] if tokens else []) if w in vocab]
        counts = [int(indptr[vocab[w] + 1] - indptr[vocab[w]]) for w in words]
        total = int(self._model.scores["num_docs"]) or 1
        return min(counts) / total if counts else 0.0

    def sentences_of(self, chunk_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """Ids of the sentences each chunk owns, from the ids BM25 was built over, and the chunks
        it does not know (written since the last rebuild). Fetching rows by id is a key lookup in
        Chroma; filtering 140,000 rows' metadata by ``chunk_id`` is a scan."""
        if not self._load():
            return [], list(chunk_ids)
        if self._by_chunk is None:
            by_chunk: dict[str, list[str]] = {}
            for sentence_id in self._ids:
                chunk_id, _, _ = sentence_id.rpartition("/s")
                by_chunk.setdefault(chunk_id, []).append(sentence_id)
            self._by_chunk = by_chunk
        found: list[str] = []
        unknown: list[str] = []
        for chunk_id in chunk_ids:
            owned = self._by_chunk.get(chunk_id)
            if owned is None:
                unknown.append(chunk_id)
            else:
                found.extend(owned)
        return found, unknown
