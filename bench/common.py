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


RUNS = int(os.environ.get("BENCH_RUNS", "11"))


def _env(isolated: bool, env: dict[str, str] | None) -> dict[str, str]:
    inherited = dict(os.environ)
    if isolated:
        inherited.pop("PYTHONPATH", None)
    return {**inherited, **(env or {})}


def _once(cmd: Sequence[str], env: dict[str, str], stdin: bytes | None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
    return elapsed


def time_cmd(
    cmd: Sequence[str],
    *,
    runs: int = RUNS,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    isolated: bool = False,
) -> float:
    """Median wall time in seconds of ``runs`` cold runs (each a fresh process; one
    warm-up run first so the page cache holds the files, as it does on a second boot).

    ``isolated``: without PYTHONPATH, so a regular install runs its own installed code.
    """
    full_env = _env(isolated, env)
    _once(cmd, full_env, stdin)
    return statistics.median(_once(cmd, full_env, stdin) for _ in range(runs))


def time_against_bare(
    cmd: Sequence[str], python: str, *, runs: int = RUNS, isolated: bool = False
) -> tuple[float, float]:
    """(median of ``cmd``, median of ``python -c pass``), their runs interleaved so that
    the machine's load at the time weighs on both alike (the ratio is what is compared)."""
    full_env = _env(isolated, None)
    bare = [python, "-c", "pass"]
    _once(cmd, full_env, None)
    _once(bare, full_env, None)
    t, b = [], []
    for _ in range(runs):
        t.append(_once(cmd, full_env, None))
        b.append(_once(bare, full_env, None))
    return statistics.median(t), statistics.median(b)


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
    subprocess.run(
        [str(venv / "bin/python"), "-m", "compileall", "-q", str(venv / "lib")], check=True
    )
    return Install("regular install", str(venv / "bin/python"), [str(venv / "bin/igngen")])


def installs() -> list[Install]:
    """The editable ``.venv`` and a regular install in a scratch venv, built once per run."""
    if not _installs:
        _installs.append(Install("editable .venv", PYTHON, igngen_cmd()))
        _installs.append(_regular_install())
    return _installs


def time_install(inst: Install, args: Sequence[str], *, runs: int = RUNS) -> tuple[float, float]:
    """``igngen ARGS`` started from ``inst``: (its median, the median bare start of the
    install's own interpreter), measured interleaved (time_against_bare)."""
    return time_against_bare(
        [*inst.igngen, *args], inst.python, runs=runs, isolated=inst.python != PYTHON
    )


def bare_lines(inst: Install) -> list[str]:
    """The install's bare interpreter start, plain and as the initramfs wrapper runs it
    (-I -S: no site, no environment), for reference; ratios divide by the plain one."""
    iso = inst.python != PYTHON
    plain = time_cmd([inst.python, "-c", "pass"], isolated=iso)
    strict = time_cmd([inst.python, "-I", "-S", "-c", "pass"], isolated=iso)
    return [
        f"[{inst.label}] bare interpreter: python -c pass {plain * 1000:.1f} ms, "
        f"python -I -S -c pass {strict * 1000:.1f} ms (median of {RUNS})"
    ]


def ratio_line(label: str, t: float, base: float, target: float | None = None) -> str:
    line = f"{label}: {t * 1000:.1f} ms = {t / base:.2f}x bare interpreter ({base * 1000:.1f} ms)"
    if target is not None:
        verdict = "met" if t / base <= target else "NOT MET"
        line += f"; target <= {target:g}x: {verdict}"
    return line
