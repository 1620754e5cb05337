"""The `rag` command. Parses flags, calls the library, prints results (stdout) and logs (stderr)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import click  # noqa: E402

from index.errors import UserError  # noqa: E402
from index.progress import Progress, auto_mode  # noqa: E402
from index.progress import line as progress_text  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])

# Set by a command that writes nothing but its output (`ask`, `chat`, `summarize`): such a process
# ends without the interpreter's teardown, which frees the models, the English pipeline and the index
# client one object at a time (about a tenth of a one-off question's wall time).
_read_only = False


def read_only(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _read_only
        _read_only = True
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def log(message: str) -> None:
    click.echo(message, err=True)


def log_line(message: str) -> None:
    """A report line stays one line whatever a file name holds (newlines, escapes, other controls)."""
    click.echo("".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message), err=True)


def common_options(func: F) -> F:
    """Flags shared by commands that open an index or a model; None means 'not given'."""
    options = [
        click.option(
            "--index", "index", type=click.Path(path_type=Path), help="Index directory [env RAG_INDEX]."
        ),
        click.option("--model", type=click.Path(path_type=Path), help="Chat model GGUF [env RAG_MODEL]."),
        click.option(
            "--embed-model", type=click.Path(path_type=Path), help="Embedding GGUF [env RAG_EMBED_MODEL]."
        ),
        click.option("--threads", "n_threads", type=click.IntRange(1, 512), help="llama.cpp threads."),
        click.option("--chroma-url", help="Chroma server URL instead of local files [env RAG_CHROMA_URL]."),
        click.option("--llm-url", help="OpenAI-compatible server for generation [env RAG_LLM_URL]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def as_of_option(func: F) -> F:
    """--as-of YYYY-MM-DD: the date questions are asked on ("this week" is read against it)."""
    return click.option(
        "--as-of",
        "as_of",
        metavar="YYYY-MM-DD",
        help="Answer as of this date: 'this week' is read against it; later articles are not used "
        "[default: today].",
    )(func)


def make_app(**flags: Any) -> Any:
    from rag.factory import App
    from rag.settings import load_settings

    return App(load_settings(**flags))


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            log(f"error: {exc}")
            sys.exit(1)
        except KeyboardInterrupt:
            log("interrupted")
            sys.exit(130)
        except BrokenPipeError:  # the reader went away (`rag ask … | head -1`): as a shell tool does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug, not a user error: still one line unless RAG_DEBUG is set
            if os.environ.get("RAG_DEBUG"):
                raise
            log(f"error: unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag-news")
def cli() -> None:
    """Local news Q&A and summaries with cited passages. Nothing leaves this machine."""


# -- ingest ----------------------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@common_options
@click.option("--url", "urls", multiple=True, help="Fetch this web page and index it (repeatable).")
@click.option(
    "--feed", "feeds", multiple=True, help="Fetch this RSS/Atom feed and index its items (repeatable)."
)
@click.option(
    "--allow-private", is_flag=True, help="Allow --url/--feed to fetch from private or loopback addresses."
)
@click.option("--max-file-mb", type=float, help="Skip files (and fetched pages) larger than this.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
@handle_errors
def ingest(
    paths: tuple[Path, ...],
    urls: tuple[str, ...],
    feeds: tuple[str, ...],
    allow_private: bool,
    as_json: bool,
    quiet: bool,
    max_file_mb: float | None,
    **flags: Any,
) -> None:
    """Index .txt, .md, .html, .pdf and RSS/Atom files (folders recursively), pages and feeds."""
    if not (paths or urls or feeds):
        raise click.UsageError("nothing to ingest: give files or folders, --url URL or --feed URL")
    app = make_app(max_file_mb=max_file_mb, **flags)
    s = app.settings
    report = app.ingest(
        list(paths),
        report=log_line,
        progress=auto_mode(quiet),
        urls=urls,
        feeds=feeds,
        allow_private=allow_private,
    )
    if as_json:
        from dataclasses import asdict

        click.echo(
            json.dumps({**asdict(report), "index": str(s.index_dir), "usable": report.usable}, indent=2)
        )
    else:
        counts = ", ".join(
            f"{report.count(st)} {st}"
            for st in ("indexed", "updated", "unchanged", "duplicate", "skipped")
            if report.count(st)
        )
        click.echo(
            f"{counts or 'no files'}; {report.chunks_written} chunks written to {s.index_dir} "
            f"in {report.seconds:.1f}s"
        )
    if not report.usable:
        raise UserError(
            "nothing was indexed", "give .txt, .md, .html, .pdf or feed files (or pages) with text in them"
        )


# -- ask / chat ------------------------------------------------------------------------------------
def format_citations(items: list[dict[str, Any]], heading: str) -> str:
    width = min(100, shutil.get_terminal_size((100, 20)).columns)
    lines = [heading]
    for c in items:
        where = ", ".join(x for x in (c["date"], f"p. {c['page']}" if c["page"] else None) if x)
        lines.append(f"[{c['n']}] {c['doc_id']} — {c['title']}" + (f" ({where})" if where else ""))
        import textwrap

        lines.extend(
            textwrap.wrap(
                f"“{' '.join(c['text'].split())}”", width - 4, initial_indent="    ", subsequent_indent="    "
            )
        )
    return "\n".join(lines)


def print_sections(report: dict[str, dict[str, Any]], as_json: bool) -> None:
    """`[section]` blocks of `key: value` lines, or the same nested object as JSON."""
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for section, values in report.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            click.echo(f"  {key}: {value}")


def print_answer(data: dict[str, Any]) -> None:
    click.echo(data["answer"])
    if data["citations"]:
        click.echo("\n" + format_citations(data["citations"], "Sources:"))
    if data["closest"]:
        click.echo("\n" + format_citations(data["closest"], "Closest passages (not citations):"))


class DraftStream:
    """Shows the model's draft live in a terminal, then erases it for the verified answer."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.text = ""

    def __call__(self, token: str) -> None:
        if self.enabled:
            if not self.text:
                sys.stdout.write("\033[2m")
            self.text += token
            sys.stdout.write(token)
            sys.stdout.flush()

    def clear(self) -> None:
        if self.enabled and self.text:
            cols = shutil.get_terminal_size((80, 20)).columns
            rows = sum(max(1, -(-len(line) // cols)) for line in self.text.split("\n"))
            sys.stdout.write("\033[0m\r" + ("\033[1A" * (rows - 1)) + "\033[J")
            sys.stdout.flush()
        self.text = ""


def option_args(k: int | None, doc: str | None, since: str | None, until: str | None) -> dict[str, Any]:
    """`App.answer_options`' arguments from the flags: checked here, built where the App is."""
    if k is not None and k < 1:
        raise click.BadParameter("must be at least 1", param_hint="-k")
    return {"k": min(k, 50) if k else None, "doc": doc, "since": since, "until": until}


def answer_options(app: Any, k: int | None, doc: str | None, since: str | None, until: str | None) -> Any:
    return app.answer_options(**option_args(k, doc, since, until))


@cli.command()
@click.argument("question")
@common_options
@as_of_option
@click.option("-k", "k", type=int, help="Passages to retrieve (1-50).")
@click.option("--doc", help="Only this document id.")
@click.option("--since", help="Only articles dated on/after this (YYYY-MM-DD or 'last week').")
@click.option("--until", help="Only articles dated on/before this (YYYY-MM-DD or 'last month').")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object; never streams.")
@handle_errors
@read_only
def ask(
    question: str,
    k: int | None,
    doc: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Answer a question from the indexed articles, with numbered citations."""
    from rag.settings import load_settings
    from ui import resident

    options = option_args(k, doc, since, until)
    settings = load_settings(**flags)
    stream = DraftStream(sys.stdout.isatty() and not as_json)
    data = resident.ask(settings, question, options, stream) if settings.keep_warm_s > 0 else None
    if data is None:
        stream.clear()
        app = make_app(**flags)
        data = app.answerer.ask(question, app.answer_options(**options), on_token=stream).to_json()
        resident.leave_behind(settings)
    stream.clear()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        print_answer(data)


@cli.command()
@common_options
@as_of_option
@click.option("-k", "k", type=int, help="Passages to retrieve (1-50).")
@handle_errors
@read_only
def chat(k: int | None, **flags: Any) -> None:
    """Ask questions in a loop; follow-ups use the conversation (Ctrl-D to quit)."""
    app = make_app(**flags)
    opts = answer_options(app, k, None, None, None)
    history: list[tuple[str, str]] = []
    log("Ask about your articles. Empty line or Ctrl-D quits.")
    while True:
        try:
            question = input("? ")
        except EOFError:
            break
        if not question.strip():
            break
        try:
            stream = DraftStream(sys.stdout.isatty())
            result = app.answerer.ask(question, opts, history=history, on_token=stream)
            stream.clear()
        except UserError as exc:
            log(f"error: {exc}")
            continue
        print_answer(result.to_json())
        history.append((question, result.answer))


# -- summarize -------------------------------------------------------------------------------------
@cli.command()
@click.argument("doc_id", required=False)
@common_options
@as_of_option
@click.option("--all", "all_docs", is_flag=True, help="Summarize every indexed article.")
@click.option("--topic", help="Summarize the articles about this topic.")
@click.option("--since", help="Only articles dated on/after this (YYYY-MM-DD or 'last week').")
@click.option("--until", help="Only articles dated on/before this (YYYY-MM-DD or 'last month').")
@click.option(
    "--sentences",
    type=click.IntRange(1, 30),
    help="Summary length in sentences, shared out across events by weight [default: a few per event].",
)
@click.option("--words", type=click.IntRange(10, 2000), help="Cap the summary at about this many words.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md"]),
    default="text",
    show_default=True,
    help="How the timeline of several events is laid out: plain text or Markdown.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
@read_only
def summarize(
    doc_id: str | None,
    all_docs: bool,
    topic: str | None,
    since: str | None,
    until: str | None,
    sentences: int | None,
    words: int | None,
    fmt: Literal["text", "md"],
    as_json: bool,
    **flags: Any,
) -> None:
    """Summarize one article (DOC_ID), all of them (--all) or a topic: events in time order, every
    sentence cited."""
    from rag.summarize import Event, Options, render_event

    app = make_app(**flags)
    since, until = app.date_bounds(since, until)
    summarizer = app.summarizer
    docs = summarizer.select_documents(doc_id, all_docs, topic, since, until)

    mode = auto_mode() if len(docs) > 1 else "off"
    every_s = app.settings.progress_every_s
    reading = Progress(len(docs), "articles", mode, log, desc="reading", every_s=every_s)

    def progress(done: int, total: int) -> None:
        reading.advance(done - reading.done)

    streamed: list[str] = []

    def stream(event: Event) -> None:
        """Each event of a timeline goes out as soon as it is written; the rest follows at the end."""
        reading.close()
        block = render_event(event, fmt)
        click.echo(("\n\n" if streamed else "") + block, nl=False)
        sys.stdout.flush()
        streamed.append(block)

    result = summarizer.summarize(
        docs,
        Options(sentences=sentences, max_words=words, format=fmt),
        topic=topic,
        progress=progress,
        on_event=None if as_json else stream,
    )
    reading.close()
    data = result.to_json()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    shown = "\n\n".join(streamed)
    click.echo(data["summary"][len(shown) :] if data["summary"].startswith(shown) else "\n" + data["summary"])
    cited = {c["n"]: c for s in data["sentences"] for c in s["citations"]}
    cited.update({a["citation"]["n"]: a["citation"] for a in data["also_reported"]})
    click.echo("\n" + format_citations([cited[n] for n in sorted(cited)], "Sources:"))
    if data["omitted"]:
        log(f"{len(data['omitted'])} article(s) neither cited nor listed (see --json 'omitted')")


# -- docs ------------------------------------------------------------------------------------------
@cli.group()
def docs() -> None:
    """List or remove indexed documents."""


@docs.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def docs_list(as_json: bool, **flags: Any) -> None:
    """List documents with date, title and chunk count (``--json``: where each title and date came from)."""
    from dataclasses import asdict

    app = make_app(**flags)
    records = sorted(app.store(verify=False).documents().values(), key=lambda r: r.doc_id)
    if as_json:
        rows = [
            {
                **asdict(r),
                "doc_id": r.doc_id,
                "title": r.shown_title()[0],
                "title_source": r.shown_title()[1],
                "date": r.date,
                "date_source": r.date_source,
                "chunks": r.n_chunks,
                "source": r.source or r.source_path,
            }
            for r in records
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for r in records:
        click.echo(f"{r.doc_id}\t{r.date or 'undated'}\t{r.n_chunks} chunks\t{r.shown_title()[0]}")
    log(f"{len(records)} documents in {app.settings.index_dir}")


@docs.command("rm")
@click.argument("doc_ids", nargs=-1, required=True)
@common_options
@handle_errors
def docs_rm(doc_ids: tuple[str, ...], **flags: Any) -> None:
    """Remove documents (and their passages) from the index."""
    app = make_app(**flags)
    for record in app.remove_documents(list(doc_ids)):
        click.echo(f"removed {record.doc_id} ({record.n_chunks} chunks)")


# -- models ----------------------------------------------------------------------------------------
@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def models(ctx: click.Context, as_json: bool) -> None:
    """List installed models; `models pull` fetches a GGUF, `models prepare` builds the embedder."""
    if ctx.invoked_subcommand:
        return
    from rag.models import installed_models

    app = make_app()
    rows = installed_models(app.settings.data_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['role']}\t{row['status']}\t{row['path']}")


@models.command("prepare")
@handle_errors
def models_prepare() -> None:
    """Verify the default model files and convert the embedder to GGUF (done once)."""
    app = make_app()
    chat_path = app.chat_model_path()
    embed_path = app.embed_model_path()
    click.echo(f"chat model: {chat_path}\nembedding model: {embed_path}")


@models.command("pull")
@click.argument("repo")
@click.argument("filename")
@handle_errors
def models_pull(repo: str, filename: str) -> None:
    """Download REPO's FILENAME (a GGUF) from the Hugging Face hub and register it."""
    from rag.models import pull

    app = make_app()
    path = pull(repo, filename, app.settings.data_dir, n_threads=app.settings.n_threads or 1)
    click.echo(f"installed {path}\nuse it with: rag ask --model {path} ...")


# -- eval ------------------------------------------------------------------------------------------
TABLE_METRICS = [
    "coverage",
    "selective_accuracy",
    "wrong_answer_rate",
    "fact_recall",
    "exact",
    "citation_recall",
    "citation_precision",
    "source_hit",
    "recall_at_k",
    "mrr",
    "abstention_rate",
    "false_abstention_rate",
    "fact_coverage",
    "faithfulness",
    "summary_generated_share",
    "summary_total_s_p50",
    "total_s_p50",
    "total_s_p95",
    "retrieve_s_p50",
    "generate_s_p50",
    "tokens_per_s",
    "load_s",
]


def format_table(result: dict[str, Any]) -> str:
    columns = {"all": result["summary"], **result["by_split"], **result["by_category"]}
    names = list(columns)
    width = max(8, *(len(n) for n in names))
    lines = ["metric".ljust(22) + "".join(n[:width].rjust(width + 1) for n in names)]
    for metric in TABLE_METRICS:
        cells = []
        for name in names:
            value = columns[name].get(metric)
            cells.append(
                ("-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)).rjust(
                    width + 1
                )
            )
        lines.append(metric.ljust(22) + "".join(cells))
    lines.append("items".ljust(22) + "".join(str(columns[n]["items"]).rjust(width + 1) for n in names))
    lines.append(
        "not scored".ljust(22) + "".join(str(columns[n]["not_scored"]).rjust(width + 1) for n in names)
    )
    share = result["summary"].get("mode_share", {})
    lines.append("mode share: " + ", ".join(f"{m} {v:.0%}" for m, v in share.items()))
    return "\n".join(lines)


def format_curve(curve: list[dict[str, Any]], current: float) -> str:
    """Risk-coverage as a text table: what each answer threshold would give on this set."""
    cols = ("coverage", "selective_accuracy", "wrong_answer_rate", "fact_recall")
    lines = ["threshold " + "".join(c.rjust(20) for c in cols)]
    nearest = min((p["threshold"] for p in curve), key=lambda x: abs(x - current), default=None)
    for point in curve:
        mark = " *" if point["threshold"] == nearest else "  "
        cells = "".join(("-" if point[c] is None else f"{point[c]:.3f}").rjust(20) for c in cols)
        lines.append(f"{point['threshold']:>7.2f}{mark} {cells}")
    lines.append("(* the threshold in use; rows from answers kept before any threshold)")
    return "\n".join(lines)


@cli.command("eval")
@click.option("--set", "set_path", type=click.Path(path_type=Path), help="Eval set (JSONL).")
@click.option(
    "--corpus", type=click.Path(path_type=Path), help="Articles to index into a fresh temporary index."
)
@common_options
@as_of_option
@click.option("--out", type=click.Path(path_type=Path), help="Write one result line per item here.")
@click.option("-k", "k", type=int, help="Passages to retrieve (1-50).")
@click.option("--split", type=click.Choice(["dev", "test"]), help="Only items of this split.")
@click.option(
    "--compare", nargs=2, type=click.Path(exists=True, path_type=Path), help="Compare two results files."
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--baseline", is_flag=True, help="Also run the plain top-k recipe and report both.")
@click.option("--curve", is_flag=True, help="Also print the risk-coverage curve over answer confidence.")
@click.option("--threshold", "answer_threshold", type=click.FloatRange(0, 1), help="Answer threshold (0-1).")
@handle_errors
def eval_command(
    set_path: Path | None,
    corpus: Path | None,
    out: Path | None,
    k: int | None,
    split: str | None,
    compare: tuple[Path, Path] | None,
    as_json: bool,
    baseline: bool,
    curve: bool,
    **flags: Any,
) -> None:
    """Score answers against the facts in an eval set (no LLM judge)."""
    import tempfile

    from eval.metrics import risk_coverage
    from eval.runner import breakdown, load_set, run_items, write_rows
    from eval.runner import compare as compare_files

    if compare:
        click.echo(json.dumps(compare_files(*compare), indent=2))
        return
    if set_path is None:
        raise click.UsageError("--set is required (or --compare A B)")
    if corpus is None and flags.get("index") is None:
        raise click.UsageError("give --corpus DIR (a fresh index is built) or --index DIR")
    items = [i for i in load_set(set_path) if split is None or i["split"] == split]
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if corpus is not None and flags.get("index") is None:
            flags["index"] = Path(tmp) / "index"
        app = make_app(**flags)
        if corpus is not None:
            report = app.ingest([corpus], report=log)
            if not report.usable:
                raise UserError(
                    f"nothing in {corpus} could be indexed", "point --corpus at a folder of articles"
                )
            log(f"indexed {corpus} ({report.chunks_written} chunks) in {report.seconds:.1f}s")
        tty = sys.stderr.isatty()
        done = [0]
        started = [time.monotonic()]

        def progress_line(row: dict[str, Any]) -> None:
            done[0] += 1
            if not tty:
                took = row.get("timings", {}).get("total_s", 0.0)
                so_far = progress_text(done[0], len(items), "items", time.monotonic() - started[0])
                log(f"{so_far} · {row['id']}: {row['mode'] or 'not scored'} ({took:.2f}s)")

        options = answer_options(app, k, None, None, None)
        rows = run_items(
            items, app.answerer, options, progress=tty, on_row=progress_line, summarizer=app.summarizer
        )
        baseline_rows = []
        if baseline:
            done[0] = 0
            started[0] = time.monotonic()
            from eval.baseline import BaselineAnswerer

            plain = BaselineAnswerer(app.answerer)
            baseline_rows = run_items(items, plain, options, progress=tty, on_row=progress_line)
    if out:
        write_rows(out, rows)
        log(f"wrote {len(rows)} result lines to {out}")
        if baseline_rows:
            write_rows(out.with_name(out.stem + ".baseline" + out.suffix), baseline_rows)
    result = breakdown(rows)
    result["threshold"] = options.answer_threshold
    result["risk_coverage"] = risk_coverage(rows)
    if baseline_rows:
        result["baseline"] = breakdown(baseline_rows)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_table(result))
        if curve:
            click.echo("\n" + format_curve(result["risk_coverage"], options.answer_threshold))
        if baseline_rows:
            click.echo("\nbaseline (top-k chunks, the model cites as it likes):")
            click.echo(format_table(result["baseline"]))


# -- ui --------------------------------------------------------------------------------------------
@cli.command("ui")
@common_options
@as_of_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; loopback unless told.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--auth", envvar="RAG_UI_AUTH", help="USER:PASS required for every page and API route.")
@click.option("--max-file-mb", type=float, help="Largest upload accepted (and ingested).")
@handle_errors
def ui_command(host: str, port: int, auth: str | None, max_file_mb: float | None, **flags: Any) -> None:
    """Serve the web page: chat, library, summaries, settings and eval."""
    credentials = None
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise click.BadParameter("expected USER:PASS", param_hint="--auth")
        credentials = (user, password)
    from ui.web import is_loopback, launch

    if not is_loopback(host) and credentials is None:
        log(f"warning: serving on {host} without --auth: anyone who can reach this port can read the library")
    app = make_app(max_file_mb=max_file_mb, **flags)
    log(f"library {app.settings.index_dir}; loading models…")
    log(f"serving http://{'[' + host + ']' if ':' in host else host}:{port} (Ctrl-C stops)")
    launch(app, host=host, port=port, auth=credentials, quiet=True)


# -- resident --------------------------------------------------------------------------------------
@cli.command(name="resident")
@click.option("--stop", is_flag=True, help="Stop them now and free their memory.")
@click.option("--index", type=click.Path(path_type=Path), help="Only those serving this index.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
@handle_errors
def resident_cmd(stop: bool, index: Path | None, as_json: bool) -> None:
    """List the background processes that keep models loaded for the next `rag ask` (see
    keep_warm_s), or stop them."""
    from ui import resident

    found = resident.residents(stop=stop, index=index)
    if as_json:
        click.echo(json.dumps(found))
        return
    if not found:
        click.echo("no resident process")
    for r in found:
        state = "stopped" if stop else f"idle {r['idle_s']} s of {r['keep_warm_s']:g} s"
        click.echo(f"pid {r['pid']}: {r['index']} with {r['model']}, {r['answered']} answered, {state}")


# -- bench -----------------------------------------------------------------------------------------
@cli.command()
@common_options
@click.option(
    "--repeats", type=click.IntRange(1, 20), default=5, show_default=True, help="Repeats per figure."
)
@click.option(
    "--contended",
    is_flag=True,
    help="Measure ingest, ask and a summary again next to one busy process per core (a loaded laptop).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON, nested by area.")
@handle_errors
def bench(repeats: int, contended: bool, as_json: bool, **flags: Any) -> None:
    """Measure load, generation (vs a bare llama-cpp-python loop), embedding, ingest, retrieval, ask,
    a cold `rag ask`, a summary; with --contended, the same under load beside the idle figures."""
    from rag.bench import bench as run_bench

    print_sections(run_bench(make_app(**flags), repeats=repeats, log=log, contended=contended), as_json)


# -- doctor ----------------------------------------------------------------------------------------
@cli.command()
@common_options
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--check",
    is_flag=True,
    help="Check that the manifest, Chroma and the BM25 index agree; repair drift (under the writer lock).",
)
@handle_errors
def doctor(as_json: bool, check: bool, **flags: Any) -> None:
    """Versions, models, GPU offload, index and the effective settings with their origin."""
    if check:
        report = make_app(**flags).check_index(repair=True)
        if as_json:
            click.echo(json.dumps(report, indent=2))
        else:
            for key, value in report.items():
                click.echo(f"{key}: {value}")
        if report.get("repaired"):
            log("repaired: removed rows of incomplete documents and rebuilt the lexical index")
        return
    from rag.doctor import diagnose

    print_sections(diagnose(flags), as_json)


def _quiet_llama_devnull() -> None:
    """llama-cpp-python keeps two /dev/null files open for its whole life and never closes them; some
    parser libraries leave CPython printing a ResourceWarning for them at exit. Swap in handles on the
    same device that do not own their descriptor (so nothing is left to warn about) and close the
    originals."""
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        old = getattr(utils, name, None)
        if old is None or old.closed:
            continue
        setattr(utils, name, open(os.open(os.devnull, os.O_WRONLY), "w", closefd=False))  # noqa: SIM115
        old.close()


def main() -> None:
    import atexit

    atexit.register(_quiet_llama_devnull)
    # A shell script's background job starts with SIGINT ignored (`rag ingest DIR & ... kill -INT`):
    # an interrupt sent on purpose should still stop the ingest cleanly, keeping finished documents.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cli(prog_name="rag")
    except SystemExit as exc:
        if _read_only and (exc.code is None or isinstance(exc.code, int)):
            exit_now(exc.code or 0)
        raise


def exit_now(code: int) -> None:
    """End the process once what it printed and logged is out; nothing else is left to save."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: no one is reading any more
            stream.flush()
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    main()
