"""Merge throughput: a cold ``igngen merge`` process vs Ignition 2.14 doing the same merge.

The child is a large custom-data config (N files, N/10 units, N/50 users,
default N = 10 000: 10 000 files, 1 000 units, 200 users); the parent is an
igngen-like fragment. igngen runs ``igngen merge PARENT CHILD -o OUT`` (parse,
validate both, merge, write); Ignition runs fetch-offline on a wrapper whose
``ignition.config.merge`` references the two as data URLs (parse, validate,
merge, re-validate, write the cache), on a scratch directory. Both are cold
processes timed in the same run. Then igngen alone at N = 1k, 10k and 50k to
show growth (linear means ~10x and ~5x between the steps).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

from common import baseline, igngen_cmd, time_cmd

IGNITION = Path("/usr/lib/dracut/modules.d/30ignition/ignition")


def fragment() -> dict[str, object]:
    return {
        "ignition": {"version": "3.3.0"},
        "passwd": {
            "users": [
                {
                    "name": "azureuser",
                    "groups": ["sudo"],
                    "sshAuthorizedKeys": ["ssh-ed25519 AAAA a"],
                }
            ]
        },
        "storage": {
            "files": [
                {
                    "path": "/etc/hostname",
                    "mode": 420,
                    "overwrite": True,
                    "contents": {"source": "data:,vm%0A", "compression": ""},
                },
                {
                    "path": "/srv/f00000",
                    "mode": 384,
                    "overwrite": True,
                    "contents": {"source": "data:,base", "compression": ""},
                },
            ]
        },
    }


def customdata(n: int) -> dict[str, object]:
    files = [
        {"path": f"/srv/f{i:05d}", "mode": 420, "contents": {"source": f"data:,file%20{i}"}}
        for i in range(n)
    ]
    units = [
        {
            "name": f"u{i:05d}.service",
            "enabled": i % 2 == 0,
            "contents": f"[Service]\nExecStart=/bin/echo {i}\n[Install]\nWantedBy=multi-user.target\n",
            "dropins": [{"name": "10-env.conf", "contents": "[Service]\nEnvironment=A=1\n"}],
        }
        for i in range(max(1, n // 10))
    ]
    users = [
        {
            "name": f"user{i:04d}",
            "groups": ["docker"],
            "sshAuthorizedKeys": [f"ssh-ed25519 AAAA{i} k"],
        }
        for i in range(max(1, n // 50))
    ]
    return {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": files, "directories": [{"path": "/srv", "mode": 493}]},
        "systemd": {"units": units},
        "passwd": {
            "users": [{"name": "azureuser", "sshAuthorizedKeys": ["ssh-ed25519 BBBB b"]}, *users]
        },
    }


def _write(work: Path, n: int) -> tuple[Path, Path]:
    parent, child = work / "parent.ign", work / f"child{n}.ign"
    parent.write_text(json.dumps(fragment()))
    child.write_text(json.dumps(customdata(n)))
    return parent, child


def _ignition_cmd(work: Path, parent: Path, child: Path) -> tuple[list[str], dict[str, str]]:
    def ref(p: Path) -> dict[str, str]:
        return {"source": "data:;base64," + base64.b64encode(p.read_bytes()).decode()}

    wrapper = work / "wrapper.ign"
    wrapper.write_text(
        json.dumps(
            {"ignition": {"version": "3.3.0", "config": {"merge": [ref(parent), ref(child)]}}}
        )
    )
    (work / "sys").mkdir(exist_ok=True)
    (work / "root").mkdir(exist_ok=True)
    cmd = [
        str(IGNITION),
        "--stage=fetch-offline",
        "--platform=file",
        f"--root={work / 'root'}",
        f"--config-cache={work / 'cache.json'}",
        f"--neednet={work / 'neednet'}",
        f"--state-file={work / 'state'}",
        "--log-to-stdout",
    ]
    env = {"IGNITION_CONFIG_FILE": str(wrapper), "IGNITION_SYSTEM_CONFIG_DIR": str(work / "sys")}
    return cmd, env


def run() -> list[str]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        work = Path(tmp)
        n = int(os.environ.get("BENCH_MERGE_N", "10000"))
        parent, child = _write(work, n)
        out = work / "out.ign"
        ours = time_cmd([*igngen_cmd(), "merge", str(parent), str(child), "-o", str(out)], runs=5)
        merged = json.loads(out.read_text())
        label = f"N={n}: {n} files, {n // 10} units, {n // 50 + 1} users"
        if IGNITION.exists():
            cmd, env = _ignition_cmd(work, parent, child)
            theirs = time_cmd(cmd, runs=5, env=env)
            cache = json.loads((work / "cache.json").read_text())
            same = len(cache["storage"]["files"]) == len(merged["storage"]["files"])
            lines.append(
                f"{label}: igngen merge {ours * 1000:.0f} ms, Ignition 2.14 fetch-offline "
                f"{theirs * 1000:.0f} ms, ratio igngen/Ignition = {ours / theirs:.2f}"
                f" (same file count: {same})"
            )
        else:
            lines.append(f"{label}: igngen merge {ours * 1000:.0f} ms (Ignition not installed)")
        times = {}
        for size in (1000, 10000, 50000):
            p, c = _write(work, size)
            times[size] = time_cmd(
                [*igngen_cmd(), "merge", str(p), str(c), "-o", str(work / "o.ign")],
                runs=3 if size >= 50000 else 5,
            )
        lines.append(
            f"bare interpreter start: {baseline() * 1000:.0f} ms (fixed cost in every run)"
        )
        lines.append(
            "growth: "
            + ", ".join(f"N={s}: {t * 1000:.0f} ms" for s, t in times.items())
            + f"; 1k->10k x{times[10000] / times[1000]:.1f} (data x10),"
            f" 10k->50k x{times[50000] / times[10000]:.1f} (data x5)"
        )
        low = (times[10000] - times[1000]) / 9000 * 1e6
        high = (times[50000] - times[10000]) / 40000 * 1e6
        lines.append(
            f"marginal cost per file (+units/users): {low:.1f} us between 1k and 10k, "
            f"{high:.1f} us between 10k and 50k (equal for linear growth)"
        )
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
