"""The Gradio page: chat with streamed, verified and cited answers; library; summaries; settings; eval.

A thin shell like the CLI: handlers parse input, call the same `App` (one shared model instance;
model work is queued through one concurrency slot, so concurrent sessions wait their turn instead
of racing), and format results with ui.render. Uploads go through `App.ingest`, which takes the
same writer lock as `rag ingest`.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr  # noqa: E402

from index.cpu import ThreadPolicy  # noqa: E402
from index.errors import UserError  # noqa: E402
from index.loaders import SUPPORTED_SUFFIXES  # noqa: E402
from rag.factory import App  # noqa: E402
from rag.records import Answer  # noqa: E402
from rag.summarize import Event  # noqa: E402
from ui import render  # noqa: E402

MODEL_SLOT = "model"  # one concurrency slot for everything that runs a model
MAX_TURNS_SHOWN = 20
EVAL_SETS_DIR = Path(__file__).resolve().parent.parent / "eval" / "sets"


class Stopped(Exception):
    """Raised from the token callback when the user presses Stop."""


def safe_upload_name(name: str) -> str:
    """A plain file name for an upload: no folders, no '..', no control characters.

    Browsers send only a base name, but a hand-made request can send anything; whatever arrives,
    the copy lands directly inside the library's uploads folder.
    """
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip().lstrip(".")
    if not base or Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UserError(
            f"{name!r} is not a supported file", f"upload {', '.join(sorted(SUPPORTED_SUFFIXES))} files"
        )
    return base[:200]


NOT_QUESTION_SETS = frozenset({"faithfulness.jsonl"})
SERVER_PATH = re.compile(r"(?:/[^/\s:'\"()]+)+/([^/\s:'\"()]+)")


def without_paths(text: str) -> str:
    """A message for the page without the server's folders: a file is named by its own name."""
    return SERVER_PATH.sub(r"\1", text)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return without_paths(f"error: {exc}")
    return without_paths(f"error: unexpected {type(exc).__name__}: {exc}")


