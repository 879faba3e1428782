"""Real Ignition 2.14 as an oracle for differential tests: its own merge result, and ignition-validate's verdict.

``ignition_merge`` hands Ignition a user config whose ``ignition.config.merge``
lists the parent then the child as ``data:`` URLs, runs only fetch-offline
(which renders references and writes the result to the config cache) and
reads the cache back. Runs are independent processes, so ``run_many`` runs them
two at a time.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from support.consumers import IGNITION_BIN, IGNITION_VALIDATE, require, require_file

T = TypeVar("T")
R = TypeVar("R")


def require_ignition() -> None:
    require_file(IGNITION_BIN, "Debian's ignition package")


def require_validate() -> None:
    require(IGNITION_VALIDATE)


def data_ref(config: dict[str, Any] | bytes) -> dict[str, str]:
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    return {"source": "data:;base64," + base64.b64encode(raw).decode()}


def fetch_offline(workdir: Path, user_config: bytes) -> tuple[dict[str, Any] | None, str]:
    """Run fetch-offline on ``user_config``; (cached config or None, log)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "sys").mkdir(exist_ok=True)
    (workdir / "root").mkdir(exist_ok=True)
    cfg = workdir / "user.ign"
    cfg.write_bytes(user_config)
    cache = workdir / "cache.json"
    proc = subprocess.run(
        [
            str(IGNITION_BIN),
            "--stage=fetch-offline",
            "--platform=file",
            f"--root={workdir / 'root'}",
            f"--config-cache={cache}",
            f"--neednet={workdir / 'neednet'}",
            f"--state-file={workdir / 'state'}",
            "--log-to-stdout",
        ],
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "IGNITION_CONFIG_FILE": str(cfg),
            "IGNITION_SYSTEM_CONFIG_DIR": str(workdir / "sys"),
            "HOME": str(workdir),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or not cache.exists():
        return None, log
    return json.loads(cache.read_text()), log


def ignition_merge(
    workdir: Path, parent: dict[str, Any], child: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    wrapper = {
        "ignition": {"version": "3.3.0", "config": {"merge": [data_ref(parent), data_ref(child)]}}
    }
    return fetch_offline(workdir, json.dumps(wrapper).encode())


def ignition_validate(path: Path) -> tuple[bool, str]:
    proc = subprocess.run(
        [IGNITION_VALIDATE, str(path)], capture_output=True, text=True, timeout=60
    )
    return proc.returncode == 0, proc.stdout + proc.stderr


def run_many(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Map ``fn`` over ``items`` two at a time (the machine is shared)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


def prune(value: Any) -> Any:
    """Drop empty objects, empty lists and nulls recursively (Ignition spells defaults out)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def normalise(config: dict[str, Any]) -> Any:
    """Comparable form: pruned, without the version and the wrapper's merge list."""
    out = json.loads(json.dumps(config))
    ign = out.get("ignition") or {}
    ign.pop("version", None)
    (ign.get("config") or {}).pop("merge", None)
    return prune(out)


def chunks(items: Iterable[T], n: int) -> list[list[T]]:
    seq = list(items)
    return [seq[i : i + n] for i in range(0, len(seq), n)]
