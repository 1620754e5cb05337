"""News formats: pages, feeds, front matter, encodings and dates, loaded without models."""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path

import pytest

from index import formats
from index.loaders import Candidate, SkipFile, load_document, load_documents
from tests.helpers import PAGE, RSS_NO_IDS

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Courier</title><id>urn:courier</id>
<updated>2031-03-05T10:00:00Z</updated>
<entry><title>Ferry timetable changes</title><id>urn:courier:ferry-42</id>
<updated>2031-03-05T10:00:00Z</updated><link href="https://courier.invalid/ferry"/>
<content type="html">&lt;p&gt;The island ferry leaves at seven instead of six from Monday.&lt;/p&gt;</content>
</entry></feed>"""


def load(tmp_path: Path, name: str, data: bytes | str) -> list:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return load_documents(Candidate(path, path.stem), max_file_mb=5)


def test_a_news_page_gives_its_article_headline_and_publish_date(tmp_path):
    [doc] = load(tmp_path, "quay.html", PAGE)
    assert doc.title == "Fenwick quay closes for repairs after winter storms"
    assert (doc.title_source, doc.date, doc.date_source) == ("metadata", "2026-03-04", "metadata")
    assert "eleven weeks" in doc.text and "north pier" in doc.text
    assert "Subscribe" not in doc.text and "Cookie settings" not in doc.text and "Opinion" not in doc.text


def test_a_declared_publish_date_later_than_today_is_kept(tmp_path):
    [doc] = load(tmp_path, "later.html", PAGE.replace("2026-03-04T08:15", "2031-03-04T08:15"))
    assert (doc.date, doc.date_source) == ("2031-03-04", "metadata")


def test_rss_items_without_guid_or_link_are_numbered_documents(tmp_path):
    docs = load(tmp_path, "briefs.rss", RSS_NO_IDS)
    assert [d.doc_id for d in docs] == ["briefs/1", "briefs/2", "briefs/3"]
    assert [d.title for d in docs] == [
        "Bakery wins regional prize",
        "Library extends opening hours",
        "Cycle path repainted",
    ]
    assert docs[0].date == "2031-03-03" and docs[0].date_source == "feed"
    assert docs[1].date is None
    assert "<b>" not in docs[2].text and "repainted" in docs[2].text


def test_atom_entries_are_keyed_by_their_id(tmp_path):
    [doc] = load(tmp_path, "courier.xml", ATOM)
    assert doc.doc_id == "courier/urn:courier:ferry-42"
    assert doc.date == "2031-03-05" and doc.source == "https://courier.invalid/ferry"
    assert "seven instead of six" in doc.text


def test_xml_that_is_not_a_feed_is_skipped(tmp_path):
    with pytest.raises(SkipFile, match="feed"):
        load(tmp_path, "sitemap.xml", "<?xml version='1.0'?><urlset><url><loc>x</loc></url></urlset>")


def test_markdown_front_matter_gives_title_date_and_source(tmp_path):
    text = (
        "---\ntitle: Harbour board approves new crane\ndate: 2031-02-27\nsource: https://courier.invalid/crane\n"
        "---\n\nThe harbour board approved a new crane for the container berth on Thursday.\n"
    )
    [doc] = load(tmp_path, "crane.md", text)
    assert (doc.title, doc.title_source) == ("Harbour board approves new crane", "front_matter")
    assert (doc.date, doc.date_source) == ("2031-02-27", "front_matter")
    assert doc.source == "https://courier.invalid/crane"
    assert not doc.text.lstrip().startswith("---") and "new crane" in doc.text


def test_broken_front_matter_keeps_the_whole_file(tmp_path):
    [doc] = load(tmp_path, "odd.md", "---\ntitle: [unclosed\n---\nBody text about the quay repairs.\n")
    assert "quay repairs" in doc.text


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Quay reopens\nPublished 2031-04-01\n\nWork finished on 28 March 2031.",
            ("2031-04-01", "published_line"),
        ),
        ("Quay reopens\nUpdated: April 2, 2031\n\nThe quay reopened.", ("2031-04-02", "published_line")),
        ("FENWICK, March 30, 2031 - The quay reopened after repairs.", ("2031-03-30", "lead")),
        (
            "Quay reopens\n\nThe quay reopened. " + "Work went on. " * 60 + "A plan from 1 May 2030.",
            (None, None),
        ),
    ],
)
def test_a_document_date_comes_from_the_published_line_then_the_lead(tmp_path, text, expected):
    doc = load_document(Candidate(_write(tmp_path, "a.txt", text), "a"), max_file_mb=1)
    assert (doc.date, doc.date_source) == expected


def test_a_lead_sentence_is_not_a_title(tmp_path):
    lead = "On Tuesday the harbour board of Fenwick said that the old quay would close for eleven weeks."
    doc = load_document(Candidate(_write(tmp_path, "quay_closure-2031.txt", lead), "q"), max_file_mb=1)
    assert (doc.title, doc.title_source) == ("quay closure 2031", "filename")
    doc = load_document(Candidate(_write(tmp_path, "h.md", "# Quay closes\n\n" + lead), "h"), max_file_mb=1)
    assert (doc.title, doc.title_source) == ("Quay closes", "heading")
    short = "Quay closes for repairs. What it means for ferries.\nPublished 2031-03-04\n\n" + lead
    doc = load_document(Candidate(_write(tmp_path, "s.txt", short), "s"), max_file_mb=1)
    assert (doc.title, doc.title_source) == ("Quay closes for repairs. What it means for ferries.", "heading")


def test_encodings_are_detected_not_guessed_from_a_bom(tmp_path):
    latin = "Les pêcheurs de Fenwick déchargent leurs prises au quai nord depuis lundi matin."
    [doc] = load(tmp_path, "latin.txt", latin.encode("cp1252"))
    assert doc.text == latin
    [doc] = load(tmp_path, "u16.txt", latin.encode("utf-16"))
    assert doc.text.strip("\ufeff") == latin


def test_malformed_utf16_and_random_bytes_are_skipped_whatever_the_name(tmp_path):
    import random

    bad16 = codecs.BOM_UTF16_LE + b"\x00\xd8" * 40 + b"A\x00"  # lone surrogates, odd length
    with pytest.raises(SkipFile):
        load(tmp_path, "bad16.txt", bad16)
    noise = random.Random(7).randbytes(6000)
    for name in ("noise.html", "noise.txt", "noise.md", "noise.xml"):
        with pytest.raises(SkipFile):
            load(tmp_path, name, noise)


def test_library_warnings_become_report_lines_not_output(tmp_path, capsys):
    from index.loaders import _guarded

    lines: list[str] = []

    def noisy() -> int:
        warnings.warn("Some characters could not be decoded", UserWarning, stacklevel=1)
        import logging

        logging.getLogger("trafilatura").warning("parse trouble\nsecond line")
        return 1

    assert _guarded("html", noisy, lines.append) == 1
    assert lines == ["warning: Some characters could not be decoded", "warning: parse trouble second line"]
    captured = capsys.readouterr()
    assert "parse trouble" not in captured.err and "decoded" not in captured.err


def test_any_parser_failure_is_a_skip_with_its_reason():
    from index.loaders import _guarded

    def broken() -> None:
        raise KeyError("deep inside a parser")

    with pytest.raises(SkipFile, match=r"unreadable html \(KeyError\)"):
        _guarded("html", broken, lambda _line: None)


def test_check_text_refuses_symbol_soup_but_keeps_figures_in_prose():
    with pytest.raises(formats.NotText):
        formats.check_text("#$%^&*()_+{}|:<>?~" * 20)
    formats.check_text("The board spent 2.4 million crowns in 2031, up 12% from 2030 (2.1 million).")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_pdf_sentence_wrapped_at_the_margin_is_one_sentence(tmp_path):
    from index.chunking import sentence_spans
    from index.loaders import join_wrapped_lines, pdf_to_text
    from tests.helpers import make_pdf

    sentence = (
        "The regional water board said on Monday that household use rose to 162 litres a day in the dry "
        "months, an increase of 4 percent over the previous summer, and asked residents to water gardens "
        "only after dark."
    )
    pdf = tmp_path / "water.pdf"
    make_pdf(pdf, f"Annual Water Report\n\n{sentence} The board will publish weekly figures.")
    text, starts = pdf_to_text(pdf, pdf.read_bytes())
    assert starts == [0] and text.startswith("Annual Water Report\n")  # the heading stays its own line
    assert sentence in text
    assert sentence in [s.text for s in sentence_spans(text)]
    # Page numbers and paragraph breaks stay; a lowercase continuation joins even a short line.
    line = "The first line of a long paragraph that the layout wrapped at the"
    page = f"Results\n{line}\nright margin.\n\n12\nNext."
    assert join_wrapped_lines(page) == f"Results\n{line} right margin.\n\n12\nNext."


def test_an_article_without_a_headline_gets_the_first_words_of_its_lead():
    lead = "On Tuesday the harbour board voted to rebuild the north quay wall before winter storms."
    text = f"By Mara Olsen\n{lead}\n"
    assert formats.lead_title(text) == "On Tuesday the harbour board voted to rebuild the north…"
    assert formats.lead_title("Short line.\nThe ferry runs again.") == "The ferry runs again"
    assert formats.lead_title("\n\n") is None