class WebApp:
    """Handlers bound to one App; the Blocks layout is built in `build`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.recent: set[str] = set()  # the last upload's documents, listed first
        self.stop_flags: dict[str, threading.Event] = {}

    # -- shared ---------------------------------------------------------------------------------
    def document_text(self, doc_id: str) -> str | None:
        try:
            return self.app.store(verify=False).document_text(doc_id)
        except (UserError, OSError):
            return None

    def documents(self, search: str = "") -> list[list[Any]]:
        """The library, newest first, with what was just added on top; `search` filters by id or title."""
        listed = self.app.store(verify=False).documents().values()
        needle = search.strip().casefold()
        records = [r for r in listed if not needle or needle in f"{r.doc_id} {r.shown_title()[0]}".casefold()]
        records.sort(key=lambda r: r.doc_id)
        records.sort(key=lambda r: r.date or "", reverse=True)
        records.sort(key=lambda r: r.doc_id not in self.recent)
        return [[r.shown_title()[0], r.date or "", r.n_chunks, r.kind, r.doc_id] for r in records]

    def doc_choices(self) -> list[tuple[str, str]]:
        """(what a person reads, the id the handlers take): the title and date, not a hash."""
        return [
            (f"{title} · {day or 'undated'}", doc_id) for title, day, _n, _kind, doc_id in self.documents()
        ]

    def heading(self) -> str:
        """Which library the page serves and how big it is, for the top of every tab."""
        index_dir = self.app.settings.index_dir
        try:
            count = len(self.app.store(verify=False).documents())
        except (UserError, OSError):
            count = 0
        return f"## News library `{index_dir.name}` · {count} article{'s' if count != 1 else ''}"

    def model_choices(self) -> list[tuple[str, str]]:
        from rag.models import installed_models

        rows = installed_models(self.app.settings.data_dir)
        return [(f"{r['name']} ({r['role']})", r["path"]) for r in rows if r["path"] and "chat" in r["role"]]

    def model_info(self) -> str:
        s = self.app.settings
        if s.llm_url:
            return f"**Model:** OpenAI-compatible server at `{s.llm_url}`"
        try:
            path = self.app.chat_model_path()
        except UserError as exc:
            return f"**Model:** {exc}"
        gpu = "on" if self.app.gpu_layers else "off (CPU)"
        threads = ThreadPolicy(s.n_threads).describe()
        return (
            f"**Model:** `{path.name}` · **reads:** {self.app.chat_reads()} · **GPU offload:** {gpu} · "
            f"**threads:** {threads} · **context:** {s.n_ctx} tokens  \n**Library:** `{s.index_dir}`"
        )

    # -- chat -----------------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        display: list[dict[str, Any]],
        history: list[list[str]],
        turns: list[str],
        k: int,
        max_tokens: int,
        temperature: float,
        as_of: str | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        message = (message or "").strip()
        if not message:
            yield gr.update(), gr.update(), history, turns, gr.update()
            return
        stop = self.stop_flags.setdefault(request.session_hash or "", threading.Event())
        stop.clear()
        turn = f"c{len(turns) + 1}-{int(time.time() * 1000) % 100000}"
        display = [*display, {"role": "user", "content": render.esc(message)}]
        display.append({"role": "assistant", "content": render.draft_html("")})
        yield display, render.sources_panel(turns), history, turns, ""

        tokens: queue.Queue[str] = queue.Queue()
        outcome: dict[str, Any] = {}

        def on_token(piece: str) -> None:
            if stop.is_set():
                raise Stopped
            tokens.put(piece)

        def work() -> None:
            try:
                self.app.follow_index()
                opts = self.app.answer_options(
                    k=int(k),
                    max_tokens=int(max_tokens),
                    temperature=float(temperature),
                    as_of=parse_day(as_of),
                )
                pairs = [(q, a) for q, a in history]
                outcome["answer"] = self.app.answerer.ask(message, opts, history=pairs, on_token=on_token)
            except Stopped:
                outcome["stopped"] = True
            except Exception as exc:  # shown as one line in the chat, never a traceback
                outcome["error"] = one_line(exc)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        draft = ""
        last = 0.0
        while worker.is_alive() or not tokens.empty():
            try:
                draft += tokens.get(timeout=0.05)
            except queue.Empty:
                continue
            if time.monotonic() - last > 0.1:
                last = time.monotonic()
                display[-1] = {"role": "assistant", "content": render.draft_html(draft)}
                yield display, gr.update(), history, turns, gr.update()
        worker.join()
        if "answer" in outcome:
            answer: Answer = outcome["answer"]
            data = answer.to_json()
            display[-1] = {"role": "assistant", "content": render.answer_html(data, turn)}
            turns = [*turns, render.turn_sources_html(turn, data, self.document_text)][-MAX_TURNS_SHOWN:]
            history = [*history, [message, answer.answer]]
        elif outcome.get("stopped"):
            display[-1] = {"role": "assistant", "content": "Stopped."}
        else:
            display[-1] = {"role": "assistant", "content": render.esc(outcome.get("error", "error"))}
        yield display, render.sources_panel(turns), history, turns, gr.update()

    def stop(self, request: gr.Request) -> None:
        self.stop_flags.setdefault(request.session_hash or "", threading.Event()).set()

    # -- library --------------------------------------------------------------------------------
    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        if not files:
            return "Choose files to add.", gr.update(), gr.update(), gr.update(), gr.update()
        limit_mb = self.app.settings.max_file_mb
        folder = self.app.settings.index_dir / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        staged: list[Path] = []
        for raw in files:
            source = Path(raw)
            try:
                name = safe_upload_name(source.name)
            except UserError as exc:
                lines.append(f"✗ {source.name}: {exc}")
                continue
            if source.stat().st_size > limit_mb * 1024 * 1024:
                lines.append(f"✗ {name}: larger than {limit_mb:g} MB (raise RAG_MAX_FILE_MB to allow it)")
                continue
            target = folder / name
            if target.resolve().parent != folder.resolve():
                lines.append(f"✗ {name}: not a plain file name")
                continue
            shutil.copyfile(source, target)
            staged.append(target)
        if staged:

            def step(number: int, total: int, name: str) -> None:
                progress((number - 1, total), desc=f"indexing {name}")

            try:
                report = self.app.ingest(staged, on_file=step)
            except UserError as exc:
                lines.append(f"✗ {exc}")
            else:
                self.recent = {o.doc_id for o in report.outcomes if o.status != "skipped" and o.doc_id}
                for o in report.outcomes:
                    name = Path(o.path).name
                    if o.status in ("indexed", "updated"):
                        lines.append(f"✓ {name}: {o.status} as `{o.doc_id}` ({o.chunks} passages)")
                    elif o.status == "unchanged":
                        lines.append(f"• {name}: already indexed as `{o.doc_id}`")
                    elif o.status == "duplicate":
                        lines.append(f"• {name}: already indexed ({o.detail})")
                    else:
                        lines.append(f"✗ {name}: skipped: {o.detail}")
        choices = self.doc_choices()
        return (
            "\n".join(f"- {line}" for line in lines),
            self.documents(),
            gr.update(choices=choices, value=[]),
            gr.update(choices=choices),
            self.heading(),
        )

    def delete(self, doc_ids: list[str] | None) -> tuple[Any, ...]:
        if not doc_ids:
            return "Pick documents to delete.", gr.update(), gr.update(), gr.update(), gr.update()
        try:
            removed = self.app.remove_documents(doc_ids)
            status = "\n".join(f"- removed `{r.doc_id}` ({r.n_chunks} passages)" for r in removed)
        except UserError as exc:
            status = one_line(exc)
        choices = self.doc_choices()
        return (
            status,
            self.documents(),
            gr.update(choices=choices, value=[]),
            gr.update(choices=choices),
            self.heading(),
        )

    def refresh_library(self, search: str = "") -> tuple[Any, ...]:
        choices = self.doc_choices()
        return self.documents(search), gr.update(choices=choices), gr.update(choices=choices), self.heading()

    # -- summaries ------------------------------------------------------------------------------
    def summarize(
        self,
        scope: str,
        doc_id: str | None,
        topic: str,
        since: str,
        until: str,
        sentences: int,
        turns: list[str],
    ) -> Iterator[tuple[Any, ...]]:
        """The summary as it is written: reading progress, then each event of a timeline as soon
        as its sentences are ready, then the finished summary with its sources."""
        try:
            if scope == "One article" and not doc_id:
                raise UserError("no article chosen", "pick one from the list")
            self.app.follow_index()
            docs = self.app.summarizer.select_documents(
                doc_id if scope == "One article" else None,
                scope == "Whole library",
                topic.strip() or None if scope == "Topic" else None,
                *self.app.date_bounds(since.strip() or None, until.strip() or None),
            )
        except Exception as exc:
            yield render.esc(one_line(exc)), gr.update(), turns
            return
        turn = f"s{len(turns) + 1}-{int(time.time() * 1000) % 100000}"
        updates: queue.Queue[tuple[int, int] | Event] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            from rag.summarize import Options

            try:
                outcome["summary"] = self.app.summarizer.summarize(
                    docs,
                    Options(sentences=int(sentences) or None),
                    topic=topic.strip() or None if scope == "Topic" else None,
                    progress=lambda done, total: updates.put((done, total)),
                    on_event=updates.put,
                )
            except Exception as exc:  # shown as one line, never a traceback
                outcome["error"] = one_line(exc)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        written: list[dict[str, Any]] = []
        while worker.is_alive() or not updates.empty():
            try:
                update = updates.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(update, tuple):
                yield render.summary_progress_html(*update), gr.update(), turns
            else:
                written.append(asdict(update))
                shown = render.summary_html({"events": written, "summary": ""}, turn, partial=True)
                yield shown, gr.update(), turns
        worker.join()
        if "summary" not in outcome:
            yield render.esc(outcome.get("error", "error")), gr.update(), turns
            return
        data = outcome["summary"].to_json()
        turns = [*turns, render.turn_sources_html(turn, data, self.document_text)][-MAX_TURNS_SHOWN:]
        yield render.summary_html(data, turn), render.sources_panel(turns), turns

    # -- settings -------------------------------------------------------------------------------
    def switch_model(self, path: str | None) -> str:
        if not path:
            return self.model_info()
        try:
            self.app.use_chat_model(Path(path))
            self.app.answerer.load()
        except UserError as exc:
            return render.esc(one_line(exc))
        return self.model_info()

    # -- eval -----------------------------------------------------------------------------------
    def run_eval(
        self, set_name: str, split: str, k: int, progress: gr.Progress = gr.Progress()
    ) -> tuple[Any, ...]:
        from eval.runner import breakdown, load_set, run_items

        try:
            items = [i for i in load_set(EVAL_SETS_DIR / set_name) if split == "all" or i["split"] == split]
            done = [0]

            def step(_row: dict[str, Any]) -> None:
                done[0] += 1
                progress((done[0], len(items)), desc="eval")

            rows = run_items(
                items,
                self.app.answerer,
                self.app.answer_options(k=int(k)),
                progress=False,
                on_row=step,
                summarizer=self.app.summarizer,
            )
        except Exception as exc:
            return render.esc(without_paths(one_line(exc))), [], []
        summary = breakdown(rows)["summary"]
        metrics = [
            [name, "-" if value is None else value]
            for name, value in summary.items()
            if not isinstance(value, dict)
        ]
        failing = []
        for r in rows:
            scores = r.get("scores", {})
            wrong = (
                (r["kind"] == "answer" and (r["abstained"] or scores.get("fact_recall", 1.0) < 1.0))
                or (r["kind"] == "unanswerable" and not r["abstained"])
                or (r["kind"] == "summary" and scores.get("faithfulness", 1.0) < 1.0)
            )
            if wrong:
                failing.append([r["id"], r["kind"], r["question"], r["mode"], r["answer"]])
        note = (
            f"{len(rows)} items, {len(failing)} failing. "
            "Items are scored against the library that is open now."
        )
        return note, metrics, failing


def build(app: App) -> gr.Blocks:
    web = WebApp(app)
    with gr.Blocks(title="rag — local news Q&A", analytics_enabled=False) as demo:
        history, chat_turns, summary_turns = gr.State([]), gr.State([]), gr.State([])
        heading = gr.Markdown(web.heading(), elem_id="library-heading")
        with gr.Tabs():
            chat = _chat_tab()
            library = _library_tab(web)
            summaries = _summaries_tab(web)
            options = _settings_tab(web, app.settings)
            _eval_tab(web, options.top_k)
        _wire_chat(web, chat, options, history, chat_turns)
        _wire_library(web, library, summaries.article, heading)
        summaries.scope.change(
            lambda scope: (gr.update(visible=scope == "One article"), gr.update(visible=scope == "Topic")),
            [summaries.scope],
            [summaries.article, summaries.topic],
            queue=False,
        )
        summaries.button.click(
            web.summarize,
            [summaries.scope, summaries.article, summaries.topic, summaries.since, summaries.until]
            + [summaries.sentences, summary_turns],
            [summaries.out, summaries.sources, summary_turns],
            concurrency_limit=1,
            concurrency_id=MODEL_SLOT,
        )
    return demo


def parse_day(value: str | float | None) -> date | None:
    """The page's "as of" field: a date, or empty for today."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise UserError(f"'as of' {value!r} is not a date", "pick a day, or use YYYY-MM-DD") from None


