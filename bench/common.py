"""Helpers shared by the benchmarks: cold-process timing against a baseline.

Start-up is measured from two installs, each against a bare interpreter of its own
venv: the repository's editable ``.venv`` (its ``.pth`` finder adds to every start,
``python -c pass`` included, which flatters the ratio) and a regular (non-editable)
install built into a scratch venv for this run, which is what users and the
initramfs run. ``installs()`` gives both.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def igngen_cmd() -> list[str]:
    exe = VENV_BIN / "igngen"
    return [str(exe)] if exe.exists() else [PYTHON, "-m", "igngen"]


def time_cmd(
    cmd: Sequence[str],
    *,
    runs: int = 7,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    isolated: bool = False,
) -> float:
    """Median wall time in seconds of ``runs`` cold runs (one warm-up run first).

    ``isolated``: without PYTHONPATH, so a regular install runs its own installed code.
    """
    inherited = dict(os.environ)
    if isolated:
        inherited.pop("PYTHONPATH", None)
    full_env = {**inherited, **(env or {})}
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


def baseline(python: str = PYTHON) -> float:
    return time_cmd([python, "-c", "pass"], isolated=python != PYTHON)


class Install(NamedTuple):
    label: str  # "editable .venv" / "regular install"
    python: str  # that venv's interpreter (its bare start is the baseline)
    igngen: list[str]  # the command that starts igngen from it


_installs: list[Install] = []


def _regular_install() -> Install:
    """igngen installed the way users get it (a built wheel, no .pth finder) into a scratch
    venv that is removed when the run ends. pip reuses its cache, so this costs seconds."""
    scratch = Path(tempfile.mkdtemp(prefix="igngen-bench-"))
    atexit.register(shutil.rmtree, scratch, True)
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # -qq: this machine's pip index warnings are noise here; errors still show.
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-qq", "--no-compile", str(REPO)],
        check=True,
        cwd=scratch,  # never the repository: its igngen/ must not shadow the installed one
    )
    # Byte-compile the installed package so cold starts measure igngen, not the compiler.
    subprocess.run([str(venv / "bin/python"), "-m", "compileall", "-q", str(venv / "lib")], check=True)
    return Install("regular install", str(venv / "bin/python"), [str(venv / "bin/igngen")])


def installs() -> list[Install]:
    """The editable ``.venv`` and a regular install in a scratch venv, built once per run."""
    if not _installs:
        _installs.append(Install("editable .venv", PYTHON, igngen_cmd()))
        _installs.append(_regular_install())
    return _installs


def time_install(inst: Install, args: Sequence[str], *, runs: int = 7) -> float:
    """time_cmd for ``igngen ARGS`` started from ``inst``."""
    return time_cmd([*inst.igngen, *args], runs=runs, isolated=inst.python != PYTHON)


def install_lines(inst: Install) -> tuple[float, str]:
    """(bare start of the install's interpreter, a label prefix for its lines)."""
    return baseline(inst.python), f"[{inst.label}] "


def ratio_line(label: str, t: float, base: float) -> str:
    return f"{label}: {t * 1000:.1f} ms = {t / base:.2f}x bare interpreter ({base * 1000:.1f} ms)"
