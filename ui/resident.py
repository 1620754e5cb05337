"""A resident `rag ask`: the models stay loaded in a background process between one-off questions.

A fresh process spends longer getting ready (imports, the English pipeline, the models, the index)
than answering. So the first `rag ask` answers in its own process and leaves a resident one behind,
keyed by its settings; a later `rag ask` with the same settings hands its question over a Unix
socket in a private directory and prints what comes back. The resident process reopens the index
when an ingest changed it, answers one question at a time, and exits after `keep_warm_s` idle
seconds. Nothing listens on the network; `rag resident --stop` ends it at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import UserError

if TYPE_CHECKING:
    from rag.settings import Settings

CONNECT_TIMEOUT_S = 0.5  # a resident process accepts at once; longer means it is busy or gone
PATH_SETTINGS = ("data_dir", "index", "model", "embed_model")


def run_dir() -> Path:
    """Sockets and logs of resident processes: a directory only this user can enter."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = base / f"rag-news-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def pinned(settings: Settings) -> Settings:
    """The settings with absolute paths: the resident process may serve askers in other folders."""
    update: dict[str, Any] = {"index": settings.index_dir.resolve()}
    for name in PATH_SETTINGS:
        value = update.get(name, getattr(settings, name))
        if value is not None:
            update[name] = Path(value).resolve()
    return settings.model_copy(update=update)


def code_stamp() -> str:
    """The installed code and data that shape an answer (the `index`, `rag` and `prompts` packages'
    files, by name, size and time): after an upgrade or an edit, a resident process left by the old
    code answers no more questions."""
    import index
    import prompts
    import rag

    files = sorted(
        f
        for package in (index, rag, prompts)
        for folder in package.__path__
        for f in Path(folder).iterdir()
        if f.suffix in (".py", ".json", ".txt")
    )
    stats = [(f, f.stat()) for f in files]
    return ";".join(f"{f.parent.name}/{f.name}:{st.st_size}:{st.st_mtime_ns}" for f, st in stats)


def key(settings: Settings) -> str:
    """Askers share a resident process only when every setting that shapes an answer is the same,
    and the code that answers too."""
    text = pinned(settings).model_dump_json(exclude={"keep_warm_s"}) + code_stamp()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def socket_path(settings: Settings) -> Path:
    return run_dir() / f"{key(settings)}.sock"


# -- the asking side ----------------------------------------------------------------------------------


def _lines(sock: socket.socket) -> Iterator[dict[str, Any]]:
    buffer = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT_S)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    sock.settimeout(None)
    return sock


def _alive(path: Path) -> bool:
    sock = _connect(path)
    if sock is not None:
        sock.close()
    return sock is not None


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")


def ask(
    settings: Settings, question: str, options: dict[str, Any], on_token: Callable[[str], None] | None
) -> dict[str, Any] | None:
    """The answer (as `Answer.to_json`) from a resident process with these settings, `options` being
    `App.answer_options`' arguments; None when there is none, or it went away mid-answer: the
    caller then answers in its own process."""
    try:
        sock = _connect(socket_path(settings))
    except OSError:  # no usable run directory: every question is answered in its own process
        return None
    if sock is None:
        return None
    with sock:
        _send(sock, {"ask": question, "options": options, "stream": on_token is not None})
        try:
            for message in _lines(sock):
                if "token" in message and on_token is not None:
                    on_token(message["token"])
                elif "answer" in message:
                    return dict(message["answer"])
                elif "error" in message:
                    raise UserError(message["error"], message.get("hint"))
        except (OSError, ValueError):
            return None
    return None