def _chat_tab() -> SimpleNamespace:
    with gr.Tab("Chat", id="chat"), gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                elem_id="chat",
                height=520,
                sanitize_html=False,  # answers are escaped by ui.render; the markers are ours
                feedback_options=None,
                buttons=["copy", "copy_all"],  # no "share": it would post to a hub
                placeholder="Ask about the articles in your library. Every statement is cited; "
                "when no answer is found with enough confidence, it says so and shows the closest passages.",
            )
            with gr.Row():
                question = gr.Textbox(
                    elem_id="question",
                    show_label=False,
                    placeholder="Ask a question, e.g. What did the council decide?",
                    lines=1,
                    max_lines=4,
                    scale=4,
                )
                as_of = gr.DateTime(
                    value=lambda: date.today().isoformat(),  # type: ignore[arg-type]
                    include_time=False,
                    type="string",
                    label="As of",
                    elem_id="as-of",
                    scale=1,
                )
            with gr.Row():
                send = gr.Button("Ask", variant="primary", elem_id="ask")
                stop = gr.Button("Stop", elem_id="stop")
                new_chat = gr.Button("New chat", elem_id="new-chat")
        with gr.Column(scale=2):
            sources = gr.HTML(render.sources_panel([]), elem_id="sources", js_on_load=None)
    return SimpleNamespace(
        chatbot=chatbot,
        question=question,
        as_of=as_of,
        send=send,
        stop=stop,
        new_chat=new_chat,
        sources=sources,
    )


