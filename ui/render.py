"""HTML for the web page: answers with clickable [n] markers and the sources panel beside them.

Pure functions over the answer/summary JSON, so the page's promises (every cited passage shown
with its title, date and highlighted sentence; [n] marks exactly passage n) are unit-testable
without a browser. Everything from documents or the model is escaped here: an article cannot
inject markup into the page.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
CONTEXT_CHARS = 240  # text shown around the supporting sentence
ARTICLE_CHARS = 60_000  # longer articles open as a window around the passage

DocumentText = Callable[[str], str | None]

HEAD = r"""
<script>
(() => {
  function showCitation(turn, n) {
    document.querySelectorAll('.turn-sources').forEach((group) => {
      group.hidden = group.dataset.turn !== turn;
    });
    document.querySelectorAll('.source.marked').forEach((s) => s.classList.remove('marked'));
    const source = document.getElementById(`src-${turn}-${n}`);
    if (source) {
      source.classList.add('marked');
      source.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    }
  }
  function onActivate(event) {
    const marker = event.target.closest && event.target.closest('.cite');
    if (!marker) return;
    if (event.type === 'keydown' && event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    event.stopPropagation();
    showCitation(marker.dataset.turn, marker.dataset.n);
  }
  document.addEventListener('click', onActivate, true);
  document.addEventListener('keydown', onActivate, true);

  // Chat answers arrive as plain text with [n] markers (the chat's screen-reader label is the raw
  // message); each becomes a button here, bound to the sources group whose answer it is.
  const MARKS = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
  const squash = (text) => text.replace(/\s+/g, ' ').trim();
  function turnOf(text) {
    const groups = document.querySelectorAll('#sources .turn-sources');
    for (let i = groups.length - 1; i >= 0; i--) {
      const data = groups[i].querySelector('.answer-json');
      let answer = '';
      try { answer = JSON.parse(data ? data.textContent : '{}').answer || ''; } catch (e) { continue; }
      if (answer && squash(text).startsWith(squash(answer).slice(0, 80))) return groups[i].dataset.turn;
    }
    return null;
  }
  function button(turn, n) {
    const span = document.createElement('span');
    Object.assign(span, {className: 'cite', tabIndex: 0, title: `Show source ${n}`, textContent: `[${n}]`});
    span.setAttribute('role', 'button');
    span.dataset.turn = turn;
    span.dataset.n = n;
    return span;
  }
  function upgrade() {
    document.querySelectorAll('#chat [data-testid="bot"] .message-content').forEach((box) => {
      if (box.querySelector('.cite') || !new RegExp(MARKS.source).test(box.textContent)) return;
      const turn = turnOf(box.textContent);
      if (!turn) return;
      const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach((node) => {
        const text = node.textContent;
        if (!new RegExp(MARKS.source).test(text)) return;
        const parts = document.createDocumentFragment();
        let last = 0;
        for (const m of text.matchAll(MARKS)) {
          parts.append(text.slice(last, m.index));
          m[1].split(',').forEach((n) => parts.append(button(turn, n.trim())));
          last = m.index + m[0].length;
        }
        parts.append(text.slice(last));
        node.replaceWith(parts);
      });
    });
  }
  new MutationObserver(upgrade).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""

CSS = """
#as-of { min-width: 240px !important; }
#as-of .timebox { min-width: 0; }
#as-of input { min-width: 0; flex: 1 1 auto; width: 100%; box-sizing: border-box; }
.cite { color: #1d4ed8; cursor: pointer; font-weight: 600; font-size: 0.85em; vertical-align: super;
        padding: 0 1px; border-radius: 3px; }
.cite:hover, .cite:focus { background: #dbeafe; outline: none; }
.draft { color: #6b7280; font-style: italic; }
#sources { max-height: 640px; overflow-y: auto; }
.turn-sources h4 { margin: 4px 0 8px; font-size: 0.95em; }
.source { border: 1px solid #e5e7eb; border-left: 4px solid #d1d5db; border-radius: 6px; padding: 8px 10px;
          margin-bottom: 8px; font-size: 0.9em; line-height: 1.45; }
.source.closest { border-left-color: #f59e0b; }
.source.marked { border-color: #2563eb; border-left-color: #2563eb; background: #eff6ff;
                 box-shadow: 0 0 0 2px #93c5fd; }
.source .meta { font-weight: 600; margin-bottom: 4px; }
.source .meta .num { color: #1d4ed8; margin-right: 4px; }
.source .date { color: #6b7280; font-weight: 400; }
.source mark.support { background: #fde68a; padding: 0 1px; }
.source details.article summary { cursor: pointer; color: #1d4ed8; margin-top: 6px; }
.source .article-text { white-space: pre-wrap; max-height: 360px; overflow-y: auto; margin-top: 6px;
                        padding: 6px; background: #fafafa; border-radius: 4px; }
.source .article-text mark { background: #fde68a; }
.notice { color: #6b7280; font-size: 0.9em; }
.summary .event h4 { margin: 12px 0 4px; } .summary .event-date { color: #1d4ed8; }
"""


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _squash(text: str) -> str:
    return " ".join(text.split())


def with_markers(text: str, turn: str) -> str:
    """Escape an answer and turn each [n] (or [1, 2]) into markers that bring passage n into view."""

    def marker(match: re.Match[str]) -> str:
        numbers = [x.strip() for x in match.group(1).split(",")]
        return "".join(
            f'<span class="cite" role="button" tabindex="0" data-turn="{esc(turn)}" data-n="{n}" '
            f'title="Show source {n}">[{n}]</span>'
            for n in numbers
        )

    return MARKERS.sub(marker, esc(text))


def answer_html(answer: dict[str, Any], turn: str) -> str:
    """An answer for the chat: escaped text with plain [n] markers and no markup, because the
    chat's screen-reader label is the message's raw content. The page's script turns the markers
    into buttons once the answer's sources (the group of `turn`) are on the page."""
    body = esc(answer["answer"])
    if answer.get("mode") == "extractive":
        body += "\n\n(Quoted from the articles: the model's own wording could not be verified.)"
    return body


def draft_html(draft: str) -> str:
    return f'<span class="draft">{esc(draft) or "…"}</span>'


def _window(doc_text: str, start: int, end: int) -> tuple[str, str, str]:
    """Text before, the sentence, and text after, cut at word boundaries."""
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(doc_text), end + CONTEXT_CHARS)
    before, sentence, after = doc_text[lo:start], doc_text[start:end], doc_text[end:hi]
    if lo > 0:
        before = "…" + before[before.find(" ") + 1 :] if " " in before else before
    if hi < len(doc_text):
        after = after[: after.rfind(" ")] + "…" if " " in after else after
    return before, sentence, after


def _article_view(doc_text: str, start: int, end: int) -> str:
    lo, hi = 0, len(doc_text)
    if hi > ARTICLE_CHARS:
        lo = max(0, start - ARTICLE_CHARS // 2)
        hi = min(len(doc_text), lo + ARTICLE_CHARS)
    parts = [
        "…" if lo > 0 else "",
        esc(doc_text[lo:start]),
        f'<mark class="passage">{esc(doc_text[start:end])}</mark>',
        esc(doc_text[end:hi]),
        "…" if hi < len(doc_text) else "",
    ]
    return "".join(parts)


def source_html(
    turn: str, citation: dict[str, Any], document_text: DocumentText, closest: bool = False
) -> str:
    n = citation["n"]
    doc_text = document_text(citation["doc_id"])
    start, end = int(citation["start"]), int(citation["end"])
    sentence = citation["text"]
    located = doc_text is not None and _squash(doc_text[start:end]) == _squash(sentence)
    if doc_text is not None and located:
        before, found, after = _window(doc_text, start, end)
        passage = f'{esc(before)}<mark class="support">{esc(found)}</mark>{esc(after)}'
        article = (
            '<details class="article"><summary>Open the article</summary>'
            f'<div class="article-text">{_article_view(doc_text, start, end)}</div></details>'
        )
    else:  # the document changed or was removed since: show what was cited, nothing more
        passage = f'<mark class="support">{esc(sentence)}</mark>'
        article = '<div class="notice">The article is no longer in the library.</div>'
    where = ", ".join(
        x for x in (citation.get("date"), f"p. {citation['page']}" if citation.get("page") else None) if x
    )
    kind = "source closest" if closest else "source"
    return (
        f'<div class="{kind}" id="src-{esc(turn)}-{n}" data-n="{n}" data-doc="{esc(citation["doc_id"])}">'
        f'<div class="meta"><span class="num">[{n}]</span>{esc(citation["title"] or citation["doc_id"])}'
        + (f' <span class="date">— {esc(where)}</span>' if where else "")
        + f'</div><div class="passage">{passage}</div>{article}</div>'
    )


def turn_sources_html(
    turn: str, result: dict[str, Any], document_text: DocumentText, heading: str = ""
) -> str:
    """The sources for one answer or summary; the answer's JSON rides along for tools and tests."""
    if "sentences" in result:  # a summary: citations live on its sentences
        seen: dict[int, dict[str, Any]] = {}
        for sentence in result["sentences"]:
            for c in sentence["citations"]:
                seen.setdefault(c["n"], c)
        for line in result.get("also_reported", []):
            seen.setdefault(line["citation"]["n"], line["citation"])
        citations, closest = [seen[n] for n in sorted(seen)], []
    else:
        citations, closest = result.get("citations", []), result.get("closest", [])
    parts = [f'<div class="turn-sources" data-turn="{esc(turn)}">']
    if heading:
        parts.append(f"<h4>{esc(heading)}</h4>")
    if citations:
        parts.append(f"<h4>Sources ({len(citations)})</h4>")
        parts.extend(source_html(turn, c, document_text) for c in citations)
    elif closest:
        parts.append("<h4>Closest passages (not cited: no answer found with enough confidence)</h4>")
        parts.extend(source_html(turn, c, document_text, closest=True) for c in closest)
    else:
        parts.append('<div class="notice">No passages.</div>')
    # The answer's JSON for tools and tests, as hidden text: a <script> in a gr.HTML value makes
    # Gradio warn on every update (it would not run anyway).
    payload = esc(json.dumps(result, ensure_ascii=False))
    parts.append(f'<pre class="answer-json" hidden>{payload}</pre></div>')
    return "".join(parts)


def sources_panel(turns: Sequence[str]) -> str:
    """All turns' sources, only the latest shown; a marker click on an older answer shows its own."""
    if not turns:
        return (
            '<div class="notice">Sources for each answer appear here, '
            "with the supporting sentence marked.</div>"
        )
    hidden = [
        t.replace('<div class="turn-sources"', '<div class="turn-sources" hidden', 1) for t in turns[:-1]
    ]
    return "".join([*hidden, turns[-1]])


def _event_date(event: dict[str, Any]) -> str:
    from datetime import date

    from rag.events import EventDate

    if not event.get("date"):
        return "Undated"
    return EventDate(date.fromisoformat(event["date"]), event.get("date_precision") or "day", "").spelled()


def summary_progress_html(done: int, total: int) -> str:
    """What a summary shows before its first event is written."""
    return f'<div class="notice">Reading articles: {done} of {total}…</div>'


def summary_html(summary: dict[str, Any], turn: str, partial: bool = False) -> str:
    """Several events as a timeline (date, heading, paragraph); one event as its paragraph.
    `partial`: the events written so far, while the rest are being written."""
    events = summary.get("events") or []
    also = summary.get("also_reported") or []
    if len(events) > 1 or also or partial:
        body = "".join(
            f'<section class="event"><h4><span class="event-date">{esc(_event_date(e))}</span> — '
            f"{esc(e['heading'])}</h4><p>{with_markers(e['text'], turn)}</p></section>"
            for e in events
        )
        if also:
            lines = "".join(f"<li>{with_markers(a['text'], turn)}</li>" for a in also)
            body += f'<section class="also-reported"><h4>Also reported</h4><ul>{lines}</ul></section>'
    else:
        body = with_markers(summary["summary"], turn)
    if partial:
        return f'<div class="summary">{body}</div><div class="notice">Writing the next event…</div>'
    docs = len(summary.get("documents", []))
    took = summary.get("timings", {}).get("total_s")
    meta = f"{docs} article{'s' if docs != 1 else ''}" + (f", {took:.1f} s" if took is not None else "")
    return f'<div class="summary">{body}</div><div class="notice">{esc(meta)}</div>'
