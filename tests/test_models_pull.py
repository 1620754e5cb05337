"""`rag models pull` against a local stand-in for the hub (HF_ENDPOINT on loopback), and offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from index import modelfiles
from tests.helpers import assert_one_line_error, rag


class FakeHub(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def _respond(self, with_body: bool) -> None:
        self.requests.append(f"{self.command} {self.path}")
        body = self.files.get(self.path.split("?")[0])
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", "0" * 40)
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(with_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._respond(with_body=True)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub():
    gguf = modelfiles.locate(modelfiles.CHAT_GGUF).read_bytes()
    FakeHub.files = {
        "/acme/tiny-GGUF/resolve/main/tiny.gguf": gguf,
        "/acme/tiny-GGUF/resolve/main/broken.gguf": b"GGUF" + b"\0" * 64,
    }
    FakeHub.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_pull_downloads_checks_and_registers(hub, tmp_path: Path):
    env = {
        "HF_ENDPOINT": hub,
        "HF_HUB_OFFLINE": "0",
        "RAG_DATA_DIR": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
    }
    result = rag("models", "pull", "acme/tiny-GGUF", "tiny.gguf", env=env)
    assert result.returncode == 0, result.stderr
    assert any(r.startswith("GET /acme/tiny-GGUF/resolve/main/tiny.gguf") for r in FakeHub.requests)
    listed = json.loads(rag("models", "--json", env=env).stdout)
    pulled = [row for row in listed if row["role"] == "chat (pulled)"]
    assert len(pulled) == 1 and pulled[0]["status"] == "installed"
    assert Path(pulled[0]["path"]).read_bytes()[:4] == b"GGUF"


def test_pull_of_an_unloadable_file_is_refused(hub, tmp_path: Path):
    env = {
        "HF_ENDPOINT": hub,
        "HF_HUB_OFFLINE": "0",
        "RAG_DATA_DIR": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
    }
    line = assert_one_line_error(rag("models", "pull", "acme/tiny-GGUF", "broken.gguf", env=env))
    assert "cannot load" in line
    assert not any(
        row["role"] == "chat (pulled)" for row in json.loads(rag("models", "--json", env=env).stdout)
    )


def test_pull_offline_says_so(tmp_path: Path):
    env = {"HF_HUB_OFFLINE": "1", "RAG_DATA_DIR": str(tmp_path), "HF_HOME": str(tmp_path / "hf")}
    line = assert_one_line_error(rag("models", "pull", "acme/tiny-GGUF", "tiny.gguf", env=env))
    assert "offline" in line
