"""Progress for long work: a bar on a terminal, plain lines in logs, nothing when asked to be quiet.

A log (stderr redirected to a file, a CI job, `--json` piped on) gets a line every ``every_s`` seconds
or ``every_n`` items, each ending in a newline, so a tail or an interrupted run still shows how far
it got: ``312/731 files, 4.1 files/s, ~1m42s left``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Literal

ProgressMode = Literal["bar", "lines", "off"]
EVERY_S = 10.0
EVERY_N = 100


def auto_mode(quiet: bool = False) -> ProgressMode:
    """A bar where a person watches (stderr is a terminal), lines where a log is written."""
    if quiet:
        return "off"
    return "bar" if sys.stderr.isatty() else "lines"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def line(done: int, total: int, unit: str, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    text = f"{done}/{total} {unit}, {rate:.1f} {unit}/s"
    if 0 < done < total and rate > 0:
        text += f", ~{duration((total - done) / rate)} left"
    return text


class Progress:
    """Counts finished items; ``advance`` is cheap, it writes only when a line is due."""

    def __init__(
        self,
        total: int,
        unit: str,
        mode: ProgressMode,
        write: Callable[[str], None] | None = None,
        every_s: float = EVERY_S,
        every_n: int = EVERY_N,
        desc: str = "",
    ) -> None:
        self.total, self.unit, self.mode = total, unit, mode
        self.done = 0
        self._write = write or (lambda text: print(text, file=sys.stderr, flush=True))
        self._every_s, self._every_n = every_s, every_n
        self._started = self._last_at = time.monotonic()
        self._last_done = 0
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc or unit, unit=unit.rstrip("s"), leave=False)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        if self.mode != "lines":
            return
        now = time.monotonic()
        if now - self._last_at >= self._every_s or self.done - self._last_done >= self._every_n:
            self._emit(now)

    def _emit(self, now: float) -> None:
        self._write(line(self.done, self.total, self.unit, now - self._started))
        self._last_at, self._last_done = now, self.done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "lines" and self.done != self._last_done and self.total > 1:
            self._emit(time.monotonic())
