"""Content-addressed build cache under ``.cache/e2e``.

A build step's output directory is named after a hash of everything that shapes it
(its parameters, the source of the code that builds it, the input files), so a changed
input builds a new directory and an unchanged one is reused. Outputs appear atomically:
a step builds into a temporary sibling and renames it into place when done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE_ROOT = Path(os.environ.get("IGNGEN_E2E_CACHE", REPO / ".cache" / "e2e"))
ARTIFACTS = CACHE_ROOT / "artifacts"
# Timings of every step that really ran (cold builds), appended as JSON lines.
TIMINGS = CACHE_ROOT / "timings.jsonl"


class Key:
    """Accumulates the inputs of a build step into one hash."""

    def __init__(self, step: str) -> None:
        self.step = step
        self._h = hashlib.sha256(step.encode())

    def add(self, label: str, value: object) -> Key:
        self._h.update(f"\0{label}\0".encode())
        self._h.update(json.dumps(value, sort_keys=True, default=str).encode())
        return self

    def add_bytes(self, label: str, data: bytes) -> Key:
        self._h.update(f"\0{label}\0{len(data)}\0".encode())
        self._h.update(data)
        return self

    def add_file(self, path: Path) -> Key:
        return self.add_bytes(str(path), path.read_bytes())

    def add_tree(self, root: Path, *, skip: Iterable[str] = ("__pycache__",)) -> Key:
        """Every regular file under ``root`` (path relative to root, mode bit x, bytes)."""
        skipped = set(skip)
        for path in sorted(root.rglob("*")):
            if skipped.intersection(path.relative_to(root).parts) or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            executable = os.access(path, os.X_OK)
            self.add_bytes(f"{root.name}/{rel}:{int(executable)}", path.read_bytes())
        return self

    def digest(self) -> str:
        return self._h.hexdigest()[:16]


def step_dir(key: Key) -> Path:
    return CACHE_ROOT / f"{key.step}-{key.digest()}"


def cached(key: Key, build: Callable[[Path], None]) -> Path:
    """Return the output directory for ``key``, running ``build(tmpdir)`` if it is missing."""
    final = step_dir(key)
    if (final / ".done").exists():
        return final
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with _locked(CACHE_ROOT / f".{key.step}.lock"):
        if (final / ".done").exists():  # another session built it while we waited
            return final
        _build(key, final, build)
    return final


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per step at a time, across concurrent test sessions."""
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build(key: Key, final: Path, build: Callable[[Path], None]) -> None:
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    start = time.monotonic()
    try:
        build(tmp)
    except BaseException:
        # Keep the remains (logs) of the last failed attempt for a post-mortem.
        failed = final.with_name(final.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        tmp.rename(failed)
        raise
    elapsed = time.monotonic() - start
    (tmp / ".done").write_text(f"{elapsed:.1f}\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    with TIMINGS.open("a") as f:
        f.write(
            json.dumps({"step": key.step, "key": key.digest(), "seconds": round(elapsed, 1)}) + "\n"
        )
    _prune(key.step, keep=final)


def _prune(step: str, *, keep: Path) -> None:
    """Drop older outputs of the same step: the disk images are large."""
    for other in CACHE_ROOT.glob(f"{step}-*"):
        if other != keep and other.is_dir() and not other.name.endswith(".failed"):
            shutil.rmtree(other, ignore_errors=True)


def recipe_key(step: str, *modules: str) -> Key:
    """Start a key with the source text of the ``e2e`` modules that hold the recipe."""
    key = Key(step)
    for name in modules:
        key.add_file(Path(__file__).with_name(f"{name}.py"))
    return key
