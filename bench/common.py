"""Helpers shared by the benchmarks: cold-process timing against a baseline."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def igngen_cmd() -> list[str]:
    exe = VENV_BIN / "igngen"
    return [str(exe)] if exe.exists() else [PYTHON, "-m", "igngen"]


def time_cmd(cmd: Sequence[str], *, runs: int = 7, env: dict[str, str] | None = None,
             stdin: bytes | None = None) -> float:
    """Median wall time in seconds of ``runs`` cold runs (one warm-up run first)."""
    full_env = {**os.environ, **(env or {})}
    samples = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, input=stdin, capture_output=True, env=full_env)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def baseline() -> float:
    return time_cmd([PYTHON, "-c", "pass"])


def ratio_line(label: str, t: float, base: float) -> str:
    return f"{label}: {t * 1000:.1f} ms = {t / base:.2f}x bare interpreter ({base * 1000:.1f} ms)"
