"""References and CA lists against real Ignition 2.14: what fetch-offline renders.

Parent and child configs that carry their own ``ignition.config.merge`` /
``replace`` references (data URLs, gzip, hashes) are rendered by Ignition
depth first before being merged, so Ignition's result must equal
``merge(resolve(parent), resolve(child))`` with our offline resolver. CA lists
(keyed by source) are compared too; the CAs are throwaway self-signed test
certificates in ``tests/data/ignition``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from support.oracle import ignition_merge, normalise, require_ignition, run_many

from igngen.ignition.dataurl import decode
from igngen.ignition.handin import resolve
from igngen.ignition.merge import merge

pytestmark = pytest.mark.consumer

DATA = Path(__file__).parent / "data" / "ignition"


def ref(
    config: dict[str, Any] | bytes, *, gz: bool = False, digest: bool = False
) -> dict[str, Any]:
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    body = gzip.compress(raw, mtime=0) if gz else raw
    out: dict[str, Any] = {"source": "data:;base64," + base64.b64encode(body).decode()}
    if gz:
        out["compression"] = "gzip"
    if digest:
        out["verification"] = {"hash": "sha512-" + hashlib.sha512(raw).hexdigest()}
    return out


def files(version: str, *paths: str, mode: int = 420, **ign: Any) -> dict[str, Any]:
    return {
        "ignition": {"version": version, **ign},
        "storage": {"files": [{"path": p, "mode": mode} for p in paths]},
    }


def ca(n: int) -> dict[str, Any]:
    return ref((DATA / f"ca{n}.pem").read_bytes())


PAIRS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "parent merges two references, child plain",
        files(
            "3.3.0",
            "/p",
            config={
                "merge": [ref(files("3.0.0", "/a", "/b")), ref(files("3.1.0", "/b", mode=384))]
            },
        ),
        files("3.3.0", "/a", mode=256),
    ),
    (
        "child replaces itself; parent kept",
        files("3.3.0", "/p"),
        files("3.3.0", "/discarded", config={"replace": ref(files("3.2.0", "/r"))}),
    ),
    (
        "gzip and hashed references (3.1+)",
        files("3.1.0", "/p", config={"merge": [ref(files("3.1.0", "/g"), gz=True, digest=True)]}),
        files("3.2.0", "/c", config={"merge": [ref(files("3.0.0", "/h"), digest=True)]}),
    ),
    (
        "nested references two levels deep",
        files(
            "3.3.0",
            "/p",
            config={
                "merge": [
                    ref(files("3.3.0", "/n1", config={"merge": [ref(files("3.0.0", "/n2"))]}))
                ]
            },
        ),
        files("3.3.0", "/n2", mode=448),
    ),
    (
        "replace inside a merged reference",
        files("3.3.0", "/p"),
        files(
            "3.3.0",
            "/c",
            config={
                "merge": [ref(files("3.3.0", "/x", config={"replace": ref(files("3.3.0", "/y"))}))]
            },
        ),
    ),
    (
        "CA lists keyed by source",
        {
            "ignition": {
                "version": "3.3.0",
                "security": {"tls": {"certificateAuthorities": [ca(1)]}},
            }
        },
        {
            "ignition": {
                "version": "3.2.0",
                "security": {"tls": {"certificateAuthorities": [ca(2), ca(1)]}},
            }
        },
    ),
]


def _inline_cas(config: dict[str, Any]) -> Any:
    """Ignition's fetch-offline re-encodes CA data URLs (``data:text/plain;…``): compare bytes."""
    out = normalise(config)
    cas = (
        out.get("ignition", {}).get("security", {}).get("tls", {}).get("certificateAuthorities", [])
    )
    for entry in cas:
        entry["source"] = decode(entry["source"])
    return out


def test_references_render_like_ignition(tmp_path: Path) -> None:
    require_ignition()
    results = run_many(
        lambda item: ignition_merge(tmp_path / f"r{item[0]}", item[1][1], item[1][2]),
        list(enumerate(PAIRS)),
    )
    failures = []
    for (name, parent, child), (theirs, log) in zip(PAIRS, results, strict=True):
        if theirs is None:
            failures.append(f"{name}: Ignition failed:\n{log[-500:]}")
            continue
        ours = merge(resolve(parent, source="p")[0], resolve(child, source="c")[0])
        if _inline_cas(ours) != _inline_cas(theirs):
            failures.append(f"{name}:\n  ours   {normalise(ours)}\n  theirs {normalise(theirs)}")
    assert not failures, "\n".join(failures)
