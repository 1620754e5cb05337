"""Ingest of real news: one embedding pass per token of text, and progress lines in a log."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import RAG, ROOT, SHARED, rag, require_shared

DEV_CORPUS = SHARED / "corpus" / "realtimeqa-dev" / "corpus"
PROGRESS = re.compile(r"^(\d+)/(\d+) files, \d+\.\d files/s")


def test_a_default_ingest_embeds_each_token_about_once(tmp_path):
    folder = tmp_path / "twelve"
    folder.mkdir()
    for path in sorted(require_shared(DEV_CORPUS).glob("*.txt"))[:12]:
        shutil.copy(path, folder / path.name)
    result = rag("ingest", str(folder), "--index", str(tmp_path / "idx"), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    assert not PROGRESS.search(result.stderr), "--quiet prints no progress"
    report = json.loads(result.stdout)
    assert report["tokens_in_documents"] > 10_000
    assert report["tokens_embedded"] / report["tokens_in_documents"] <= 1.2


def test_an_ingest_writing_to_a_log_shows_progress_lines_until_interrupted(tmp_path):
    log = tmp_path / "ingest.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*RAG, "ingest", str(require_shared(DEV_CORPUS)), "--index", str(tmp_path / "idx"), "--json"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
            env={**os.environ, "RAG_PROGRESS_EVERY_S": "2"},
            # as a shell script's background job (`rag ingest … &`) starts: SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(_progress(log)) < 2:
                time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=120) == 130
        finally:
            if proc.poll() is None:  # a failed run leaves no ingest behind
                proc.kill()
                proc.wait()
    lines = _progress(log)
    total = len(list(DEV_CORPUS.glob("*.txt")))
    assert len(lines) >= 2, log.read_text()
    done = [int(PROGRESS.match(x).group(1)) for x in lines]  # type: ignore[union-attr]
    assert done == sorted(done) and all(int(PROGRESS.match(x).group(2)) == total for x in lines)  # type: ignore[union-attr]
    assert "Traceback" not in log.read_text()


def _progress(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if PROGRESS.match(line)]


def test_a_long_file_reports_its_own_progress_and_is_indexed_whole(tmp_path):
    """A file of several hundred kilobytes says where it stands while it is split and embedded."""
    lines = [
        f"Report {n}: the tide gauge at pier {n % 40} read {n % 9 + 1}.{n % 7} metres on the morning shift."
        for n in range(5000)
    ]
    big = tmp_path / "gauge-log.txt"
    big.write_text("\n".join(lines), encoding="utf-8")
    result = rag(
        "ingest", str(big), "--index", str(tmp_path / "idx"), "--json",
        env={"RAG_PROGRESS_EVERY_S": "0.01"}, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"gauge-log\.txt: splitting into sentences, \d+% of [\d,]+ characters", result.stderr)
    embedded = [
        int(m.replace(",", "")) for m in re.findall(r"embedded ([\d,]+) of [\d,]+ sentences", result.stderr)
    ]
    assert embedded and embedded == sorted(embedded), result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["sentences_written"] >= 5000