def _library_tab(web: WebApp) -> SimpleNamespace:
    with gr.Tab("Library", id="library"):
        upload = gr.File(
            label="Add articles (txt, md, html, pdf, rss/atom)",
            file_count="multiple",
            file_types=sorted(SUPPORTED_SUFFIXES),
            elem_id="upload",
        )
        status = gr.Markdown(elem_id="upload-status")
        search = gr.Textbox(
            show_label=False, placeholder="Search titles and ids", elem_id="library-search", max_lines=1
        )
        table = gr.Dataframe(
            value=web.documents,
            headers=["title", "date", "passages", "kind", "id"],
            interactive=False,
            elem_id="docs",
            wrap=True,
            max_height=520,
            column_widths=["46%", "14%", "10%", "8%", "22%"],
        )
        with gr.Row():
            to_delete = gr.Dropdown(
                choices=web.doc_choices(), multiselect=True, label="Delete documents", scale=3
            )
            delete = gr.Button("Delete", variant="stop", scale=1)
            refresh = gr.Button("Refresh", scale=1)
    return SimpleNamespace(
        upload=upload,
        status=status,
        search=search,
        table=table,
        to_delete=to_delete,
        delete=delete,
        refresh=refresh,
    )


def _summaries_tab(web: WebApp) -> SimpleNamespace:
    with gr.Tab("Summaries", id="summaries"), gr.Row():
        with gr.Column(scale=3):
            scope = gr.Radio(
                ["One article", "Whole library", "Topic"], value="Whole library", label="Summarize"
            )
            article = gr.Dropdown(
                choices=web.doc_choices(), label="Article", visible=False, elem_id="summary-article"
            )
            topic = gr.Textbox(
                label="Topic", placeholder="e.g. school budget", visible=False, elem_id="summary-topic"
            )
            with gr.Row():
                since = gr.Textbox(label="Since (YYYY-MM-DD or 'last week')")
                until = gr.Textbox(label="Until (YYYY-MM-DD)")
            sentences = gr.Slider(0, 15, value=0, step=1, label="Sentences (0: a few per event)")
            button = gr.Button("Summarize", variant="primary", elem_id="summarize")
            out = gr.HTML(elem_id="summary")
        with gr.Column(scale=2):
            sources = gr.HTML(render.sources_panel([]), elem_id="summary-sources")
    return SimpleNamespace(
        scope=scope, article=article, topic=topic, since=since, until=until, sentences=sentences,
        button=button, out=out, sources=sources,
    )  # fmt: skip


