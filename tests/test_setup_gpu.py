"""`make setup` picks the llama.cpp build from the machine: CUDA where a GPU and a toolkit are, else CPU.

Dry runs (`make -n`) with fake `nvcc` and `nvidia-smi` programs on a PATH that holds nothing else of
CUDA's, so the real machine's toolkit (or its absence) does not decide the outcome.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _fake(bin_dir: Path, name: str, output: str) -> None:
    program = bin_dir / name
    program.write_text(f"#!/bin/sh\necho '{output}'\n")
    program.chmod(0o755)


def _dry_setup(tmp_path: Path, nvcc: bool, gpu: bool, *extra: str) -> str:
    fakes = tmp_path / "fakes"
    tools = tmp_path / "tools"
    fakes.mkdir()
    tools.mkdir()
    for tool in ("uname", "grep"):  # what the Makefile's $(shell ...) calls need, and nothing else
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    if nvcc:
        _fake(fakes, "nvcc", "Cuda compilation tools, release 12.4")
    if gpu:
        _fake(fakes, "nvidia-smi", "GPU 0: Invented Accelerator (UUID: GPU-0000)")
    env = {
        **os.environ,
        "PATH": f"{fakes}:{tools}",
        "CUDA_HOME": str(tmp_path / "no-cuda-here"),
    }
    env.pop("CMAKE_ARGS", None)
    done = subprocess.run(
        [str(MAKE), "-n", "-B", "setup", *extra], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _llama_install_line(out: str) -> str:
    lines = [x for x in out.splitlines() if "llama-cpp-python" in x and "pip install" in x]
    assert len(lines) == 1, out
    return lines[0]


def test_a_gpu_and_a_toolkit_build_cuda_for_the_local_architecture(tmp_path):
    out = _dry_setup(tmp_path, nvcc=True, gpu=True)
    line = _llama_install_line(out)
    assert "-DGGML_CUDA=on" in line and "-DCMAKE_CUDA_ARCHITECTURES=native" in line
    assert f"-DCMAKE_CUDA_COMPILER={tmp_path / 'fakes' / 'nvcc'}" in line
    assert "--no-cache-dir" in line  # a cached CPU wheel is not handed back
    assert "GPU offload" in out


def test_without_cuda_the_build_is_the_cpu_one(tmp_path):
    line = _llama_install_line(_dry_setup(tmp_path, nvcc=False, gpu=False))
    assert "GGML_CUDA" not in line and "--no-cache-dir" not in line
    assert "-mno-amx-tile" in line or os.uname().machine != "x86_64"


def test_a_toolkit_without_a_gpu_builds_for_the_cpu_and_says_why(tmp_path):
    out = _dry_setup(tmp_path, nvcc=True, gpu=False)
    assert "GGML_CUDA" not in _llama_install_line(out)
    assert "no NVIDIA GPU" in out


def test_a_gpu_without_a_toolkit_says_what_to_install(tmp_path):
    out = _dry_setup(tmp_path, nvcc=False, gpu=True)
    assert "GGML_CUDA" not in _llama_install_line(out)
    assert "no CUDA toolkit" in out


def test_cmake_args_given_by_the_user_decide_alone(tmp_path):
    out = _dry_setup(tmp_path, True, True, "CMAKE_ARGS=-DGGML_CUDA=off")
    line = _llama_install_line(out)
    assert "-DGGML_CUDA=off" in line and "-DGGML_CUDA=on" not in line
