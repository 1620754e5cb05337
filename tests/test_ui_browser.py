"""End to end in a real browser: Playwright drives Debian's Chromium against `rag ui` over the seeds.

Screenshots go to artifacts/ui/ (what a person sees: the chat with a cited answer and its sources).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.uiserver import ROOT, running_ui

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
UPLOADED = """Ferry service returns to Callow Sound

Callow Sound, 2 May 2025. The harbour board restarted the island ferry on Friday after a six-week
repair of the landing ramp. Captain Ines Arvelo said the crossing now takes 25 minutes and that two
extra sailings will run on market days.
"""


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def ui_index(tmp_path, seeds_dir) -> Path:
    from tests.helpers import rag

    index = tmp_path / "index"
    result = rag("ingest", str(seeds_dir), "--index", str(index))
    assert result.returncode == 0, result.stderr
    return index


def latest_answer(page: Any, panel: str) -> dict[str, Any]:
    payload = page.eval_on_selector(f"{panel} .turn-sources:not([hidden]) .answer-json", "e => e.textContent")
    return json.loads(payload)


def cited(result: dict[str, Any]) -> list[dict[str, Any]]:
    if "sentences" in result:
        seen = {c["n"]: c for s in result["sentences"] for c in s["citations"]}
        return [seen[n] for n in sorted(seen)]
    return result["citations"] or result["closest"]


def assert_sources_visible(page: Any, panel: str, result: dict[str, Any]) -> list[str]:
    """Each cited passage is visible beside the answer, with its sentence marked, title and date."""
    group = page.locator(f"{panel} .turn-sources:not([hidden])")
    ids = []
    for citation in cited(result):
        source = group.locator(f'.source[data-n="{citation["n"]}"]')
        assert source.count() == 1
        assert source.is_visible()
        support = source.locator("mark.support")
        assert support.is_visible()
        assert squash(support.inner_text()) == squash(citation["text"])
        assert squash(citation["title"])[:20] in squash(source.locator(".meta").inner_text())
        if citation["date"]:
            assert citation["date"] in source.locator(".meta").inner_text()
        ids.append(source.get_attribute("id"))
    return ids


def ask(page: Any, question: str, turn: int) -> dict[str, Any]:
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        f"document.querySelectorAll('#sources .turn-sources').length >= {turn}", timeout=120_000
    )
    page.wait_for_timeout(300)
    return latest_answer(page, "#sources")


def test_chat_sources_markers_followup_upload_and_summary(browser, ui_index, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_ui(ui_index) as (url, _proc):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        outside: list[str] = []
        page.on(
            "request",
            lambda r: (
                None
                if re.match(r"^(https?://(127\.0\.0\.1|localhost)[:/]|data:|blob:)", r.url)
                else outside.append(r.url)
            ),
        )
        page.goto(url)
        page.wait_for_selector("#question textarea")

        # 0. The page says which library it serves and how many articles it holds; "As of" fits.
        assert squash(page.inner_text("#library-heading")) == f"News library {ui_index.name} · 5 articles"
        box, column = page.locator("#as-of input").first.bounding_box(), page.locator("#as-of").bounding_box()
        assert box and column and box["x"] + box["width"] <= column["x"] + column["width"] + 1

        # 1. A question: the verified answer replaces the draft; every citation is shown beside it.
        first = ask(page, "What did Zelensky and Trump discuss on Independence Day?", 1)
        assert first["mode"] in ("generated", "extractive"), first
        assert first["citations"], first
        chat_text = squash(page.inner_text("#chat"))
        assert squash(re.sub(r"\s*\[\d+\]", "", first["answer"]))[:40] in re.sub(r"\s*\[\d+\]", "", chat_text)
        source_ids = assert_sources_visible(page, "#sources", first)
        page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)
        labels = page.locator("#chat [aria-label]").evaluate_all("els => els.map(e => e.ariaLabel)")
        assert any("message" in label for label in labels), labels
        assert not any("<" in label for label in labels), labels  # screen readers get no markup

        # 2. Clicking the last marker marks exactly that passage.
        markers = page.locator("#chat .cite")
        assert markers.count() >= 1
        last = markers.nth(markers.count() - 1)
        n = last.get_attribute("data-n")
        last.click()
        page.wait_for_function("document.querySelectorAll('#sources .source.marked').length === 1")
        marked = page.locator("#sources .source.marked")
        assert marked.count() == 1
        assert marked.get_attribute("data-n") == n
        assert marked.get_attribute("id") in source_ids
        assert marked.is_visible()
        page.screenshot(path=str(ARTIFACTS / "chat-marker-clicked.png"), full_page=True)

        # 3. "Open the article" shows the full text with the passage marked.
        marked.locator("details.article summary").click()
        article = marked.locator(".article-text")
        assert article.is_visible()
        passage = article.locator("mark.passage")
        cited_n = next(c for c in first["citations"] if str(c["n"]) == n)
        assert squash(passage.inner_text()) == squash(cited_n["text"])

        # 4. A follow-up is answered from the history.
        follow = ask(page, "How long did their conversation last?", 2)
        assert follow["question"] == "How long did their conversation last?"
        assert not follow["abstained"], follow
        assert "40" in follow["answer"], follow
        assert_sources_visible(page, "#sources", follow)
        assert page.locator("#sources .turn-sources").count() == 2
        page.screenshot(path=str(ARTIFACTS / "chat-follow-up.png"), full_page=True)

        # 4b. "As of" beside the question box: today by default; "this week" is read against it.
        as_of = page.locator("#as-of input").first
        assert as_of.input_value().startswith(date.today().isoformat())
        as_of.fill("2025-01-01")
        as_of.press("Enter")
        page.wait_for_timeout(500)
        dated = ask(page, "What did Zelensky and Trump discuss this week?", 3)
        assert dated["abstained"] and "this week" in dated["answer"], dated
        assert dated["time_window"]["since"] == "2024-12-30", dated

        # 5. Upload a file in the library: it is indexed and listed; again: "already indexed".
        upload = tmp_path / "callow ferry.txt"
        upload.write_text(UPLOADED, encoding="utf-8")
        page.get_by_role("tab", name="Library").click()
        page.set_input_files("#upload input[type=file]", str(upload))
        page.wait_for_function(
            "document.querySelector('#upload-status') && "
            "document.querySelector('#upload-status').innerText.includes('callow ferry.txt: indexed')",
            timeout=120_000,
        )
        assert "indexed as callow ferry" in page.inner_text("#upload-status")
        page.wait_for_function(
            "document.querySelector('#docs').innerText.includes('callow ferry')", timeout=30_000
        )
        assert "Ferry service returns to Callow Sound" in page.inner_text("#docs")
        # The article just added is the first row, and the heading counts it.
        first_row = page.locator('#docs [role=row][aria-rowindex="2"]').first.inner_text()
        assert "Ferry service returns to Callow Sound" in first_row, first_row
        page.wait_for_function(
            "document.querySelector('#library-heading').innerText.includes('6 articles')", timeout=30_000
        )
        page.screenshot(path=str(ARTIFACTS / "library.png"), full_page=True)

        # 6. A summary of the whole library, with the same citation display.
        page.get_by_role("tab", name="Summaries").click()
        # The article picker shows only for one article, and lists titles, not ids.
        assert not page.locator("#summary-article").is_visible()
        assert not page.locator("#summary-topic").is_visible()
        page.get_by_label("One article").check()
        page.wait_for_selector("#summary-article", state="visible")
        page.locator("#summary-article input").click()
        page.wait_for_selector("[role=option]", timeout=10_000)
        options = page.get_by_role("option").all_inner_texts()
        assert any("Ferry service returns to Callow Sound" in o for o in options), options
        assert not any(o.strip() == "callow ferry" for o in options), options
        page.keyboard.press("Escape")
        page.get_by_label("Whole library").check()
        page.wait_for_selector("#summary-article", state="hidden")
        page.click("#summarize")
        page.wait_for_selector("#summary-sources .turn-sources", timeout=300_000)
        summary = latest_answer(page, "#summary-sources")
        assert summary["sentences"], summary
        assert "callow ferry" in summary["documents"]
        # The same timeline as the CLI: one dated section per event, in time order.
        assert len(summary["events"]) >= 2, summary["summary"]
        assert page.locator("#summary .event").count() == len(summary["events"])
        shown = page.locator("#summary .event-date").all_inner_texts()
        assert "March 2025" in shown and "July 4, 2025" in shown, shown
        assert page.locator("#summary .cite").count() >= len(cited(summary))
        assert_sources_visible(page, "#summary-sources", summary)
        page.locator("#summary .cite").first.click()
        assert page.locator("#summary-sources .source.marked").count() == 1
        page.screenshot(path=str(ARTIFACTS / "summary.png"), full_page=True)

        # 7. The Eval tab's default run produces a metric table, and no server path is shown.
        page.get_by_role("tab", name="Eval").click()
        page.click("#run-eval")
        page.wait_for_function(
            "(document.querySelector('#eval-note')?.innerText || '').includes('items')",
            timeout=600_000,
        )
        assert "coverage" in page.inner_text("#eval-metrics")
        assert str(ROOT) not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "eval.png"), full_page=True)

        assert outside == [], f"the page fetched from outside this machine: {outside}"
        context.close()
    # The server said nothing but its own lines: no Gradio warnings, no share hint.
    log = "".join(p.read_text() for p in ui_index.parent.glob("ui-*.log"))
    assert "Warning" not in log and "share=True" not in log, log