def _settings_tab(web: WebApp, settings: Any) -> SimpleNamespace:
    with gr.Tab("Settings", id="settings"):
        model_info = gr.Markdown(web.model_info(), elem_id="model-info")
        choices = web.model_choices()
        model_pick = gr.Dropdown(
            choices=choices, value=choices[0][1] if choices else None, label="Chat model (installed GGUF)"
        )
        use_model = gr.Button("Use this model")
        top_k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages to retrieve (top-k)")
        max_tokens = gr.Slider(40, 400, value=settings.max_tokens, step=10, label="Answer length (tokens)")
        temperature = gr.Slider(0.0, 1.5, value=settings.temperature, step=0.1, label="Temperature")
    use_model.click(
        web.switch_model, [model_pick], [model_info], concurrency_limit=1, concurrency_id=MODEL_SLOT
    )
    return SimpleNamespace(top_k=top_k, max_tokens=max_tokens, temperature=temperature)


def question_sets() -> list[str]:
    """The eval sets of questions the Eval tab can run (the rewrite checker's labelled pairs are not
    questions; `python -m eval.faithfulness` runs them), the sample set first."""
    names = sorted(p.name for p in EVAL_SETS_DIR.glob("*.jsonl") if p.name not in NOT_QUESTION_SETS)
    return sorted(names, key=lambda name: name != "sample.jsonl")


