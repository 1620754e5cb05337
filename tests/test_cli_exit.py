"""How `rag` ends: a command that only reads skips the interpreter's teardown yet loses no output,
and a reader that goes away (`| head -1`) ends it quietly. Fast: invented commands, no models."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

PROGRAM = """
import atexit, sys
import click
from ui import cli as C

atexit.register(lambda: print("teardown ran", file=sys.stderr))

@C.cli.command("lines")
@click.argument("n", type=int)
@C.handle_errors
@C.read_only
def lines(n):
    for i in range(n):
        click.echo(f"line {i}")
    click.echo("logged", err=True)

@C.cli.command("write-lines")
@click.argument("n", type=int)
@C.handle_errors
def write_lines(n):
    for i in range(n):
        click.echo(f"line {i}")

sys.argv = ["rag", *sys.argv[1:]]
C.main()
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_a_read_only_command_skips_teardown_and_loses_no_output():
    result = run("lines", "20000")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 20000 and out[-1] == "line 19999"
    assert result.stderr == "logged\n"  # no teardown: the atexit handler never ran


def test_a_command_that_writes_ends_with_the_normal_teardown():
    result = run("write-lines", "3")
    assert result.returncode == 0 and result.stdout.splitlines() == ["line 0", "line 1", "line 2"]
    assert "teardown ran" in result.stderr


def test_usage_errors_of_a_read_only_command_keep_their_exit_code():
    result = run("lines", "many")
    assert result.returncode == 2 and "Invalid value" in result.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly():
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, "lines", "200000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == "line 0\n"
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert "error" not in err and "Traceback" not in err


def test_a_resident_that_cannot_be_started_leaves_the_answer_and_no_socket(tmp_path, monkeypatch):
    from rag.settings import load_settings
    from ui import resident

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    settings = load_settings(index=tmp_path / "index", keep_warm_s=60)

    def cannot_start(*args, **kwargs):
        raise OSError("no such interpreter")

    monkeypatch.setattr(resident.subprocess, "Popen", cannot_start)
    resident.leave_behind(settings)  # returns instead of raising: the asker still prints its answer
    assert not resident.socket_path(settings).exists()
    assert resident.ask(settings, "a question", {}, None) is None  # the next asker answers itself
