"""Host-side helpers: logged subprocess runs, tool checks, progress messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_T0 = time.monotonic()


class BuildError(RuntimeError):
    """A build step failed; the message names the step and the tail of its output."""


def note(msg: str) -> None:
    print(f"[e2e {time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def run(
    cmd: Sequence[str | Path],
    *,
    log: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> str:
    """Run ``cmd``; output goes to ``log`` (appended) and is returned. Raises BuildError."""
    args = [str(c) for c in cmd]
    full_env = {**os.environ, "LC_ALL": "C.UTF-8", **(env or {})}
    proc = subprocess.run(
        args, cwd=cwd, env=full_env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out = proc.stdout.decode(errors="replace")
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(args)}\n{out}\n[exit {proc.returncode}]\n")
    if proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise BuildError(f"{args[0]} exited {proc.returncode}:\n{tail}")
    return out


def missing_tools(*names: str) -> list[str]:
    return [n for n in names if shutil.which(n) is None and not Path(n).exists()]


def is_root() -> bool:
    return os.geteuid() == 0


def ssh_keypair(directory: Path) -> tuple[Path, str]:
    """A fresh ed25519 key pair in ``directory``: (private key path, public key line)."""
    key = directory / "id_ed25519"
    for old in (key, key.with_suffix(".pub")):
        old.unlink(missing_ok=True)  # ssh-keygen would ask before overwriting
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", str(key)], check=True
    )
    return key, key.with_suffix(".pub").read_text().strip()
