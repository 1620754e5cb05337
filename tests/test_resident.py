"""The resident `rag ask`: the first one leaves the models loaded in a background process, later ones
(new processes) hand it their question, it sees what an ingest adds, reports errors as one line,
and stops on request or when idle. Real models, real index, real processes."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_CORPUS, rag, sample_index_without

QUESTION = "To what share of its capacity did the Harlow Reservoir fall?"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """An index of the sample articles but the reservoir one, and a private run directory."""
    articles, index = sample_index_without(tmp_path, "reservoir-drought.txt")
    run = tmp_path / "run"
    run.mkdir()
    return articles, index, {"XDG_RUNTIME_DIR": str(run), "RAG_KEEP_WARM_S": "120"}


def ask(index: Path, env: dict[str, str], question: str = QUESTION) -> dict:
    result = rag("ask", question, "--index", str(index), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def residents(env: dict[str, str], *args: str) -> list[dict]:
    result = rag("resident", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def passages(answer: dict) -> str:
    return " ".join(c["text"] for c in answer["citations"] + answer["closest"])


def test_a_resident_answers_later_asks_and_sees_what_an_ingest_adds(setup):
    articles, index, env = setup
    first = ask(index, env)  # in its own process; leaves the resident behind
    assert "31 percent" not in passages(first)
    [resident] = residents(env)  # answers once the resident has loaded its models
    assert resident["index"] == str(index.resolve()) and resident["answered"] == 0
    again = ask(index, env)
    for field in ("answer", "mode", "citations", "closest"):
        assert again[field] == first[field]
    assert again["confidence"] == pytest.approx(first["confidence"], abs=0.01)
    assert again["timings"]["load_s"] < first["timings"]["load_s"]  # the models were already loaded
    shutil.copy(SAMPLE_CORPUS / "reservoir-drought.txt", articles)
    assert rag("ingest", str(articles), "--index", str(index), "--quiet", env=env).returncode == 0
    after = ask(index, env)
    assert "31 percent" in passages(after)
    [resident] = residents(env)
    assert resident["answered"] == 2 and resident["pid"] == residents(env)[0]["pid"]
    # A connection that sends no JSON does not end it.
    [path] = Path(env["XDG_RUNTIME_DIR"]).glob("*/*.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as junk:
        junk.connect(str(path))
        junk.sendall(b"not json\n")
        junk.recv(1)
    assert [r["pid"] for r in residents(env)] == [resident["pid"]]
    # An error is the asker's one line, as without a resident; the resident serves on.
    empty = rag("ask", "  ", "--index", str(index), env=env)
    assert empty.returncode == 1 and empty.stderr.strip().startswith("error: the question is empty")
    assert len(empty.stderr.strip().splitlines()) == 1
    [stopped] = residents(env, "--stop", "--index", str(index))
    assert stopped["answered"] == 3
    assert residents(env) == [] and not list(Path(env["XDG_RUNTIME_DIR"]).glob("*/*.sock"))


def test_no_resident_when_keep_warm_is_zero_and_an_idle_one_exits(setup):
    _, index, env = setup
    ask(index, {**env, "RAG_KEEP_WARM_S": "0"})
    assert residents(env) == []
    ask(index, {**env, "RAG_KEEP_WARM_S": "1"})
    run = Path(env["XDG_RUNTIME_DIR"])
    assert list(run.glob("*/*.sock"))
    deadline = time.monotonic() + 60  # loading the models, then one idle second
    while list(run.glob("*/*.sock")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not list(run.glob("*/*.sock"))


def test_an_unusable_run_directory_only_means_no_resident(setup, tmp_path):
    _, index, env = setup
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("", encoding="utf-8")
    answer = ask(index, {**env, "XDG_RUNTIME_DIR": str(blocked)})
    assert answer["mode"] and "31 percent" not in passages(answer)


def test_askers_share_a_resident_only_with_the_same_settings(tmp_path):
    from rag.settings import Settings
    from ui.resident import key

    base = Settings(index=tmp_path / "a", keep_warm_s=60)
    assert key(base) == key(base.model_copy(update={"keep_warm_s": 5}))
    assert key(base) != key(base.model_copy(update={"index": tmp_path / "b"}))
    assert key(base) != key(base.model_copy(update={"answer_threshold": 0.7}))


def test_a_resident_left_by_other_code_is_not_asked(tmp_path, monkeypatch):
    import os

    import rag
    from rag.settings import Settings
    from ui.resident import key

    code = tmp_path / "rag"
    code.mkdir()
    (code / "read.py").write_text("RIVAL_SHARE = 0.5\n")
    monkeypatch.setattr(rag, "__path__", [str(code)])
    settings = Settings(index=tmp_path / "a")
    before = key(settings)
    assert key(settings) == before
    (code / "read.py").write_text("RIVAL_SHARE = 0.4\n")  # an upgrade or an edit
    os.utime(code / "read.py", ns=(1, 1))
    assert key(settings) != before
