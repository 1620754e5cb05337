"""`rag doctor --check`: drift between the manifest, Chroma and BM25 is found and repaired."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import SAMPLE_CORPUS, rag


def check(index: Path) -> dict:
    result = rag("doctor", "--check", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def add_ghost_row(index: Path) -> None:
    """A row Chroma holds for a document the manifest never completed (as a bug or a crash leaves)."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(index / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    sentences = client.get_collection("sentences")
    sentences.add(
        ids=["ghost#c0/s0"],
        documents=["A ghost sentence about the Harlow Reservoir that no manifest lists."],
        embeddings=[[0.05] * 384],
        metadatas=[{"doc_id": "ghost", "content_hash": "0" * 64, "start": 0, "end": 10}],
    )


def test_doctor_check_finds_and_repairs_drift(tmp_path):
    index = tmp_path / "index"
    assert rag("ingest", str(SAMPLE_CORPUS), "--index", str(index)).returncode == 0
    docs_before = json.loads(rag("docs", "list", "--index", str(index), "--json").stdout)
    assert check(index)["consistent"] is True

    shutil.rmtree(index / "lexical")  # BM25 lost
    add_ghost_row(index)  # Chroma holds rows of an unknown document
    victim = docs_before[0]
    (index / "texts" / f"{victim['content_hash']}.txt").unlink()  # a stored text lost
    report = check(index)
    assert report["consistent"] is False
    assert report["orphan rows"] == 1
    assert report["incomplete documents"] == [victim["doc_id"]]
    assert report["lexical index in step"] is False
    assert report["repaired"] is True

    again = check(index)
    assert again["consistent"] is True and "repaired" not in again
    docs_after = json.loads(rag("docs", "list", "--index", str(index), "--json").stdout)
    assert {d["doc_id"] for d in docs_after} == {d["doc_id"] for d in docs_before} - {victim["doc_id"]}
    answer = json.loads(
        rag("ask", "How low did the Harlow Reservoir fall?", "--index", str(index), "--json").stdout
    )
    assert "ghost" not in {c["doc_id"] for c in answer["citations"] + answer["closest"]}
    # re-ingesting brings the dropped document back, complete
    assert rag("ingest", str(SAMPLE_CORPUS), "--index", str(index)).returncode == 0
    assert check(index)["documents"] == len(docs_before)
