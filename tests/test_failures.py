"""More hard inputs and failures: a full disk, huge files, a question in another language, exposure."""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

import pytest

from index.errors import DiskFullError
from tests.helpers import assert_one_line_error, rag


def test_full_disk_during_ingest_loses_nothing_and_resumes(app, seeds_copy, tmp_path, monkeypatch):
    """ENOSPC injected through the store's write path, on the third document's rows."""
    from index.store import ChromaStore
    from rag.factory import App

    local = App(
        app.settings.model_copy(update={"index": tmp_path / "index"}), embedder=app.embedder, chat=app.chat
    )
    real_add = ChromaStore._add
    calls = {"n": 0}

    def add_until_full(self, collection, records, batch):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 6:  # two documents went in; the third one's chunks too, its sentences fail
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_add(self, collection, records, batch)

    monkeypatch.setattr(ChromaStore, "_add", add_until_full)
    with pytest.raises(DiskFullError) as failure:
        local.ingest([seeds_copy])
    assert "disk" in str(failure.value) and "run the same ingest again" in str(failure.value)

    store = local.store()
    kept = store.documents()
    assert len(kept) == 2, "documents finished before the disk filled are kept"
    answer = local.answerer.ask("What did the two presidents talk about?", local.answer_options())
    assert answer.citations or answer.abstained
    assert {c.doc_id for c in answer.citations} <= set(kept), "the cut-short document stays invisible"
    assert not list((tmp_path / "index").glob(".*.tmp*")), "no half-written files left behind"

    monkeypatch.setattr(ChromaStore, "_add", real_add)
    report = local.ingest([seeds_copy])
    assert report.count("unchanged") == 2 and report.count("indexed") == 3
    assert local.store().check_consistency()["consistent"], "resume leaves no orphan rows or duplicates"


def test_full_disk_message_from_the_cli(tmp_path, seeds_copy):
    """The same failure through `rag ingest`: a one-line error, exit 1, no traceback."""
    plugin = tmp_path / "fill_disk.py"
    plugin.write_text(
        "import errno\n"
        "from index.store import ChromaStore\n"
        "def full(self, *a, **k):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "ChromaStore._add = full\n"
    )
    (tmp_path / "sitecustomize.py").write_text("import fill_disk\n")
    import os

    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = rag("ingest", str(seeds_copy), "--index", str(tmp_path / "index"), env=env)
    assert "is full" in assert_one_line_error(result)


def test_fifty_megabyte_file_is_skipped_with_a_reason(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "small.txt").write_text("The ferry to Lindholm was cancelled on Monday because of storms.")
    with (folder / "huge.txt").open("w") as handle:
        line = "The storm flooded the harbour road near Lindholm again today.\n"
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            handle.write(line)
    assert (folder / "huge.txt").stat().st_size >= 50 * 1024 * 1024
    result = rag("ingest", str(folder), "--index", str(tmp_path / "index"), "--json")
    assert result.returncode == 0, result.stderr
    outcomes = {Path(o["path"]).name: o for o in json.loads(result.stdout)["outcomes"]}
    assert outcomes["small.txt"]["status"] == "indexed"
    assert outcomes["huge.txt"]["status"] == "skipped" and "MB" in outcomes["huge.txt"]["detail"]
    assert "Traceback" not in result.stderr


def test_two_megabyte_single_line_splits_into_bounded_chunks(tmp_path, app):
    """Ingest of a one-line file runs end to end at 100 KB (test_hostile_inputs); at 2 MB the
    loader and splitter must stay bounded (pysbd alone is quadratic and would never finish)."""
    from index.chunking import chunk_document
    from index.loaders import Candidate, load_document

    path = tmp_path / "line.txt"
    # Distinct words, so that every chunk's position in the line is unambiguous.
    path.write_text(" ".join(f"storm{i} harbour{i}" for i in range(110_000))[:2_000_000])
    t0 = time.perf_counter()
    doc = load_document(Candidate(path, "line"), max_file_mb=20)
    chunks, sentences = chunk_document(doc, app.embedder.count_tokens, 200, 32)
    elapsed = time.perf_counter() - t0
    assert chunks and sentences
    assert max(app.embedder.count_tokens(c.text) for c in chunks[:200]) <= 256
    assert chunks[-1].end >= len(doc.text) - 100, "the whole line is covered"
    print(f"2 MB line: {len(chunks)} chunks, {len(sentences)} sentences in {elapsed:.1f}s")


@pytest.mark.slow
def test_question_in_another_language_gets_a_grounded_reply(seeds_index):
    result = rag("ask", "Wie lange dauerte das Telefonat im Juli?", "--index", str(seeds_index), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    answer = json.loads(result.stdout)
    assert answer["mode"] in ("span", "generated", "extractive", "abstained")
    texts = {
        d["doc_id"]: (seeds_index / "texts" / f"{d['content_hash']}.txt").read_text()
        for d in json.loads(rag("docs", "list", "--index", str(seeds_index), "--json").stdout)
    }
    for citation in answer["citations"]:
        assert texts[citation["doc_id"]][citation["start"] : citation["end"]] == citation["text"]
    print(answer["mode"], answer["answer"][:200])


def test_serving_beyond_loopback_without_auth_warns(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import ui.web
    from ui.cli import cli

    launched: dict[str, object] = {}
    monkeypatch.setattr(ui.web, "launch", lambda app, **kw: launched.update(kw))
    runner = CliRunner()
    exposed = runner.invoke(cli, ["ui", "--host", "0.0.0.0", "--index", str(tmp_path / "i")])
    assert exposed.exit_code == 0, exposed.output
    assert "without --auth" in exposed.stderr and launched["host"] == "0.0.0.0"
    guarded = runner.invoke(
        cli, ["ui", "--host", "0.0.0.0", "--auth", "me:pw", "--index", str(tmp_path / "i")]
    )
    assert guarded.exit_code == 0 and "without --auth" not in guarded.stderr
    local = runner.invoke(cli, ["ui", "--index", str(tmp_path / "i")])
    assert local.exit_code == 0 and "warning" not in local.stderr and launched["host"] == "127.0.0.1"
