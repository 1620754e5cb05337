"""Fetching pages and feeds, only when the user names them: the one network use besides `models pull`.

Guarded the way a server-side fetcher must be: http(s) only, a timeout, a size cap, a few redirects,
each hop checked again, and no private, loopback or link-local address unless the user allows it (a
page must not be able to point the tool at the user's router or at services on their own machine).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from index.loaders import Candidate

MAX_REDIRECTS = 5
USER_AGENT = "rag-news/0.1 (+local news reader; fetches only what its user names)"


class FetchError(Exception):
    """A URL that could not be fetched; the message says why, in a few words."""


def check_url(url: str, allow_private: bool) -> None:
    """Refuse what the fetcher must never touch, before any connection is made."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'}:")
    if not parts.hostname:
        raise FetchError("the URL has no host name")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {parts.hostname} ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise FetchError(
                f"{parts.hostname} is a private or loopback address ({address}); "
                "pass --allow-private to fetch from your own network"
            )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        check_url(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, max_bytes: int, timeout_s: float, allow_private: bool) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of one page or feed."""
    check_url(url, allow_private)
    opener = urllib.request.build_opener(_CheckedRedirects(allow_private))
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        with opener.open(request, timeout=timeout_s) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"larger than the size limit ({int(declared) / 1048576:.1f} MB)")
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"larger than the size limit ({max_bytes / 1048576:.1f} MB)")
            return body, response.headers.get_content_type(), response.geturl()
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        if exc.code in (301, 302, 303, 307, 308):
            if "not allowed" in str(exc.msg):
                raise FetchError("redirected to a URL that is not http or https") from None
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, FetchError):
            raise reason from None
        raise FetchError(f"cannot connect ({reason})") from None
    except TimeoutError:
        raise FetchError(f"no answer within {timeout_s:g} s") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"fetch failed ({type(exc).__name__}: {exc})") from None


def doc_id_for_url(url: str) -> str:
    """A readable, stable id: host and path, without scheme or a page suffix."""
    parts = urlsplit(url)
    path = PurePosixPath(parts.path.strip("/") or "index")
    if path.suffix.lower() in (".html", ".htm", ".php", ".aspx", ".xml", ".rss", ".atom"):
        path = path.with_suffix("")
    doc_id = f"{parts.hostname}/{path.as_posix()}"
    return f"{doc_id}?{parts.query}" if parts.query else doc_id


def fetch_candidate(
    url: str, *, as_feed: bool, max_bytes: int, timeout_s: float, allow_private: bool
) -> Candidate:
    body, content_type, final = fetch(
        url, max_bytes=max_bytes, timeout_s=timeout_s, allow_private=allow_private
    )
    if as_feed:
        content_type = "application/rss+xml"
    return Candidate(
        path=Path(doc_id_for_url(url)),
        doc_id=doc_id_for_url(url),
        url=final,
        data=body,
        content_type=content_type,
    )
