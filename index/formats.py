"""News formats to plain text plus the title and date each one carries, with the libraries made for them.

Text files are decoded as they are (no newline translation), so a citation is a verbatim slice of the
file. Web pages go through trafilatura (main text without menus and footers; title and publish date from
the page's metadata, htmldate as its date fallback), feeds through feedparser (one document per item),
Markdown front matter through python-frontmatter. Where a format carries no date, the text is read in
a fixed order: a "published …" or "updated …" line, then a dateline or a date in the lead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
# A line that states when the article appeared ("posted 2031-05-02", "updated: May 2, 2031"), any case.
PUBLISHED_LINE = re.compile(r"^\W*(first published|published|updated|posted|dated?)\b[\s:,-]*(.+)$", re.I)
HEAD_LINES = 12  # a published line sits in the article's first lines
LEAD_CHARS = 400  # a dateline or the lead sentence, after the headline
NOT_A_TITLE = re.compile(
    r"^(by|date|published|updated|posted|photo|image|credit)\b|\b\d{4}-\d{2}-\d{2}\b", re.I
)
TITLE_MAX_CHARS = 150
HEADLINE_MAX_WORDS = 14  # a line ending in a full stop is still a headline up to this length
CONTROL_SHARE = 0.02  # more control characters than this and the "text" is binary
LETTER_SHARE = 0.3  # of the non-space characters, at least this many are letters in real prose


class NotText(Exception):
    """Content that is not readable text; the message says why, in a few words."""


@dataclass
class Extracted:
    """Text of one document and what its format says about it."""

    text: str
    title: str | None = None
    title_source: str | None = None
    date: str | None = None
    date_source: str | None = None
    author: str | None = None
    source: str | None = None  # a URL or a name the document itself gives
    item_id: str | None = None  # feeds: the item's key inside its feed


# -- dates -------------------------------------------------------------------------------------------
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


def iso_date(value: Any) -> str | None:
    """A date from metadata (a date, a datetime, an ISO or written-out string) as ISO, else None."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    written = find_dates(value)
    if written:
        return written[0][2]
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    import dateparser

    parsed = dateparser.parse(value, languages=["en"], settings={"STRICT_PARSING": True})
    return parsed.date().isoformat() if parsed else None


def date_from_text(text: str) -> tuple[str | None, str | None]:
    """(ISO date, where it came from): a published line first, then a dateline or the lead."""
    lines = text.lstrip().splitlines()
    for line in lines[:HEAD_LINES]:
        match = PUBLISHED_LINE.match(line.strip())
        if match:
            found = iso_date(match.group(2))
            if found:
                return found, "published_line"
    title = title_from_text(text)
    body = text.lstrip()
    head = body.find(title) + len(title) if title and title in body[: LEAD_CHARS * 2] else 0
    lead = find_dates(body[: head + LEAD_CHARS])
    if lead:
        return lead[0][2], "lead"
    return None, None


# -- titles ------------------------------------------------------------------------------------------
def looks_like_headline(line: str) -> bool:
    """A short line that does not read as the lead: a lead sentence runs long and ends in a full
    stop; a headline is short, with or without one ("Fares rise again. Here is why.")."""
    line = " ".join(line.split())
    if len(line) < 3 or len(line) > TITLE_MAX_CHARS or NOT_A_TITLE.search(line):
        return False
    sentence = line.endswith(".") and not line.endswith("...")
    return not sentence or len(line.split()) <= HEADLINE_MAX_WORDS


def title_from_text(text: str) -> str | None:
    """The headline: the first line that reads like one (Markdown's ``#`` stripped), passing over
    bylines, date lines and menu strips; None once the article's first sentence is reached."""
    for line in text.splitlines()[:HEAD_LINES]:
        line = " ".join(line.split())
        if not line or NOT_A_TITLE.search(line):
            continue
        heading = line.lstrip("#").strip() if line.startswith("#") else line
        return heading if looks_like_headline(heading) else None
    return None


LEAD_TITLE_WORDS = 10


def lead_title(text: str) -> str | None:
    """A title for an article without a headline: the first words of its lead ("On April 7, the
    council …"), which read better than a file name; shown, never used as evidence."""
    for line in text.splitlines()[:HEAD_LINES]:
        words = line.split()
        if len(words) >= 4 and not NOT_A_TITLE.search(" ".join(words)):
            cut = words[:LEAD_TITLE_WORDS]
            return " ".join(cut).rstrip(".,;:") + ("…" if len(words) > LEAD_TITLE_WORDS else "")
    return None


def title_from_name(name: str) -> str:
    """A readable title from a file name: separators become spaces."""
    words = re.sub(r"[_\-.]+", " ", name).split()
    return " ".join(words) or name


