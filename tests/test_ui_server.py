"""The web page's guarantees without a browser: rendering, uploads, auth, loopback, concurrency."""

from __future__ import annotations

import html
import json
import re
import shutil
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.uiserver import http_status, running_ui
from ui import render

CITATION = {
    "n": 2,
    "doc_id": "harbour",
    "chunk_id": "harbour#c0",
    "title": "Storm <b>hits</b> Lindholm",
    "date": "2025-03-02",
    "page": None,
    "text": "Winds reached 120 km/h.",
    "start": 24,
    "end": 47,
}
ARTICLE = "Storm hits the harbour. Winds reached 120 km/h. Trees fell on the pier road."


def test_a_chat_answer_is_escaped_text_with_plain_markers():
    """No markup in a chat message: its screen-reader label is the raw content (the page's script
    makes the markers buttons; the browser test clicks them)."""
    html = render.answer_html(
        {"answer": "Winds hit <script>x</script> 120 km/h [2][1, 3].", "mode": "extractive"}, "t1"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "[2][1, 3]" in html and "<span" not in html and "Quoted from the articles" in html
    # Summaries are not chat messages: their markers are buttons from the server.
    summary = render.with_markers("Winds hit 120 km/h [2][1, 3].", "t1")
    assert re.findall(r'data-n="(\d+)"', summary) == ["2", "1", "3"]
    assert summary.count('data-turn="t1"') == 3


def test_source_shows_title_date_and_marks_the_supporting_sentence():
    html = render.source_html("t1", CITATION, lambda _doc: ARTICLE)
    assert 'id="src-t1-2"' in html
    assert "Storm &lt;b&gt;hits&lt;/b&gt; Lindholm" in html  # titles are escaped too
    assert "2025-03-02" in html
    assert '<mark class="support">Winds reached 120 km/h.</mark>' in html
    assert "Open the article" in html and '<mark class="passage">Winds reached 120 km/h.</mark>' in html


def test_source_of_a_removed_or_changed_article_still_shows_what_was_cited():
    for text in (None, "A different article now."):
        html = render.source_html("t1", CITATION, lambda _doc, text=text: text)
        assert '<mark class="support">Winds reached 120 km/h.</mark>' in html
        assert "no longer in the library" in html


def test_panel_shows_only_the_latest_turn_and_carries_its_json():
    first = render.turn_sources_html("a", {"citations": [CITATION], "closest": []}, lambda _d: ARTICLE)
    second = render.turn_sources_html(
        "b", {"citations": [], "closest": [CITATION], "answer": "x </script>"}, lambda _d: ARTICLE
    )
    panel = render.sources_panel([first, second])
    assert '<div class="turn-sources" hidden data-turn="a">' in panel
    assert '<div class="turn-sources" data-turn="b">' in panel
    assert "Closest passages" in second and "source closest" in second
    payload = re.search(r'<pre class="answer-json" hidden>(.*?)</pre>', second, re.S)
    assert payload and json.loads(html.unescape(payload.group(1)))["answer"] == "x </script>"
    assert "<script" not in second  # a script in a gr.HTML value makes Gradio warn on every update


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/cron.d/evil.md", "evil.md"),
        ("..\\..\\windows\\evil.html", "evil.html"),
        ("...hidden.pdf", "hidden.pdf"),
        ("Straße und Ümlaut.txt", "Straße und Ümlaut.txt"),
    ],
)
def test_upload_names_cannot_leave_the_uploads_folder(raw, expected):
    from ui.web import safe_upload_name

    assert safe_upload_name(raw) == expected


@pytest.mark.parametrize("raw", ["evil.exe", "../", "", "archive.tar.gz", "x.txt\x00.exe"])
def test_unsupported_upload_names_are_refused(raw):
    from index.errors import UserError
    from ui.web import safe_upload_name

    with pytest.raises(UserError):
        safe_upload_name(raw)


