"""Reading articles from disk into plain text with stable character offsets.

Citations are verbatim slices of a document's text, so loaders never rewrite .txt/.md content: bytes
are decoded as they are (no newline translation). HTML and PDF become extracted text, which is kept
beside the index so a citation can be checked against it later.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from index.errors import UserError

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}


class SkipFile(Exception):
    """A file that cannot be used; the message says why, in a few words."""


@dataclass
class Document:
    doc_id: str
    path: Path
    text: str
    title: str
    date: str | None
    kind: str
    content_hash: str
    page_starts: list[int] = field(default_factory=list)  # text offset where each PDF page begins

    def page_of(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 0
        for number, start in enumerate(self.page_starts):
            if start <= offset:
                page = number
        return page + 1


@dataclass(frozen=True)
class Candidate:
    """A file found on disk and the document id it will be stored under."""

    path: Path
    doc_id: str


MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE_PATTERNS = [
    (re.compile(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b"), ("y", "m", "d")),
    (re.compile(rf"\b({_MONTH_RE})\.? (\d{{1,2}}),? ((?:19|20)\d{{2}})\b", re.I), ("mon", "d", "y")),
    (re.compile(rf"\b(\d{{1,2}}) ({_MONTH_RE})\.?,? ((?:19|20)\d{{2}})\b", re.I), ("d", "mon", "y")),
]


def find_dates(text: str) -> list[tuple[int, int, str]]:
    """Every full calendar date written in the text, as (start, end, ISO date)."""
    found = []
    for pattern, order in DATE_PATTERNS:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = int(parts["m"]) if "m" in parts else MONTHS[parts["mon"].lower()]
            try:
                iso = date(int(parts["y"]), month, int(parts["d"])).isoformat()
            except ValueError:
                continue
            found.append((match.start(), match.end(), iso))
    return sorted(found)


def first_date(text: str, within: int = 3000) -> str | None:
    dates = find_dates(text[:within])
    return dates[0][2] if dates else None


NOT_A_TITLE = re.compile(
    r"^(by|date|published|updated|posted|photo|image|credit)\b|\b\d{4}-\d{2}-\d{2}\b", re.I
)


def make_title(text: str, fallback: str) -> str:
    """The first line that reads like a headline: bylines, datelines and menu strips are passed over."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if len(line) < 3 or NOT_A_TITLE.search(line):
            continue
        if len(line) <= 120:
            return line
        cut = line[:90].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + "…"
    return fallback


def decode_text(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary content, not text")
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad > max(16, len(text) // 20):
        raise SkipFile("not UTF-8 text (too many undecodable bytes)")
    return text


def html_to_text(raw: bytes) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title_tag = soup.find("h1") or soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else None
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    blocks = []
    for line in soup.get_text("\n").splitlines():
        line = " ".join(line.split())
        if line:
            blocks.append(line)
    return "\n".join(blocks), title


def pdf_to_text(path: Path) -> tuple[str, list[int]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (remove the password first)")
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        for page in reader.pages:
            page_text = (page.extract_text() or "").strip()
            starts.append(offset)
            parts.append(page_text)
            offset += len(page_text) + 2
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise SkipFile(f"unreadable PDF ({type(exc).__name__})") from None
    except Exception as exc:  # pypdf raises many internal types on damaged files
        raise SkipFile(f"unreadable PDF ({type(exc).__name__})") from None
    text = "\n\n".join(parts)
    if not text.strip():
        raise SkipFile("PDF has no extractable text (scanned image? run OCR first)")
    return text, starts


def load_document(candidate: Candidate, max_file_mb: float) -> Document:
    path = candidate.path
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:
            raise SkipFile(f"larger than max_file_mb={max_file_mb:g} MB ({size / 1048576:.1f} MB)")
        raw = path.read_bytes()
    except PermissionError:
        raise SkipFile("permission denied") from None
    except OSError as exc:
        raise SkipFile(f"cannot read ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    page_starts: list[int] = []
    title: str | None = None
    if suffix == ".pdf":
        text, page_starts = pdf_to_text(path)
        kind = "pdf"
    elif suffix in (".html", ".htm"):
        text, title = html_to_text(raw)
        kind = "html"
    else:
        text = decode_text(raw)
        kind = "md" if suffix in (".md", ".markdown") else "txt"
    if not text.strip():
        raise SkipFile("empty (no text)")
    return Document(
        doc_id=candidate.doc_id,
        path=path,
        text=text,
        title=title or make_title(text, candidate.doc_id),
        date=first_date(text),
        kind=kind,
        content_hash=hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest(),
        page_starts=page_starts,
    )


def _doc_id_for(relative: Path) -> str:
    return relative.with_suffix("").as_posix()


def discover(paths: Iterable[Path], report: Callable[[Path, str], None]) -> list[Candidate]:
    """Expand files and folders into candidates with unique document ids.

    Two files that would share an id are an error naming both, never a silent replacement.
    """
    seen: dict[str, Path] = {}
    out: list[Candidate] = []
    for root in paths:
        if not root.exists() and not root.is_symlink():
            raise UserError(f"{root} does not exist", "check the path")
        if root.is_file():
            items: Iterator[tuple[Path, str]] = iter([(root, root.stem)])
        else:
            items = _walk(root, report)
        for path, doc_id in items:
            if doc_id in seen and seen[doc_id] != path:
                raise UserError(
                    f"two files would get the same document id {doc_id!r}: {seen[doc_id]} and {path}",
                    "rename one of them or ingest them from different folders",
                )
            if doc_id not in seen:
                seen[doc_id] = path
                out.append(Candidate(path, doc_id))
    return out


def _walk(root: Path, report: Callable[[Path, str], None]) -> Iterator[tuple[Path, str]]:
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for dirname in list(dirnames):
            sub = here / dirname
            if sub.is_symlink():
                report(sub, "skipped: symlinked folder (not followed)")
                dirnames.remove(dirname)
        for filename in sorted(filenames):
            path = here / filename
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    report(path, "skipped: broken or looping symlink")
                    continue
                if not target.is_relative_to(real_root):
                    report(path, "skipped: symlink points outside the folder")
                    continue
            yield path, _doc_id_for(path.relative_to(root))
