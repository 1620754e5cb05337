"""Fetching pages and feeds from a real HTTP server on loopback: limits, redirects, refusals."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from index.fetch import FetchError, check_url, doc_id_for_url, fetch

PAGE = b"<html><head><title>Ferry news</title></head><body><p>The ferry runs again.</p></body></html>"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path == "/page":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif self.path == "/hop":
            self._redirect("/page")
        elif self.path.startswith("/loop"):
            self._redirect(f"/loop{len(self.path)}")
        elif self.path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif self.path == "/big":
            self._send(200, b"x" * 300_000, "text/plain")
        else:
            self._send(404, b"missing", "text/plain")

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def get(url: str, **overrides: object) -> tuple[bytes, str, str]:
    options: dict = {"max_bytes": 100_000, "timeout_s": 5.0, "allow_private": True, **overrides}
    return fetch(url, **options)


def test_a_page_is_fetched_with_its_content_type_and_final_url(server):
    body, kind, final = get(f"{server}/hop")
    assert body == PAGE and kind == "text/html" and final.endswith("/page")


@pytest.mark.parametrize(
    "path, reason",
    [("/loop", "redirect"), ("/to-file", "not http or https"), ("/big", "size limit"), ("/gone", "HTTP 404")],
)
def test_limits_are_one_line_reasons(server, path, reason):
    with pytest.raises(FetchError, match=reason):
        get(f"{server}{path}")


def test_loopback_and_private_addresses_need_allow_private(server):
    with pytest.raises(FetchError, match="--allow-private"):
        get(f"{server}/page", allow_private=False)
    for url in ("http://10.1.2.3/x", "http://192.168.0.1/", "http://[::1]/", "http://169.254.169.254/meta"):
        with pytest.raises(FetchError, match="private or loopback"):
            check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.invalid/x", "/local/path", "http:///x"])
def test_only_http_urls_with_a_host(url):
    with pytest.raises(FetchError):
        check_url(url, allow_private=True)


def test_url_ids_are_host_and_path():
    assert doc_id_for_url("https://news.example.org/2031/03/quay.html") == "news.example.org/2031/03/quay"
    assert doc_id_for_url("https://news.example.org/") == "news.example.org/index"
    assert doc_id_for_url("http://a.example/item?id=7") == "a.example/item?id=7"