def _eval_tab(web: WebApp, top_k: Any) -> None:
    sets = question_sets()
    with gr.Tab("Eval", id="eval"):
        with gr.Row():
            eval_set = gr.Dropdown(sets, value=sets[0] if sets else None, label="Eval set")
            eval_split = gr.Radio(["all", "dev", "test"], value="test", label="Split")
            eval_btn = gr.Button("Run eval", variant="primary", elem_id="run-eval")
        eval_note = gr.Markdown(elem_id="eval-note")
        eval_metrics = gr.Dataframe(headers=["metric", "value"], interactive=False, elem_id="eval-metrics")
        eval_failing = gr.Dataframe(
            headers=["id", "kind", "question", "mode", "answer"], interactive=False, wrap=True
        )
    eval_btn.click(
        web.run_eval,
        [eval_set, eval_split, top_k],
        [eval_note, eval_metrics, eval_failing],
        concurrency_limit=1,
        concurrency_id=MODEL_SLOT,
    )


def _wire_chat(
    web: WebApp, chat: SimpleNamespace, options: SimpleNamespace, history: Any, turns: Any
) -> None:
    chat_inputs = [chat.question, chat.chatbot, history, turns, options.top_k, options.max_tokens]
    chat_inputs += [options.temperature, chat.as_of]
    chat_outputs = [chat.chatbot, chat.sources, history, turns, chat.question]
    ask_events = [
        trigger(
            web.respond,
            chat_inputs,
            chat_outputs,
            concurrency_limit=1,
            concurrency_id=MODEL_SLOT,
            api_name=name,
        )
        for trigger, name in ((chat.question.submit, "ask"), (chat.send.click, "ask_button"))
    ]
    chat.stop.click(web.stop, None, None, queue=False, api_name="stop")
    chat.new_chat.click(
        lambda: ([], render.sources_panel([]), [], []),
        None,
        [chat.chatbot, chat.sources, history, turns],
        cancels=ask_events,  # type: ignore[arg-type]
        queue=False,
    )
    chat.chatbot.clear(
        lambda: (render.sources_panel([]), [], []), None, [chat.sources, history, turns], queue=False
    )


def _wire_library(web: WebApp, library: SimpleNamespace, article: Any, heading: Any) -> None:
    outputs = [library.status, library.table, library.to_delete, article, heading]
    library.upload.upload(
        web.upload, [library.upload], outputs, concurrency_limit=1, concurrency_id=MODEL_SLOT
    )
    library.delete.click(
        web.delete, [library.to_delete], outputs, concurrency_limit=1, concurrency_id=MODEL_SLOT
    )
    listing = [library.table, library.to_delete, article, heading]
    library.refresh.click(web.refresh_library, [library.search], listing)
    library.search.change(lambda text: web.documents(text), [library.search], [library.table], queue=False)


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def launch(
    app: App,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    quiet: bool = False,
    block: bool = True,
) -> Any:
    """Open (or create) the library, warm the models, and serve the page."""
    store = app.store(create=True)
    store.ensure_manifest()
    store.check_model()
    app.answerer.load()
    demo = build(app)
    demo.queue(max_size=256, default_concurrency_limit=1)
    # System fonts only: the default theme would fetch Google Fonts, and nothing leaves this machine.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        max_file_size=f"{app.settings.max_file_mb:g}mb",
        quiet=quiet,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        prevent_thread_lock=not block,
        footer_links=[],
        theme=theme,
        css=render.CSS,
        head=render.HEAD,
    )