# -- text --------------------------------------------------------------------------------------------
def decode(raw: bytes) -> str:
    """Bytes as text: UTF-8 when it is, else the encoding charset-normalizer detects; never binary."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        results = from_bytes(raw)
        best = results.best()
        if best is None:
            raise NotText("not text (no character encoding fits)") from None
        # Short texts fit several code pages equally well; like browsers, prefer Western (windows-1252).
        western = any(
            "cp1252" in m.could_be_from_charset and (m.chaos, m.coherence) == (best.chaos, best.coherence)
            for m in results
        )
        text = raw.decode("cp1252") if western else str(best)
    check_text(text)
    return text


def check_text(text: str) -> None:
    """Refuse decoded content that is mostly control characters or symbols: binary, whatever its name."""
    sample = text[:20000]
    if not sample.strip():
        raise NotText("empty (no text)")
    controls = sum(
        1 for ch in sample if ch not in "\n\r\t\f\v" and unicodedata.category(ch) in ("Cc", "Cs", "Co")
    )
    if "\x00" in sample or controls > CONTROL_SHARE * len(sample) or sample.count("\ufffd") > 16:
        raise NotText("binary content, not text")
    visible = [ch for ch in sample if not ch.isspace()]
    letters = sum(1 for ch in visible if ch.isalpha())
    if len(visible) >= 40 and letters < LETTER_SHARE * len(visible):
        raise NotText("mostly symbols, not prose")


def plain_text(raw: bytes) -> Extracted:
    return Extracted(decode(raw))


def markdown(raw: bytes) -> Extracted:
    """Markdown with optional YAML front matter (title, date, source); the body is the document."""
    text = decode(raw)
    if not text.lstrip().startswith("---"):
        return Extracted(text)
    import frontmatter
    import yaml

    try:
        meta, body = frontmatter.parse(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return Extracted(text)
    if not meta:
        return Extracted(text)
    title = str(meta["title"]).strip() if meta.get("title") else None
    when = iso_date(meta.get("date") or meta.get("published"))
    source = str(meta["source"]).strip() if meta.get("source") else None
    author = str(meta["author"]).strip() if meta.get("author") else None
    return Extracted(
        body,
        title=title,
        title_source="front_matter" if title else None,
        date=when,
        date_source="front_matter" if when else None,
        author=author,
        source=source,
    )


def _fallback_html(markup: str) -> tuple[str, str | None]:
    """Visible text of a page trafilatura finds no article in (very short pages, fragments)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("h1") or soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else None
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe", "nav", "footer"]):
        tag.decompose()
    lines = (" ".join(line.split()) for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title


def html(raw: bytes, url: str | None = None) -> Extracted:
    """A web page: the article's main text, its headline, author, site and publish date."""
    markup = decode(raw)
    import trafilatura

    found = trafilatura.bare_extraction(
        markup,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        date_extraction_params={"extensive_search": True, "original_date": True},
    )
    text = (getattr(found, "text", None) or "").strip() if found is not None else ""
    title = (getattr(found, "title", None) or "").strip() if found is not None else ""
    if not text:
        text, fallback_title = _fallback_html(markup)
        title = title or (fallback_title or "")
    when = iso_date(getattr(found, "date", None)) if found is not None else None
    if when is None:
        when = _declared_date(markup)
    return Extracted(
        text,
        title=title or None,
        title_source="metadata" if title else None,
        date=when,
        date_source="metadata" if when else None,
        author=(getattr(found, "author", None) or None) if found is not None else None,
        source=(getattr(found, "url", None) or url) if found is not None else url,
    )


def _declared_date(markup: str) -> str | None:
    """The publish date the page's own metadata declares, even when later than today's date (htmldate
    otherwise drops dates it has not reached yet); the text is not searched here."""
    from htmldate import find_date

    found = find_date(markup, extensive_search=False, original_date=True, max_date="2099-12-31")
    return iso_date(found) if found else None


def html_fragment_text(markup: str) -> str:
    """A feed item's HTML content as plain text, paragraphs kept apart."""
    if "<" not in markup:
        return markup.strip()
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg", "iframe"]):
        tag.decompose()
    lines = (" ".join(line.split()) for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def feed(raw: bytes) -> list[Extracted]:
    """RSS/Atom: one document per item, its full content else its summary."""
    import feedparser

    parsed = feedparser.parse(raw)
    if not parsed.entries:
        if parsed.get("bozo") and not parsed.get("feed"):
            raise NotText("not an RSS or Atom feed (unparseable XML)")
        raise NotText("no items (not an RSS or Atom feed?)")
    items = []
    for position, entry in enumerate(parsed.entries, 1):
        contents = entry.get("content") or []
        body = contents[0].get("value", "") if contents else entry.get("summary", "")
        text = html_fragment_text(body or "")
        title = html_fragment_text(entry.get("title", "") or "") or None
        if not text.strip():
            text = title or ""
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        when = date(*stamp[:3]).isoformat() if stamp else iso_date(entry.get("published"))
        key = (entry.get("id") or entry.get("link") or "").strip() or str(position)
        items.append(
            Extracted(
                text,
                title=title,
                title_source="feed" if title else None,
                date=when,
                date_source="feed" if when else None,
                author=entry.get("author") or None,
                source=entry.get("link") or None,
                item_id=" ".join(key.split()),
            )
        )
    return items


def looks_like_feed(raw: bytes) -> bool:
    """An XML file or fetched body that declares an RSS, RDF or Atom root near its start."""
    head = raw[:2048].lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head
