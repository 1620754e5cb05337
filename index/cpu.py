"""How many CPU threads llama.cpp should use now, on a machine that other programs share.

llama.cpp splits each step across its threads and waits at a barrier for the slowest. When another
program holds a core, one of our threads waits for that core while the others spin at the barrier:
two threads next to two busy processes on two cores made a 0.7 s answer take 4 to 50 s. One thread
per core that is free right now keeps the answer as fast as the cores it actually gets allow. So the
thread count is chosen before each model call from the runnable tasks the kernel reports, and the
OpenMP workers spin only briefly before they sleep (a descheduled worker then costs one wake-up, not
a time slice of spinning).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Iterations an idle OpenMP worker spins before it sleeps (libgomp's default is 300,000, about a
# millisecond of a core taken from whoever else needs it between two steps of ours). Setting it
# before llama.cpp loads is the only moment libgomp reads it; a value from the environment wins.
OPENMP_SPIN = "20000"
os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN)

# Machines with more physical cores than this keep one free for the rest of the system (the page's
# server, the browser, the OS); smaller ones need every core for a usable answer time.
KEEP_ONE_FREE_ABOVE = 4


def usable_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int] | None = None, sys_cpu: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct physical cores among the CPUs this process may use: a hyperthread sibling shares its
    core's arithmetic units, so a second llama.cpp thread there mostly waits."""
    cpus = usable_cpus() if cpus is None else cpus
    cores = set()
    for cpu in cpus:
        topology = sys_cpu / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))


def default_threads() -> int:
    """The most threads llama.cpp gets on this machine when nothing else runs."""
    cores = physical_cores()
    return cores - 1 if cores > KEEP_ONE_FREE_ABOVE else cores


def _runnable_system() -> int:
    """Tasks the kernel has running or ready to run right now (the fourth field of /proc/loadavg)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return 0


def _runnable_own() -> int:
    """This process's threads that are running or ready to run (our own spinning workers count there too)."""
    running = 0
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return 1
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "R":
            running += 1
    return max(1, running)


def busy_elsewhere(
    system: Callable[[], int] = _runnable_system, own: Callable[[], int] = _runnable_own
) -> int:
    """Other programs' tasks that want a CPU right now."""
    return max(0, system() - own())


def threads_now(limit: int, cores: int, busy: Callable[[], int] = busy_elsewhere) -> int:
    """Threads for the next model call: the cores nobody else is using, at most `limit`, at least one."""
    return max(1, min(limit, cores - busy()))


class ThreadPolicy:
    """The thread count of one llama.cpp context: the user's number when given, else chosen per call."""

    def __init__(self, fixed: int | None) -> None:
        self.fixed = fixed
        self.limit = fixed or default_threads()
        self.cores = physical_cores()

    def describe(self) -> str:
        if self.fixed:
            return str(self.fixed)
        return f"auto: up to {self.limit}, fewer while other programs keep cores busy"

    def apply(self, llama: Any) -> int:
        """Set the context's threads for the call about to run (a few file reads; no reload)."""
        if self.fixed:
            return self.fixed
        n = threads_now(self.limit, self.cores)
        if n != llama.n_threads or n != llama.n_threads_batch:
            llama._ctx.set_n_threads(n, n)
            llama.n_threads = llama.n_threads_batch = n
            llama.context_params.n_threads = llama.context_params.n_threads_batch = n
        return n