def leave_behind(settings: Settings) -> None:
    """Start a resident process for these settings unless one is there or they ask for none. The
    socket is bound here and handed over, so that it is there the moment this process ends: a
    question asked meanwhile waits for the models instead of loading them a second time. A run
    directory that cannot be made, or a process that cannot be started, only means that none is."""
    if settings.keep_warm_s <= 0:
        return
    try:
        path = socket_path(settings)
        server = listen(path)
        if server is None:
            return
    except OSError:
        return
    try:
        with server, (run_dir() / f"{key(settings)}.log").open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "ui.resident", str(server.fileno())],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                cwd=run_dir(),
                pass_fds=(server.fileno(),),
                start_new_session=True,  # a Ctrl-C in the terminal is the asker's, not the resident's
            )
        assert child.stdin is not None
        child.stdin.write(pinned(settings).model_dump_json().encode("utf-8"))
        child.stdin.close()
    except OSError:  # no process could be started (or it died at once): the answer still stands
        path.unlink(missing_ok=True)


def residents(stop: bool = False, index: Path | None = None) -> list[dict[str, Any]]:
    """What each live resident process of this user says of itself (index, model, pid, idle
    seconds), those of one index only when given; with `stop`, each is stopped as it answers."""
    wanted = str(index.resolve()) if index is not None else None
    out: list[dict[str, Any]] = []
    for path in sorted(run_dir().glob("*.sock")):
        sock = _connect(path)
        if sock is None:
            continue
        with sock:
            _send(sock, {"status": True, "stop_index": wanted} if stop else {"status": True})
            out.extend(m["status"] for m in _lines(sock) if "status" in m)
    return [r for r in out if wanted is None or r["index"] == wanted]


# -- the resident side --------------------------------------------------------------------------------


class Resident:
    """Serves the askers of one settings key, one question at a time."""

    def __init__(self, settings: Settings, server: socket.socket) -> None:
        from rag.factory import App

        self.settings = settings
        self.server = server
        self.app = App(settings)
        self.app.answerer.load()
        self.answered = 0
        self.last = time.monotonic()

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "index": str(self.settings.index_dir),
            "model": self.app.chat.name,
            "answered": self.answered,
            "idle_s": round(time.monotonic() - self.last, 1),
            "keep_warm_s": self.settings.keep_warm_s,
        }

    def handle(self, conn: socket.socket) -> bool:
        """One request; False when asked to stop."""
        request = next(_lines(conn), None)
        if request is None:
            return True
        if "status" in request:
            _send(conn, {"status": self.status()})
            stop = "stop_index" in request and request["stop_index"] in (None, str(self.settings.index_dir))
            return not stop
        stream = (lambda token: _send(conn, {"token": token})) if request.get("stream") else None
        try:
            self.app.follow_index()
            options = self.app.answer_options(**request["options"])
            answer = self.app.answerer.ask(request["ask"], options, on_token=stream)
            _send(conn, {"answer": answer.to_json()})
        except UserError as exc:
            _send(conn, {"error": exc.message, "hint": exc.hint})
        except Exception as exc:  # a bug: the asker gets one line, the log keeps the rest
            import traceback

            traceback.print_exc()
            hint = f"see the log in {run_dir()}"
            _send(conn, {"error": f"unexpected {type(exc).__name__}: {exc}", "hint": hint})
        self.answered += 1
        self.last = time.monotonic()
        return True

    def serve(self) -> None:
        self.server.settimeout(self.settings.keep_warm_s)
        while True:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                return
            with conn:
                try:
                    if not self.handle(conn):
                        return
                except (OSError, ValueError):
                    pass  # the asker went away (Ctrl-C) or sent no JSON; the next one is served as usual


def listen(path: Path) -> socket.socket | None:
    """The socket, listening; None when another resident already listens there."""
    if _alive(path):
        return None
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    return server


def main() -> None:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from rag.settings import Settings

    settings = Settings.model_validate_json(sys.stdin.read())
    path = socket_path(settings)
    server = socket.socket(fileno=int(sys.argv[1]))  # bound and listening: see `leave_behind`
    inode = path.stat().st_ino
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"resident pid {os.getpid()} for {settings.index_dir} at {path}", flush=True)
    resident = None
    try:
        resident = Resident(settings, server)
        resident.serve()
    finally:
        server.close()
        if path.exists() and path.stat().st_ino == inode:
            path.unlink()
        if resident is not None:
            resident.app.close()


if __name__ == "__main__":
    main()
