"""Thread counts that follow the machine: free cores now, physical cores, the user's number when given."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from index import cpu


def _topology(root: Path, layout: dict[int, tuple[int, int]]) -> Path:
    for n, (package, core) in layout.items():
        topo = root / f"cpu{n}" / "topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text(f"{package}\n")
        (topo / "core_id").write_text(f"{core}\n")
    return root


def test_hyperthread_siblings_count_as_one_core(tmp_path):
    # Four logical CPUs, two physical cores with two hyperthreads each.
    sysfs = _topology(tmp_path, {0: (0, 0), 1: (0, 1), 2: (0, 0), 3: (0, 1)})
    assert cpu.physical_cores([0, 1, 2, 3], sysfs) == 2
    assert cpu.physical_cores([0, 2], sysfs) == 1  # an affinity mask on one core's two siblings


def test_without_topology_every_usable_cpu_counts(tmp_path):
    assert cpu.physical_cores([0, 1, 2], tmp_path) == 3


def test_free_cores_decide_at_least_one_thread():
    assert cpu.threads_now(limit=2, cores=2, busy=lambda: 0) == 2
    assert cpu.threads_now(limit=2, cores=2, busy=lambda: 1) == 1
    assert cpu.threads_now(limit=2, cores=2, busy=lambda: 5) == 1
    # A large machine that keeps one core free loses threads only once the spare core is taken too.
    assert cpu.threads_now(limit=15, cores=16, busy=lambda: 1) == 15
    assert cpu.threads_now(limit=15, cores=16, busy=lambda: 4) == 12


def test_our_own_threads_are_not_counted_as_someone_else_s():
    assert cpu.busy_elsewhere(system=lambda: 3, own=lambda: 1) == 2
    assert cpu.busy_elsewhere(system=lambda: 2, own=lambda: 3) == 0  # samples taken a moment apart


def test_a_busy_process_next_door_is_seen():
    before = cpu.busy_elsewhere()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        seen = 0
        for _ in range(50):  # the kernel's count is a snapshot; the spinner shows up within a moment
            time.sleep(0.05)
            seen = max(seen, cpu.busy_elsewhere())
            if seen > before:
                break
        assert seen >= 1
    finally:
        spinner.kill()
        spinner.wait()


class _FakeContext:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def set_n_threads(self, n: int, n_batch: int) -> None:
        self.calls.append((n, n_batch))


class _FakeLlama:
    def __init__(self, n: int) -> None:
        self._ctx = _FakeContext()
        self.n_threads = self.n_threads_batch = n

        class Params:
            n_threads = n
            n_threads_batch = n

        self.context_params = Params()


def test_a_fixed_count_is_never_changed(monkeypatch):
    monkeypatch.setattr(cpu, "busy_elsewhere", lambda: 7)
    policy = cpu.ThreadPolicy(3)
    llama = _FakeLlama(3)
    assert policy.apply(llama) == 3 and llama._ctx.calls == [] and policy.describe() == "3"


def test_the_automatic_count_follows_the_load_and_touches_the_context_only_on_change(monkeypatch):
    load = {"busy": 0}
    monkeypatch.setattr(cpu, "physical_cores", lambda *a: 4)
    monkeypatch.setattr(cpu, "threads_now", lambda limit, cores: max(1, min(limit, cores - load["busy"])))
    policy = cpu.ThreadPolicy(None)
    llama = _FakeLlama(policy.limit)
    assert policy.limit == 4 and policy.apply(llama) == 4 and llama._ctx.calls == []
    load["busy"] = 3
    assert policy.apply(llama) == 1 and llama._ctx.calls == [(1, 1)]
    assert llama.n_threads == llama.n_threads_batch == llama.context_params.n_threads == 1
    assert policy.apply(llama) == 1 and llama._ctx.calls == [(1, 1)]
    assert "auto" in policy.describe()


def test_openmp_workers_spin_briefly_unless_the_user_says_otherwise():
    code = "import index, os; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    root = Path(__file__).resolve().parent.parent
    ours = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert ours.stdout.strip() == cpu.OPENMP_SPIN
    env["GOMP_SPINCOUNT"] = "123"
    theirs = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert theirs.stdout.strip() == "123"
