"""News as it comes, end to end: pages, feeds, front matter, hostile files, fetching and damaged indexes."""

from __future__ import annotations

import codecs
import http.server
import json
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import GOOD, PAGE, RSS_NO_IDS, assert_one_line_error, rag

FRONT_MATTER = (
    "---\ntitle: Night buses return to the Fenwick ring road\ndate: 2026-02-20\n---\n\n"
    "Night buses will run on the Fenwick ring road again from Friday, the transport office said.\n"
)


@pytest.fixture(scope="module")
def news_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("news") / "inbox"
    folder.mkdir()
    (folder / "quay.html").write_text(PAGE)
    (folder / "briefs.rss").write_text(RSS_NO_IDS)
    (folder / "buses.md").write_text(FRONT_MATTER)
    (folder / "ferry.txt").write_text(GOOD)
    (folder / "broken16.txt").write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8" * 50 + b"\x41")
    (folder / "noise.html").write_bytes(random.Random(3).randbytes(5000))
    return folder


@pytest.fixture(scope="module")
def news_index(tmp_path_factory, news_folder) -> tuple[Path, dict]:
    index = tmp_path_factory.mktemp("news-index") / "index"
    result = rag("ingest", str(news_folder), "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return index, json.loads(result.stdout)


def listing(index: Path) -> dict[str, dict]:
    result = rag("docs", "list", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    return {d["doc_id"]: d for d in json.loads(result.stdout)}


def test_a_folder_of_news_formats_is_indexed_and_the_bad_files_skipped(news_index):
    index, report = news_index
    status = {Path(o["path"]).name: o["status"] for o in report["outcomes"]}
    assert status["broken16.txt"] == status["noise.html"] == "skipped"
    docs = listing(index)
    assert set(docs) == {"quay", "briefs/1", "briefs/2", "briefs/3", "buses", "ferry"}
    assert docs["quay"]["title"] == "Fenwick quay closes for repairs after winter storms"
    assert (docs["quay"]["date"], docs["quay"]["date_source"]) == ("2026-03-04", "metadata")
    assert [docs[f"briefs/{n}"]["title"] for n in (1, 2, 3)] == [
        "Bakery wins regional prize",
        "Library extends opening hours",
        "Cycle path repainted",
    ]
    assert (docs["buses"]["title"], docs["buses"]["title_source"]) == (
        "Night buses return to the Fenwick ring road",
        "front_matter",
    )
    assert docs["ferry"]["date"] is None and docs["ferry"]["date_source"] is None
    for doc in docs.values():
        assert {"doc_id", "title", "title_source", "date", "date_source", "chunks", "source"} <= set(doc)
        assert doc["chunks"] >= 1 and doc["source"]


def test_the_plain_listing_shows_date_and_title(news_index):
    index, _ = news_index
    result = rag("docs", "list", "--index", str(index))
    line = next(row for row in result.stdout.splitlines() if row.startswith("quay\t"))
    assert "2026-03-04" in line and "Fenwick quay closes" in line
    assert "undated" in next(row for row in result.stdout.splitlines() if row.startswith("ferry\t"))


def test_a_page_article_is_answerable_without_its_menus(news_index):
    index, _ = news_index
    result = rag("ask", "How long will the Fenwick quay close for repairs?", "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["abstained"], data["answer"]
    assert "eleven" in data["answer"]
    assert all(c["doc_id"] == "quay" for c in data["citations"])


def damaged_copy(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(index, copy)
    return copy


def test_a_deleted_chroma_folder_is_named_and_doctor_repairs_it(news_index, news_folder, tmp_path):
    index = damaged_copy(news_index[0], tmp_path)
    shutil.rmtree(index / "chroma")
    line = assert_one_line_error(rag("ask", "When do night buses run again?", "--index", str(index)))
    assert "damaged" in line and "rag doctor --check" in line
    repaired = rag("doctor", "--check", "--index", str(index), "--json")
    assert repaired.returncode == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert report["repaired"] and len(report["incomplete documents"]) == 6
    assert any(s.endswith("buses.md") for s in report["ingest again"])
    assert rag("ingest", str(news_folder), "--index", str(index)).returncode == 0
    again = rag("ask", "When do night buses run again on the ring road?", "--index", str(index), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["citations"]


def test_a_malformed_chroma_database_is_named_and_set_aside(news_index, news_folder, tmp_path):
    index = damaged_copy(news_index[0], tmp_path)
    (index / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 200)
    line = assert_one_line_error(rag("ask", "When do night buses run again?", "--index", str(index)))
    assert "damaged" in line and "rag doctor --check" in line
    repaired = rag("doctor", "--check", "--index", str(index), "--json")
    assert repaired.returncode == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert "unreadable Chroma moved to" in report and Path(report["unreadable Chroma moved to"]).is_dir()
    assert rag("ingest", str(news_folder), "--index", str(index)).returncode == 0
    assert rag("ask", "When do night buses run again?", "--index", str(index)).returncode == 0


# -- fetching from a local server ---------------------------------------------------------------------
class NewsServer(http.server.BaseHTTPRequestHandler):
    feed_items = 2

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path == "/quay.html":
            self._send(PAGE.encode(), "text/html; charset=utf-8")
        elif self.path == "/feed":
            items = "".join(
                f"<item><title>Harbour note {n}</title><guid>note-{n}</guid>"
                f"<description>Harbour note number {n}: the tide gauge at pier {n} was recalibrated."
                "</description></item>"
                for n in range(1, NewsServer.feed_items + 1)
            )
            channel = f"<channel><title>Notes</title>{items}</channel>"
            body = f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>"
            self._send(body.encode(), "application/rss+xml")
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def news_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NewsServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_pages_and_feeds_are_fetched_only_when_named_and_allowed(news_server, tmp_path):
    index = str(tmp_path / "idx")
    refused = rag("ingest", "--url", f"{news_server}/quay.html", "--index", index)
    line = assert_one_line_error(refused)
    assert "nothing was indexed" in line and "--allow-private" in refused.stderr
    NewsServer.feed_items = 2
    first = rag(
        "ingest", "--allow-private", "--url", f"{news_server}/quay.html", "--feed", f"{news_server}/feed",
        "--url", f"{news_server}/missing", "--index", index, "--json",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "HTTP 404" in first.stderr
    docs = listing(Path(index))
    assert docs["127.0.0.1/quay"]["source"] == f"{news_server}/quay.html"
    assert docs["127.0.0.1/quay"]["date"] == "2026-03-04"
    assert {"127.0.0.1/feed/note-1", "127.0.0.1/feed/note-2"} <= set(docs)
    NewsServer.feed_items = 3
    again = rag("ingest", "--allow-private", "--feed", f"{news_server}/feed", "--index", index, "--json")
    assert "ResourceWarning" not in first.stderr + again.stderr, first.stderr + again.stderr
    statuses = {o["doc_id"]: o["status"] for o in json.loads(again.stdout)["outcomes"]}
    assert statuses == {
        "127.0.0.1/feed/note-1": "unchanged",
        "127.0.0.1/feed/note-2": "unchanged",
        "127.0.0.1/feed/note-3": "indexed",
    }
