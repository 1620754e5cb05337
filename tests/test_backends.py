"""Beyond one machine with existing engines: a real `chroma run` and a real `python -m llama_cpp.server`.

Both servers start on free loopback ports; the clients are the `rag` CLI as users run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, rag
from tests.uiserver import free_port

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


@contextmanager
def server(cmd: list[str], ready_url: str, log: Path, timeout_s: float = 120) -> Iterator[None]:
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ})
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"{cmd[0]} exited early:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(ready_url, timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{cmd[0]} not ready:\n{log.read_text()[-3000:]}") from None
                    time.sleep(0.3)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    chroma = shutil.which("chroma", path=str(BIN)) or "chroma"
    cmd = [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with server(cmd, f"{url}/api/v2/heartbeat", data / "server.log"):
        yield url


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory, app) -> Iterator[str]:
    log_dir = tmp_path_factory.mktemp("llm-server")
    port = free_port()
    s = app.chat.settings
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(app.chat.model_path),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(s["n_ctx"]), "--n_threads", "2", "--n_threads_batch", "2",
        "--flash_attn", str(s["flash_attn"]).lower(), "--seed", str(s["seed"]),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with server(cmd, f"{url}/models", log_dir / "server.log"):
        yield url


def test_one_index_served_by_chroma_to_several_clients(chroma_url, seeds_dir, tmp_path):
    writer, reader = tmp_path / "writer", tmp_path / "reader"
    remote = ("--chroma-url", chroma_url)
    first = rag("ingest", str(seeds_dir), "--index", str(writer), *remote, "--json")
    assert first.returncode == 0, first.stderr
    assert [o["status"] for o in json.loads(first.stdout)["outcomes"]] == ["indexed"] * 5
    assert not (writer / "chroma").exists(), "vectors belong on the server, not in local files"

    # A second machine with an empty --index directory serves the same index.
    listed = rag("docs", "list", "--index", str(reader), *remote, "--json")
    assert listed.returncode == 0, listed.stderr
    docs = {d["doc_id"]: d for d in json.loads(listed.stdout)}
    assert len(docs) == 5
    asked = rag("ask", "How long did the July call last?", "--index", str(reader), *remote, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and "40" in answer["answer"]
    for citation in answer["citations"]:
        text = (reader / "texts" / f"{docs[citation['doc_id']]['content_hash']}.txt").read_text()
        assert text[citation["start"] : citation["end"]] == citation["text"]

    # The content-hash registry came from the server too: no duplicate re-ingest.
    again = rag("ingest", str(seeds_dir), "--index", str(reader), *remote, "--json")
    assert again.returncode == 0, again.stderr
    assert [o["status"] for o in json.loads(again.stdout)["outcomes"]] == ["unchanged"] * 5

    # A removal by one client is seen by the other, and both agree with the server.
    gone = sorted(docs)[0]
    removed = rag("docs", "rm", gone, "--index", str(reader), *remote)
    assert removed.returncode == 0, removed.stderr
    seen = rag("docs", "list", "--index", str(writer), *remote, "--json")
    assert gone not in {d["doc_id"] for d in json.loads(seen.stdout)}
    assert len(json.loads(seen.stdout)) == 4
    check = rag("doctor", "--check", "--index", str(writer), *remote, "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["consistent"] is True


def test_unreachable_chroma_server_is_one_line_error(tmp_path):
    result = rag(
        "docs", "list", "--index", str(tmp_path / "x"), "--chroma-url", f"http://127.0.0.1:{free_port()}"
    )
    assert "Chroma server" in assert_one_line_error(result)


def test_remote_model_gives_the_same_eval_metrics(llm_url, seeds_dir, tmp_path):
    """Same prompts, same greedy sampling: the server backend scores like the in-process model.

    Runs first on a fresh server: llama.cpp reuses the previous prompt's cached prefix, and a
    different cache history changes float rounding enough to flip an occasional greedy token.
    """
    index = tmp_path / "index"
    assert rag("ingest", str(seeds_dir), "--index", str(index)).returncode == 0
    summaries = {}
    for name, extra in (("local", ()), ("server", ("--llm-url", llm_url))):
        args = ["eval", "--set", "eval/sets/seeds.jsonl", "--index", str(index), "--split", "test"]
        env = {"RAG_SEED": "0", "RAG_TEMPERATURE": "0", "RAG_READER": "draft"}  # a server scores no replies
        result = rag(*args, *extra, "--json", env=env, timeout=900)
        assert result.returncode == 0, result.stderr[-2000:]
        summaries[name] = json.loads(result.stdout)["summary"]
    keys = [
        "fact_recall",
        "citation_precision",
        "citation_recall",
        "abstention_rate",
        "false_abstention_rate",
    ]
    print({k: (summaries["local"][k], summaries["server"][k]) for k in keys})
    for key in keys:
        assert abs(summaries["local"][key] - summaries["server"][key]) <= 0.02, key


def test_remote_model_streams_tokens(llm_url):
    from rag.llm import OpenAIChatModel

    pieces: list[str] = []
    done = OpenAIChatModel(llm_url).complete(
        [{"role": "user", "content": "Count from one to five."}],
        max_tokens=24,
        temperature=0.0,
        on_token=pieces.append,
    )
    assert len(pieces) > 3, "tokens arrive one by one, not as one block"
    assert "".join(pieces) == done.text and done.text.strip()


def test_unreachable_model_server_is_one_line_error(seeds_index):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = rag(
        "ask", "What did the leaders discuss in the July call?", "--index", str(seeds_index), "--llm-url", url
    )
    assert "did not answer" in assert_one_line_error(result)