def test_upload_gives_the_same_outcomes_as_rag_ingest(app, tmp_path):
    """The hostile corpus (plain files, as a browser would send them) through the upload handler."""
    from rag.factory import App
    from tests.helpers import GOOD, make_pdf
    from ui.web import WebApp

    files = tmp_path / "files"
    files.mkdir()
    (files / "good.txt").write_text(GOOD)
    (files / "copy of good.txt").write_text(GOOD)
    (files / "empty.txt").write_text("")
    (files / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (files / "utf16.txt").write_bytes("The harbour in Lindholm reopened on Tuesday.".encode("utf-16"))
    (files / "too-big.txt").write_bytes(b"a" * (3 * 1024 * 1024))
    (files / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + bytes(2000))
    make_pdf(files / "locked.pdf", "Secret storm report.", password="hunter2")
    (files / "page.html").write_text(
        "<html><body><h1>Storm</h1><p>Winds &amp; rain hit Lindholm.</p></body></html>"
    )
    (files / "tool.exe").write_bytes(b"MZ")
    settings = app.settings.model_copy(update={"index": tmp_path / "index", "max_file_mb": 2.5})
    web = WebApp(App(settings, embedder=app.embedder, chat=app.chat))
    web.app.store(create=True).ensure_manifest()
    status, table, *_ = web.upload(sorted(str(p) for p in files.iterdir()), progress=lambda *a, **k: None)
    lines = {re.sub(r"^- [✓•✗] ", "", line).split(":")[0]: line for line in status.splitlines()}
    for name in ("utf16.txt", "page.html"):
        assert "indexed as" in lines[name], status
    twins = sorted("already indexed" in lines[n] for n in ("good.txt", "copy of good.txt"))
    assert twins == [False, True], status  # one copy indexed, the other recognised as the same text
    for name in ("empty.txt", "binary.txt", "corrupt.pdf", "locked.pdf"):
        assert "skipped" in lines[name], status
    assert "larger than 2.5 MB" in lines["too-big.txt"]
    assert "not a supported file" in lines["tool.exe"], status
    assert {row[-1] for row in table} == {"copy of good", "utf16", "page"}
    uploads = settings.index_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == sorted(
        [
            "good.txt",
            "copy of good.txt",
            "empty.txt",
            "binary.txt",
            "utf16.txt",
            "corrupt.pdf",
            "locked.pdf",
            "page.html",
        ]
    )
    again, *_ = web.upload([str(files / "copy of good.txt")], progress=lambda *a, **k: None)
    assert "already indexed as `copy of good`" in again


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    from tests.helpers import SAMPLE_CORPUS, rag

    index = tmp_path_factory.mktemp("ui-server") / "index"
    result = rag("ingest", str(SAMPLE_CORPUS), "--index", str(index))
    assert result.returncode == 0, result.stderr
    return index


def listening_addresses(port: int) -> set[str]:
    """Local addresses bound to `port`, read from the kernel's socket tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if int(port_hex, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_binds_loopback_and_auth_guards_every_route(small_index):
    with running_ui(small_index, "--auth", "alice:s3cret") as (url, _proc):
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        for path in ("/config", "/gradio_api/info", f"/gradio_api/file={small_index}/manifest.json"):
            assert http_status(url + path) == 401, path
        import urllib.error
        import urllib.request

        join = urllib.request.Request(
            url + "/gradio_api/queue/join",
            data=json.dumps({"data": ["hi"], "fn_index": 0, "session_hash": "x"}).encode(),
            headers={"content-type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(join, timeout=10)
        assert refused.value.code == 401
        from gradio_client import Client

        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        sources = client.predict(
            "How low did the Harlow Reservoir fall?",
            [],
            6,
            160,
            0.0,
            date.today().isoformat(),
            api_name="/ask",
        )[1]
        assert "answer-json" in sources
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
            Client(url, auth=("alice", "wrong"), verbose=False)


def test_bad_auth_flag_is_a_usage_error():
    from tests.helpers import rag

    result = rag("ui", "--auth", "no-colon-here")
    assert result.returncode == 2
    assert "USER:PASS" in result.stderr and "Traceback" not in result.stderr


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_twenty_concurrent_sessions_are_queued_and_all_answered(small_index):
    from gradio_client import Client

    questions = [
        "How low did the Harlow Reservoir fall?",
        "What did the council ban?",
        "Who runs the Marrowby library?",
        "What is the capital of Peru?",
    ]
    with running_ui(small_index) as (url, proc):
        clients = [Client(url, verbose=False) for _ in range(20)]
        warm = clients[0].predict(questions[0], [], 6, 160, 0.0, date.today().isoformat(), api_name="/ask")
        before = rss_mb(proc.pid)
        results: dict[int, Any] = {}
        finished: dict[int, float] = {}
        errors: list[str] = []

        def session(i: int) -> None:
            try:
                job = clients[i].submit(
                    questions[i % len(questions)], [], 6, 160, 0.0, date.today().isoformat(), api_name="/ask"
                )
                results[i] = job.result(timeout=600)
                finished[i] = time.monotonic()
            except Exception as exc:  # collected and asserted below
                errors.append(f"{i}: {type(exc).__name__}: {exc}")

        threads = []
        for i in range(20):
            thread = threading.Thread(target=session, args=(i,))
            thread.start()
            threads.append(thread)
            time.sleep(0.15)  # a definite arrival order
        for thread in threads:
            thread.join(timeout=660)
        after = rss_mb(proc.pid)
    assert warm and not errors, errors
    assert len(results) == 20
    for i, (display, sources, _question) in results.items():
        payload = re.search(r'class="answer-json" hidden>(.*?)</pre>', sources, re.S)
        assert payload, sources[:300]
        answer = json.loads(html.unescape(payload.group(1)))
        assert answer["question"] == questions[i % len(questions)]
        assert answer["mode"] in ("span", "generated", "extractive", "abstained")
        assert not display[-1]["content"][0]["text"].startswith("error"), display[-1]
    # Finish times are read by 20 client threads, so two answers that the one-slot queue completes
    # back to back can be seen a few milliseconds out of order; a job served out of turn would be
    # seen a whole answer early.
    jitter_s = 0.05
    late = [(i, j) for i in finished for j in finished if i < j and finished[j] < finished[i] - jitter_s]
    order = sorted(finished, key=finished.__getitem__)
    assert not late, f"answered out of arrival order: {order}"
    assert after - before < 400, f"server memory grew {after - before:.0f} MB over 20 sessions"


def test_eval_tab_runs_a_set_against_the_open_library(app, small_index):
    from rag.factory import App
    from ui.web import WebApp

    settings = app.settings.model_copy(update={"index": small_index})
    web = WebApp(App(settings, embedder=app.embedder, chat=app.chat))
    note, metrics, failing = web.run_eval("sample.jsonl", "test", 6, progress=lambda *a, **k: None)
    assert note.startswith("9 items"), note
    table = dict((name, value) for name, value in metrics)
    assert table["items"] == 9 and table["scored"] == 9
    assert 0.0 <= table["fact_recall"] <= 1.0 and table["abstention_rate"] is not None
    for row in failing:
        assert row[0] and row[1] in ("answer", "unanswerable", "summary")
    assert f"{len(failing)} failing" in note


def test_an_eval_tab_error_names_the_file_not_the_server_s_folders(app, small_index):
    from rag.factory import App
    from ui.web import EVAL_SETS_DIR, WebApp, question_sets, without_paths

    settings = app.settings.model_copy(update={"index": small_index})
    web = WebApp(App(settings, embedder=app.embedder, chat=app.chat))
    note, metrics, failing = web.run_eval("no-such-set.jsonl", "test", 6, progress=lambda *a, **k: None)
    assert note.startswith("error") and "no-such-set.jsonl" in note, note
    assert str(EVAL_SETS_DIR) not in note and not re.search(r"/\w+/", note), note
    assert metrics == [] and failing == []
    assert question_sets()[0] == "sample.jsonl" and "faithfulness.jsonl" not in question_sets()
    assert without_paths("cannot read /srv/data/sets/a.jsonl: gone") == "cannot read a.jsonl: gone"


def test_the_summaries_tab_shows_each_event_as_it_is_written(app, small_index):
    """Reading progress first, then the timeline growing one event at a time, then the finished
    summary with its sources; a bad choice is one line."""
    from rag.factory import App
    from ui.web import WebApp

    settings = app.settings.model_copy(update={"index": small_index})
    web = WebApp(App(settings, embedder=app.embedder, chat=app.chat))
    shutil.rmtree(small_index / "summaries", ignore_errors=True)  # written now, not read from the cache
    steps = list(web.summarize("Whole library", None, "", "", "", 0, []))
    html = [step[0] for step in steps]
    assert any("Reading articles" in h for h in html[:-1]), html
    growing = [h.count('class="event"') for h in html if "Writing the next event" in h]
    assert growing and growing == sorted(growing) and growing[0] == 1, growing
    final, sources, turns = steps[-1]
    assert "Writing the next event" not in final and final.count('class="event"') >= growing[-1]
    assert len(turns) == 1 and "turn-sources" in sources
    error, *_ = next(iter(web.summarize("One article", None, "", "", "", 0, [])))
    assert "no article chosen" in error and "pick one from the list" in error


def test_the_page_reads_an_article_another_process_ingested(app, tmp_path):
    """`rag ingest` in a terminal while the page is open: the next question and summary use it."""
    from rag.factory import App
    from tests.helpers import SAMPLE_CORPUS, rag, sample_index_without
    from ui.web import WebApp

    articles, index = sample_index_without(tmp_path, "reservoir-drought.txt")
    web = WebApp(App(app.settings.model_copy(update={"index": index}), embedder=app.embedder, chat=app.chat))
    question = "To what share of its capacity did the Harlow Reservoir fall?"
    before = web.app.answerer.ask(question)
    assert "31 percent" not in " ".join(c.text for c in before.citations + before.closest)
    shutil.copy(SAMPLE_CORPUS / "reservoir-drought.txt", articles)
    assert rag("ingest", str(articles), "--index", str(index), "--quiet").returncode == 0
    final, *_ = list(web.summarize("One article", "reservoir-drought", "", "", "", 0, []))[-1]
    assert "Harlow" in final and "error" not in final.lower()
    after = web.app.answerer.ask(question)
    assert "31 percent" in " ".join(c.text for c in after.citations + after.closest)


def test_the_settings_tab_says_what_the_model_reads(app, small_index):
    from rag.factory import App
    from ui.web import WebApp

    web = WebApp(
        App(app.settings.model_copy(update={"index": small_index}), embedder=app.embedder, chat=app.chat)
    )
    assert "**reads:** sentences (0.13 B parameters;" in web.model_info()
    told = App(app.settings.model_copy(update={"index": small_index, "reading": "passages"}))
    assert "**reads:** passages (reading = passages)" in WebApp(told).model_info()
