"""Access to the shared corpus of real-world samples (../shared/corpus beside the repo).

A user's clone has no ../shared: tests that need it skip cleanly.
Set IGNGEN_SHARED to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    env = os.environ.get("IGNGEN_SHARED")
    candidate = Path(env) if env else _REPO.parent / "shared"
    return candidate if (candidate / "corpus").is_dir() else None


def corpus_file(relative: str) -> Path:
    """Path of a corpus sample; skips the calling test when the corpus is absent."""
    base = shared_dir()
    if base is None:
        pytest.skip("../shared/corpus is not present (only on project machines)")
    path = base / "corpus" / relative
    if not path.exists():
        pytest.skip(f"corpus sample {relative} is not present")
    return path
