"""Ingest against real Chroma and the real embedder: idempotence, replacement, ids, removal."""

from __future__ import annotations

import shutil

import pytest

from index.errors import IndexMismatchError, UserError
from index.ingest import ingest
from index.store import CHUNKS, SENTENCES, ChromaStore
from tests.helpers import run


def test_reingest_of_unchanged_files_does_no_work(app, tmp_path, seeds_copy):
    first, store = run(app, tmp_path / "idx", seeds_copy)
    assert first.count("indexed") == 5
    chunks, sentences = store.count(CHUNKS), store.count(SENTENCES)
    assert chunks == first.chunks_written > 0
    second, store = run(app, tmp_path / "idx", seeds_copy)
    assert second.count("unchanged") == 5 and second.chunks_written == 0
    assert (store.count(CHUNKS), store.count(SENTENCES)) == (chunks, sentences)
    assert sorted(store.documents()) == sorted(p.stem for p in seeds_copy.glob("*.txt"))


def test_changed_file_replaces_its_old_chunks(app, tmp_path, seeds_copy):
    _, store = run(app, tmp_path / "idx", seeds_copy)
    target = sorted(seeds_copy.glob("*.txt"))[1]
    before = store.documents()[target.stem]
    target.write_text(
        "A replacement article. The harbour of Exampleton reopened on Friday.\n", encoding="utf-8"
    )
    report, store = run(app, tmp_path / "idx", seeds_copy)
    assert report.count("updated") == 1 and report.count("unchanged") == 4
    after = store.documents()[target.stem]
    assert after.content_hash != before.content_hash
    rows = store.get(CHUNKS, {"doc_id": target.stem})
    assert rows and all(r.metadata["content_hash"] == after.content_hash for r in rows)
    assert "Exampleton" in " ".join(r.text for r in rows)
    assert not store.get(CHUNKS, {"content_hash": before.content_hash})
    assert not store.get(SENTENCES, {"content_hash": before.content_hash})


def test_chunk_metadata_points_at_source_text(app, seeds_index, seeds_dir):
    store = ChromaStore(seeds_index, app.embedder.name, app.embedder.dimension)
    for doc_id, record in store.documents().items():
        source = (seeds_dir / f"{doc_id}.txt").read_text(encoding="utf-8")
        assert store.document_text(doc_id) == source
        for row in store.get(CHUNKS, {"doc_id": doc_id}):
            assert source[row.metadata["start"] : row.metadata["end"]] == row.text
            assert row.metadata["title"] == record.title
        for row in store.get(SENTENCES, {"doc_id": doc_id}):
            assert source[row.metadata["start"] : row.metadata["end"]] == row.text
    dates = {d: r.date for d, r in store.documents().items()}
    assert dates["000_80c8725c0d61dc36"] == "2025-04-07"  # the misdated article says April
    assert dates["001_3acf36cfc1cf10ec"] == "2025-07-04"


