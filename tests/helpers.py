"""Helpers shared by the test modules: the CLI runner, one-line error checks, ingest, fixtures' data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.ingest import ingest
from index.store import ChromaStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "corpus" / "seeds"
REFERENCE_VECTORS = SHARED / "reference" / "all-MiniLM-L6-v2.vectors.json"
SAMPLE_CORPUS = ROOT / "eval" / "corpus"


def require_shared(path: Path) -> Path:
    """Tests that need ../shared fail loudly when it is missing; they never skip."""
    if not path.exists():
        pytest.fail(f"{path} is missing: clone the project with ../shared beside it", pytrace=False)
    return path


RAG = [sys.executable, "-m", "ui.cli"]
# The `rag ask --json` contract, written out here on purpose (not imported from the code it checks).
ANSWER_KEYS = {
    "question", "answer", "mode", "abstained", "confidence", "citations", "closest", "conflicts",
    "time_window", "timings",
}  # fmt: skip
TIMING_KEYS = {"load_s", "retrieve_s", "generate_s", "total_s", "prompt_tokens", "completion_tokens"}
CITATION_KEYS = {"n", "doc_id", "chunk_id", "title", "date", "page", "text", "start", "end"}


def rag(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    full_env.pop("RAG_DEBUG", None)
    return subprocess.run(
        [*RAG, *args], capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=timeout
    )


def sample_index_without(tmp_path: Path, left_out: str) -> tuple[Path, Path]:
    """The sample articles but one, copied to a folder and ingested by `rag ingest` (a new process):
    tests then add the missing article from outside and check that it is seen."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for path in SAMPLE_CORPUS.glob("*.txt"):
        if path.name != left_out:
            shutil.copy(path, articles / path.name)
    index = tmp_path / "index"
    assert rag("ingest", str(articles), "--index", str(index), "--quiet").returncode == 0
    return articles, index


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def run(app, index_dir: Path, *paths: Path):
    store = ChromaStore(index_dir, app.embedder.name, app.embedder.dimension, create=True)
    s = app.settings
    report = ingest(
        list(paths),
        store,
        app.embedder,
        chunk_tokens=s.chunk_tokens,
        chunk_overlap=s.chunk_overlap,
        max_file_mb=s.max_file_mb,
        lock_timeout_s=5,
    )
    return report, store


GOOD = "The ferry to Lindholm was cancelled on Monday because of storms. Passengers were offered refunds."


def make_pdf(path: Path, text: str | None, password: str | None = None) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if text:
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    else:
        pdf.rect(10, 10, 100, 100, style="F")  # an "image" with no text layer
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    pdf.output(str(path))


# An invented news page with menus, a footer and publisher metadata, and an RSS file whose items
# carry neither guid nor link.
PAGE = """<!doctype html><html><head>
<title>Quay closes | The Fenwick Courier</title>
<meta property="og:title" content="Fenwick quay closes for repairs after winter storms">
<meta property="article:published_time" content="2026-03-04T08:15:00+00:00">
<meta name="author" content="Ilse Marten">
</head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a> Subscribe now</nav>
<header><p>Menu: Local | Business | Opinion</p></header>
<article>
<h1>Fenwick quay closes for repairs after winter storms</h1>
<p>The old quay in Fenwick will close for eleven weeks from Monday while engineers replace the stone
steps that the February storms tore loose, the harbour board said on Tuesday.</p>
<p>Ferries to the islands will leave from the north pier instead, and the board expects the work to cost
about 2.4 million crowns, paid from its own reserves rather than from the town budget.</p>
<p>Fishermen who land their catch at the quay said the closure came at a bad time, because the spring
season starts in April and the north pier has only four berths for boats of their size.</p>
</article>
<footer><p>Copyright The Fenwick Courier. All rights reserved. Cookie settings. Contact us.</p></footer>
</body></html>"""

RSS_NO_IDS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Fenwick briefs</title><link>https://courier.invalid/</link>
<description>Short news</description>
<item><title>Bakery wins regional prize</title><description>A bakery on Mill Lane won the regional bread
prize for its rye loaf.</description><pubDate>Mon, 03 Mar 2031 09:00:00 GMT</pubDate></item>
<item><title>Library extends opening hours</title><description>The town library will open until nine on
Thursdays from next month.</description></item>
<item><title>Cycle path repainted</title><description><![CDATA[<p>The cycle path along the canal was
<b>repainted</b> over the weekend.</p>]]></description></item>
</channel></rss>"""
