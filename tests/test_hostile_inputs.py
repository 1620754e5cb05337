"""A generated corpus of broken and hostile files: ingest indexes what is usable and explains the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import GOOD, assert_one_line_error, make_pdf, rag


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    d = root / "corpus"
    d.mkdir()
    (d / "good.txt").write_text(GOOD)
    (d / "empty.txt").write_text("")
    (d / "blank.md").write_text("  \n\t\n  ")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (d / "latin1.txt").write_bytes(
        "Caf\xe9 owners in Lindholm said the storm closed the harbour.".encode("latin-1")
    )
    (d / "utf16.txt").write_bytes("The harbour in Lindholm reopened on Tuesday.".encode("utf-16"))
    (d / "one-long-line.txt").write_text(
        ("The storm flooded the harbour road near Lindholm " * 4500)[:100_000]
    )
    (d / "too-big.txt").write_bytes(b"a" * (3 * 1024 * 1024))
    (d / "page.html").write_text(
        "<html><head><title>Storm</title><style>body{color:red}</style><script>alert('x')</script></head>"
        "<body><h1>Storm hits Lindholm</h1><p>Winds reached 120 km/h &amp; trees fell.</p></body></html>"
    )
    (d / "nested.html").write_text("<div>" * 5000 + "Deep text about the harbour survives." + "</div>" * 5000)
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(2000))
    make_pdf(d / "text.pdf", "Lindholm council met on Friday to discuss storm damage to the pier.")
    make_pdf(d / "scanned.pdf", None)
    make_pdf(d / "locked.pdf", "Secret storm report.", password="hunter2")
    (d / "ünïcödé name with spaces.md").write_text(
        "# Gale\nA gale warning was issued for the Lindholm coast."
    )
    (d / "copy of good.txt").write_text(GOOD)
    (d / "loop.txt").symlink_to(d / "loop.txt")
    outside = root / "outside.txt"
    outside.write_text("Outside text that must not be indexed.")
    (d / "escape.txt").symlink_to(outside)
    (d / "secret.txt").write_text("Unreadable text about the storm in Lindholm.")
    (d / "secret.txt").chmod(0)
    return d


def test_hostile_corpus_indexes_what_is_usable(hostile, tmp_path):
    result = rag("ingest", str(hostile), "--index", str(tmp_path / "idx"), "--json", "--max-file-mb", "2.5")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    status = {Path(o["path"]).name: o["status"] for o in report["outcomes"]}
    for name in (
        "latin1.txt",
        "utf16.txt",
        "page.html",
        "nested.html",
        "text.pdf",
        "ünïcödé name with spaces.md",
        "one-long-line.txt",
    ):
        assert status[name] == "indexed", (name, status)
    assert sorted([status["copy of good.txt"], status["good.txt"]]) == ["duplicate", "indexed"]
    for name in (
        "empty.txt",
        "blank.md",
        "binary.txt",
        "too-big.txt",
        "corrupt.pdf",
        "scanned.pdf",
        "locked.pdf",
    ):
        assert status[name] == "skipped", (name, status)
    if os.geteuid() != 0:  # root reads anything; elsewhere the file is skipped with a reason
        assert status["secret.txt"] == "skipped"
    assert "escape.txt" not in status or status["escape.txt"] == "skipped"
    assert "symlink points outside the folder" in result.stderr
    assert "broken or looping symlink" in result.stderr
    for line in result.stderr.splitlines():
        if "skipped" in line:
            assert len(line) < 300
    docs = json.loads(rag("docs", "list", "--index", str(tmp_path / "idx"), "--json").stdout)
    texts = {d["doc_id"]: d for d in docs}
    assert "page" in texts and texts["page"]["title"] == "Storm hits Lindholm"
    assert texts["text"]["page_starts"] == [0]


def test_html_extraction_drops_scripts_and_decodes_entities(hostile, tmp_path):
    index = tmp_path / "idx"
    assert rag("ingest", str(hostile / "page.html"), "--index", str(index)).returncode == 0
    text = next((index / "texts").iterdir()).read_text()
    assert "alert" not in text and "color:red" not in text and "120 km/h & trees fell." in text


def test_only_unusable_files_exit_1(hostile, tmp_path):
    result = rag(
        "ingest", str(hostile / "empty.txt"), str(hostile / "binary.txt"), "--index", str(tmp_path / "i")
    )
    assert_one_line_error(result)