def test_same_id_from_two_files_is_an_error_naming_both(app, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha text about the river.")
    (folder / "a.md").write_text("Alpha markdown about the hills.")
    with pytest.raises(UserError) as err:
        run(app, tmp_path / "idx", folder)
    assert "a.md" in str(err.value) and "a.txt" in str(err.value)


def test_identical_content_is_stored_once(app, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text("The ferry to Lindholm was cancelled because of storms on Monday.")
    (folder / "two.txt").write_text("The ferry to Lindholm was cancelled because of storms on Monday.")
    report, store = run(app, tmp_path / "idx", folder)
    assert report.count("indexed") == 1 and report.count("duplicate") == 1
    assert len(store.documents()) == 1


def test_document_ids_are_relative_paths(app, tmp_path):
    folder = tmp_path / "docs"
    (folder / "world").mkdir(parents=True)
    (folder / "world" / "story one.md").write_text("# Floods\nRivers rose across the valley on Sunday.")
    report, store = run(app, tmp_path / "idx", folder)
    assert list(store.documents()) == ["world/story one"]


def test_remove_document(app, tmp_path, seeds_copy):
    _, store = run(app, tmp_path / "idx", seeds_copy)
    victim = sorted(store.documents())[0]
    store.remove_document(victim)
    assert victim not in store.documents()
    assert not store.get(CHUNKS, {"doc_id": victim}) and not store.get(SENTENCES, {"doc_id": victim})
    with pytest.raises(UserError):
        store.remove_document(victim)


def test_index_built_with_another_embedder_is_refused(app, tmp_path, seeds_copy):
    run(app, tmp_path / "idx", seeds_copy)
    other = ChromaStore(tmp_path / "idx", "some-other-embedder", 384)
    with pytest.raises(IndexMismatchError):
        other.check_model()


def test_lexical_index_follows_chroma(app, tmp_path, seeds_copy):
    _, store = run(app, tmp_path / "idx", seeds_copy)
    chroma_ids = {i for i, _ in store.all_metadata(SENTENCES)}
    assert set(store.lexical.ids()) == chroma_ids
    hits = store.lexical_search("Javelin", 3)
    assert hits and "Javelin" in store.get(SENTENCES, ids=[hits[0][0]])[0].text
    victim = hits[0][0].split("#")[0]
    store.remove_document(victim)
    store.rebuild_lexical()
    assert set(store.lexical.ids()) == {i for i, _ in store.all_metadata(SENTENCES)}
    assert all(not sid.startswith(victim + "#") for sid, _ in store.lexical_search("Javelin", 3))


class CountingEmbedder:
    """The hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        from index.embedder import HashingEmbedder

        self.inner = HashingEmbedder()
        self.name, self.window_tokens, self.dimension = self.inner.name, self.inner.window_tokens, 64
        self.seen: list[str] = []

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return self.inner.embed(texts)


def test_repeated_texts_are_embedded_once_and_get_the_same_vector():
    from index.embedder import ReusingEmbedder

    counting = CountingEmbedder()
    reusing = ReusingEmbedder(counting, max_texts=3)
    first = reusing.embed(["wire copy", "local angle", "wire copy"])
    assert counting.seen == ["wire copy", "local angle"]
    assert first[0] == pytest.approx(first[2]) and first[0] != pytest.approx(first[1])
    second = reusing.embed(["other outlet", "wire copy"])
    assert counting.seen[-1] == "other outlet" and second[1] == pytest.approx(first[0], abs=1e-6)
    assert (reusing.embedded, reusing.reused) == (3, 2)
    reusing.embed(["a", "b", "c"])  # pushes every earlier text out of the bounded memory
    reusing.embed(["wire copy"])
    assert counting.seen[-1] == "wire copy", "a forgotten text is embedded again"


def test_large_ingest_batches_rows_and_a_failed_send_commits_nothing(tmp_path, monkeypatch):
    """Past PER_FILE_COMMIT_BELOW rows go to Chroma in batches; if one send fails, no document of
    that batch becomes visible (some of its rows may be in Chroma), and the next ingest recovers."""
    import index.ingest as ingest_module

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(12):
        (folder / f"n{i:02d}.txt").write_text(
            f"Town {i} opened bridge number {i}. The council of town {i} paid {i} million for it. "
            "Wire copy: the regional agency confirmed the figures."
        )
    monkeypatch.setattr(ingest_module, "PER_FILE_COMMIT_BELOW", 0)
    monkeypatch.setattr(ingest_module, "COMMIT_EVERY_S", 3600.0)
    counting = CountingEmbedder()
    store = ChromaStore(tmp_path / "idx", counting.name, counting.dimension, create=True)
    sends: list[int] = []
    real_add = ChromaStore._add

    def failing_add(self, collection, records, batch):  # type: ignore[no-untyped-def]
        sends.append(len(records))
        if collection == SENTENCES:
            raise OSError(28, "No space left on device")
        return real_add(self, collection, records, batch)

    monkeypatch.setattr(ChromaStore, "_add", failing_add)
    with pytest.raises(UserError):
        ingest([folder], store, counting, chunk_tokens=200, chunk_overlap=32, max_file_mb=5, lock_timeout_s=5)
    assert sends[0] == 12, "the twelve documents' chunks went to Chroma in one write"
    assert store.documents() == {}, "a batch with a failed write is not committed"
    assert store.count(CHUNKS) == 12, "(the chunks did land: the journal names their documents)"
    assert counting.seen.count("Wire copy: the regional agency confirmed the figures.") == 1

    monkeypatch.setattr(ChromaStore, "_add", real_add)
    store = ChromaStore(tmp_path / "idx", counting.name, counting.dimension)
    report = ingest(
        [folder], store, counting, chunk_tokens=200, chunk_overlap=32, max_file_mb=5, lock_timeout_s=5
    )
    assert len(report.recovered) == 12 and report.count("indexed") == 12
    assert len(store.documents()) == 12 and store.check_consistency()["consistent"]
    assert store.count(CHUNKS) == 12 and store.count(SENTENCES) == 36


def test_whole_collection_reads_are_paged(tmp_path, monkeypatch):
    """One unpaged read of a big collection fails inside Chroma; the store walks it in pages."""
    import index.store as store_module

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.txt").write_text(f"Pier {i} reopened. Boats {i} returned. Fish {i} sold well.")
    counting = CountingEmbedder()
    store = ChromaStore(tmp_path / "idx", counting.name, counting.dimension, create=True)
    ingest([folder], store, counting, chunk_tokens=200, chunk_overlap=32, max_file_mb=5, lock_timeout_s=5)
    monkeypatch.setattr(store_module, "GET_PAGE", 5)
    assert len(store.all_metadata(SENTENCES)) == 12 and len(store.all_metadata(CHUNKS)) == 4
    assert store.rebuild_lexical() == 12 and store.check_consistency()["consistent"]


def test_chunk_sentences_are_read_by_id_and_new_chunks_by_filter(tmp_path, monkeypatch):
    """Retrieval reads the sentences of its top chunks by id (from the ids BM25 was built over),
    the same rows a ``chunk_id`` filter returns; chunks BM25 has not seen yet fall back to it."""
    folder = tmp_path / "docs"
    (folder / "news").mkdir(parents=True)
    for i, name in enumerate(["f0.txt", "news/s1.txt", "news/s2.txt"]):  # "/s" inside a document id
        (folder / name).write_text(
            " ".join(f"Ferry {i} sailed on trip {n} from the quay." for n in range(40))
        )
    counting = CountingEmbedder()
    store = ChromaStore(tmp_path / "idx", counting.name, counting.dimension, create=True)
    ingest([folder], store, counting, chunk_tokens=64, chunk_overlap=16, max_file_mb=5, lock_timeout_s=5)
    chunk_ids = [i for i, _ in store.all_metadata(CHUNKS)]
    assert len(chunk_ids) > 6

    def by_filter(ids: list[str]) -> set[str]:
        return {h.id for h in store.get(SENTENCES, {"chunk_id": {"$in": ids}})}

    filtered_reads: list[object] = []
    real_get = ChromaStore.get

    def counting_get(self, collection, where=None, include_vectors=False, ids=None):  # type: ignore[no-untyped-def]
        if where is not None:
            filtered_reads.append(where)
        return real_get(self, collection, where, include_vectors, ids)

    expected = {c: by_filter([c]) for c in chunk_ids}
    monkeypatch.setattr(ChromaStore, "get", counting_get)
    picked = chunk_ids[1:4]
    extra = sorted(expected[chunk_ids[-1]])[:1]
    rows = store.sentence_rows(extra + sorted(expected[picked[0]])[:1], picked, include_vectors=True)
    assert sorted(h.id for h in rows) == sorted(set().union(*(expected[c] for c in picked), extra))
    assert all(h.vector is not None for h in rows) and not filtered_reads
    shutil.rmtree(store.lexical.path)  # as if these chunks were written after BM25's last rebuild
    rows = store.sentence_rows([], picked)
    assert {h.id for h in rows} == set().union(*(expected[c] for c in picked)) and filtered_reads


def test_lexical_search_ranks_as_bm25s_does(app, seeds_index):
    """Our top-n over the matching sentences only must give bm25s's own ranking, scores and all."""
    from index.lexical import _tokens

    store = ChromaStore(seeds_index, app.embedder.name, app.embedder.dimension)
    lexical = store.lexical
    for query in ["Patriot missiles", "How long did the call last?", "energy infrastructure ceasefire"]:
        for n in (1, 5, 24):
            ours = lexical.search(query, n)
            docs, scores = lexical._model.retrieve(_tokens([query], return_ids=False), k=n, n_threads=0)
            theirs = [(lexical._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True)]
            assert [round(s, 5) for _, s in ours] == [round(s, 5) for _, s in theirs if s > 0]
            assert ours == sorted(ours, key=lambda hit: -hit[1]) and len(ours) <= n
            if ours and theirs[0][1] > (theirs[1][1] if len(theirs) > 1 else 0):
                assert ours[0][0] == theirs[0][0]
    assert lexical.search("Patriot", 0) == [] and lexical.search("zzqx unknownword", 5) == []


def test_twins_and_updates_are_seen_within_an_uncommitted_batch(tmp_path, monkeypatch):
    """In batch mode a document is pending, not in the manifest, until the next flip: a twin of it
    in the same batch is still a duplicate, and an updated document no longer twins its old text."""
    import index.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "PER_FILE_COMMIT_BELOW", 0)
    monkeypatch.setattr(ingest_module, "COMMIT_EVERY_S", 3600.0)
    folder = tmp_path / "docs"
    folder.mkdir()
    old_text = "The ferry to Lindholm was cancelled because of storms on Monday."
    (folder / "a.txt").write_text(old_text)
    (folder / "b.txt").write_text(old_text)
    counting = CountingEmbedder()
    store = ChromaStore(tmp_path / "idx", counting.name, counting.dimension, create=True)

    def again():  # type: ignore[no-untyped-def]
        return ingest(
            [folder], store, counting, chunk_tokens=200, chunk_overlap=32, max_file_mb=5, lock_timeout_s=5
        )

    report = again()
    assert [o.status for o in report.outcomes] == ["indexed", "duplicate"]
    assert "'a'" in report.outcomes[1].detail
    (folder / "a.txt").write_text("The ferry to Lindholm sailed again on Tuesday after the storms.")
    (folder / "c.txt").write_text(old_text)  # a's old text: a no longer holds it once updated
    (folder / "b.txt").unlink()
    report = again()
    assert [o.status for o in report.outcomes] == ["updated", "indexed"]
    assert [o.status for o in again().outcomes] == ["unchanged", "unchanged"]
    assert store.find("c") is not None and store.find_content(store.find("c").content_hash, "x") is not None
