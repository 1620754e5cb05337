"""Reading articles into plain text with stable character offsets, one guard around every format.

Citations are verbatim slices of a document's text, so loaders never rewrite .txt/.md content: bytes
are decoded as they are (no newline translation). HTML, feeds and PDF become extracted text, which is
kept beside the index so a citation can be checked against it later. Whatever a file holds, loading it
either gives documents or raises ``SkipFile`` with a short reason: one bad file never stops an ingest.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from index import formats
from index.errors import UserError
from index.formats import NotText, find_dates

__all__ = ["Candidate", "Document", "SkipFile", "discover", "find_dates", "load_document", "load_documents"]

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
FEED_SUFFIXES = {".xml", ".rss", ".atom"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | FEED_SUFFIXES | {".html", ".htm", ".pdf"}
# Libraries whose log warnings would otherwise land on stderr in their own words.
LIBRARY_LOGGERS = ("trafilatura", "htmldate", "charset_normalizer", "bs4", "pypdf", "feedparser", "courlan")
T = TypeVar("T")


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
    title_source: str = "filename"  # metadata | front_matter | feed | heading | filename
    date_source: str | None = None  # metadata | front_matter | feed | published_line | lead
    source: str = ""  # the file's path or the page's URL
    author: str | None = None
    lead: str = ""  # the lead's first words, shown in place of a title made from the file name

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
    """A file found on disk, or a page fetched from a URL, and the document id it will be stored under."""

    path: Path
    doc_id: str
    url: str | None = None
    data: bytes | None = None  # fetched content; files are read when loaded
    content_type: str | None = None

    @property
    def suffix(self) -> str:
        if self.content_type:
            kind = self.content_type.split(";")[0].strip().lower()
            if "html" in kind:
                return ".html"
            if any(word in kind for word in ("rss", "atom", "xml")):
                return ".xml"
            if kind == "application/pdf":
                return ".pdf"
            if kind.startswith("text/"):
                return ".md" if "markdown" in kind else ".txt"
        return self.path.suffix.lower()

    @property
    def name(self) -> str:
        return self.path.stem if self.url is None else self.doc_id.rsplit("/", 1)[-1]

    @property
    def source(self) -> str:
        return self.url or str(self.path.resolve())


# A PDF line at least this share of its page's longest line was wrapped by the layout, not ended.
WRAPPED_LINE_SHARE = 0.6
PAGE_NUMBER = re.compile(r"(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?", re.I)
SENTENCE_END = tuple(".!?:;\"'\u201d\u2019")


def join_wrapped_lines(page: str) -> str:
    """A PDF page's text without its layout's line breaks, so that a sentence cut at the margin is one
    sentence again. A line that fills most of the width and does not end a sentence continues on the
    next one (as does any line followed by a lowercase word); headings (short lines), page numbers and
    blank-line paragraph breaks stay where they are."""
    lines = page.split("\n")
    width = max((len(line.strip()) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if out and _continues(out[-1].strip(), line.strip(), width):
            head = out[-1].rstrip()
            out[-1] = head + ("" if head.endswith("-") else " ") + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _continues(previous: str, line: str, width: int) -> bool:
    if not previous or not line or PAGE_NUMBER.fullmatch(previous) or PAGE_NUMBER.fullmatch(line):
        return False
    if line[0].islower():
        return True
    return not previous.endswith(SENTENCE_END) and len(previous) >= WRAPPED_LINE_SHARE * width


def pdf_to_text(path: Path, raw: bytes) -> tuple[str, list[int]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (remove the password first)")
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        for page in reader.pages:
            page_text = join_wrapped_lines((page.extract_text() or "").strip())
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


def _guarded(kind: str, step: Callable[[], T], warn: Callable[[str], None]) -> T:
    """Run one format's parser: any failure is a skip with its reason, library warnings become lines."""
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Collect(logging.WARNING)
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return step()
            except (SkipFile, NotText) as why:
                raise SkipFile(str(why)) from None
            except RecursionError:
                raise SkipFile(f"unreadable {kind} (nested too deeply)") from None
            except Exception as exc:  # parsers raise many internal types on damaged input
                raise SkipFile(f"unreadable {kind} ({type(exc).__name__})") from None
    finally:
        for lg, (propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.propagate = propagate
            lg.setLevel(level)
        for message in dict.fromkeys(
            [" ".join(str(w.message).split()) for w in caught]
            + [" ".join(r.getMessage().split()) for r in records]
        ):
            warn(f"warning: {message[:200]}")


def _read(candidate: Candidate, max_file_mb: float) -> bytes:
    if candidate.data is not None:
        return candidate.data
    path = candidate.path
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:
            raise SkipFile(f"larger than max_file_mb={max_file_mb:g} MB ({size / 1048576:.1f} MB)")
        return path.read_bytes()
    except PermissionError:
        raise SkipFile("permission denied") from None
    except OSError as exc:
        raise SkipFile(f"cannot read ({exc.strerror or exc})") from None


def _extract(candidate: Candidate, raw: bytes) -> tuple[str, list[formats.Extracted], list[int]]:
    """(kind, extracted documents, PDF page starts) by the file's format."""
    suffix = candidate.suffix
    if suffix == ".pdf":
        text, starts = pdf_to_text(candidate.path, raw)
        return "pdf", [formats.Extracted(text)], starts
    if suffix in FEED_SUFFIXES or (suffix not in TEXT_SUFFIXES and formats.looks_like_feed(raw)):
        return "feed", formats.feed(raw), []
    if suffix in (".html", ".htm"):
        return "html", [formats.html(raw, candidate.url)], []
    if suffix in (".md", ".markdown"):
        return "md", [formats.markdown(raw)], []
    return "txt", [formats.plain_text(raw)], []


def _finish(candidate: Candidate, kind: str, found: formats.Extracted, page_starts: list[int]) -> Document:
    text = found.text
    if not text.strip():
        raise SkipFile("empty (no text)")
    doc_id = f"{candidate.doc_id}/{found.item_id}" if found.item_id else candidate.doc_id
    title, title_source = found.title, found.title_source
    if not title:
        title = formats.title_from_text(text)
        title_source = "heading" if title else "filename"
        title = title or formats.title_from_name(candidate.name)
    when, date_source = found.date, found.date_source
    if not when:
        when, date_source = formats.date_from_text(text)
    return Document(
        doc_id=doc_id,
        path=candidate.path,
        text=text,
        title=_shorten(title),
        date=when,
        kind=kind,
        content_hash=hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest(),
        page_starts=page_starts,
        title_source=title_source or "filename",
        date_source=date_source,
        source=found.source or candidate.source,
        author=found.author,
        lead=(formats.lead_title(text) or "") if (title_source or "filename") == "filename" else "",
    )


def _shorten(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= 120:
        return title
    return title[:90].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def load_documents(
    candidate: Candidate, max_file_mb: float, warn: Callable[[str], None] | None = None
) -> list[Document]:
    """Every document in one file (a feed holds many). Any failure of the file is a ``SkipFile``."""
    raw = _read(candidate, max_file_mb)
    if not raw.strip():
        raise SkipFile("empty (no text)")
    kind, found, starts = _guarded(
        candidate.suffix.lstrip(".") or "file", lambda: _extract(candidate, raw), warn or (lambda _m: None)
    )
    docs = [_finish(candidate, kind, item, starts) for item in found if item.text.strip()]
    if not docs:
        raise SkipFile("empty (no text)")
    return docs


def load_document(candidate: Candidate, max_file_mb: float) -> Document:
    """The one document of a file (the first item of a feed)."""
    return load_documents(candidate, max_file_mb)[0]


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


def _utf8_name(name: str) -> bool:
    """Names with undecodable bytes cannot be ids in the index (nor shown safely)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
            if not _utf8_name(filename):
                report(path, "skipped: the file name is not valid UTF-8 (rename the file)")
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
