"""Run the real consumers of igngen's output on scratch directories.

Every test that needs a tool asks through ``require``/``require_file``/``missing``
here: on a developer's clone without the Debian packages the test is skipped and
the rest still runs; under ``CI=true`` a missing tool fails the test, so a CI run
whose install failed cannot go green on skips. `make test` installs them
(tools/install-deps, which exits non-zero when it cannot).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

IGNITION_BIN = Path("/usr/lib/dracut/modules.d/30ignition/ignition")
IGNITION_VALIDATE = "ignition-validate"

# Users and groups a Flatcar root has before Ignition's files stage
# (initrd-setup-root copies these from baselayout), see the reference sheet §7a/§7c.
_PASSWD = "root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Flatcar Admin:/home/core:/bin/bash\n"
_GROUP = (
    "root:x:0:\nwheel:x:10:root,core\nusers:x:100:\nsudo:x:150:\ndocker:x:233:core\n"
    "systemd-journal:x:248:core\ncore:x:500:\n"
)
_SHADOW = "root:*:19000:0:99999:7:::\ncore:*:19000:0:99999:7:::\n"
_GSHADOW = "root:*::\nwheel:*::root,core\nusers:*::\nsudo:*::\ndocker:*::core\nsystemd-journal:*::core\ncore:*::\n"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(what: str) -> NoReturn:
    """``what`` (a tool or package the test runs) is not installed: skip, or fail under CI."""
    if in_ci():
        pytest.fail(
            f"{what} is not installed; under CI=true that is a failure (tools/install-deps installs it)",
            pytrace=False,
        )
    pytest.skip(f"{what} is not installed (make test installs it)")


def require(*tools: str) -> str:
    """The path of the first tool; every one of ``tools`` must be on PATH."""
    paths = [shutil.which(tool) for tool in tools]
    absent = [tool for tool, path in zip(tools, paths, strict=True) if path is None]
    if absent:
        missing(", ".join(absent))
    assert paths[0] is not None
    return paths[0]


def require_file(path: Path, what: str) -> Path:
    """A tool or file installed at a fixed place (Debian's ignition binary, a dracut module)."""
    if not path.exists():
        missing(what)
    return path


def ignition_validate(config: bytes | str | Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run Debian's ignition-validate on a config; returns the completed process."""
    require(IGNITION_VALIDATE)
    if isinstance(config, Path):
        path = config
    else:
        path = tmp / "validate-me.ign"
        path.write_bytes(config.encode() if isinstance(config, str) else config)
    return subprocess.run(
        [IGNITION_VALIDATE, str(path)], capture_output=True, text=True, timeout=60
    )


def make_scratch_root(root: Path) -> Path:
    """A minimal target root the files stage can run useradd/usermod against."""
    (root / "etc/selinux").mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(_PASSWD)
    (root / "etc/group").write_text(_GROUP)
    (root / "etc/shadow").write_text(_SHADOW)
    (root / "etc/gshadow").write_text(_GSHADOW)
    os.chmod(root / "etc/shadow", 0o600)
    os.chmod(root / "etc/gshadow", 0o600)
    # Debian's build relabels at the end of the files stage; these make that a no-op.
    (root / "etc/selinux/config").write_text("SELINUX=disabled\nSELINUXTYPE=targeted\n")
    (root / "home/core").mkdir(parents=True, exist_ok=True)
    return root


def _make_traversable(root: Path) -> None:
    """Ignition writes SSH keys as the target user, who must be able to reach the root.

    pytest's temporary directories are 0700; add search permission (not read) on
    the chain from the temp directory down to the scratch root.
    """
    top = Path(os.path.realpath(os.environ.get("TMPDIR", "/tmp")))
    path = Path(os.path.realpath(root))
    chain = [path, *path.parents]
    for p in chain:
        if p == top or p == Path("/"):
            break
        mode = p.stat().st_mode & 0o7777
        if mode & 0o011 != 0o011:
            p.chmod(mode | 0o011)


@dataclass
class IgnitionRun:
    root: Path
    cache: Path
    log: str
    returncode: int
    stage: str

    def cached_config(self) -> dict[str, Any]:
        return json.loads(self.cache.read_text())  # type: ignore[no-any-return]


def run_ignition(
    workdir: Path,
    *,
    user_config: bytes | None = None,
    system_dir: Path | None = None,
    stages: tuple[str, ...] = ("fetch-offline", "files"),
    platform: str = "file",
    root: Path | None = None,
    check: bool = True,
) -> IgnitionRun:
    """Run real Ignition stages against a scratch root, state kept under ``workdir``.

    ``user_config`` is handed in as IGNITION_CONFIG_FILE (platform ``file``);
    ``system_dir`` becomes IGNITION_SYSTEM_CONFIG_DIR (base.d/, base.platform.d/,
    user.ign). Returns the last stage's result; raises AssertionError with the
    log when a stage fails and ``check`` is set.
    """
    require_file(IGNITION_BIN, "Debian's ignition package")
    workdir.mkdir(parents=True, exist_ok=True)
    stub_dir = workdir / "stub-bin"
    stub_dir.mkdir(exist_ok=True)
    setfiles = stub_dir / "setfiles"
    setfiles.write_text("#!/bin/sh\ncat >/dev/null\nexit 0\n")
    setfiles.chmod(0o755)
    if root is None:
        root = make_scratch_root(workdir / "root")
    _make_traversable(root)
    sysdir = system_dir if system_dir is not None else workdir / "empty-system"
    sysdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": f"{stub_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "IGNITION_SYSTEM_CONFIG_DIR": str(sysdir),
        "HOME": str(workdir),
    }
    if user_config is not None:
        cfg = workdir / "user-config.ign"
        cfg.write_bytes(user_config)
        env["IGNITION_CONFIG_FILE"] = str(cfg)
    cache = workdir / "ignition.json"
    common = [
        f"--platform={platform}",
        f"--root={root}",
        f"--config-cache={cache}",
        f"--neednet={workdir / 'neednet'}",
        f"--state-file={workdir / 'state'}",
        "--log-to-stdout",
    ]
    result: IgnitionRun | None = None
    for stage in stages:
        proc = subprocess.run(
            [str(IGNITION_BIN), f"--stage={stage}", *common],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = IgnitionRun(
            root=root,
            cache=cache,
            log=proc.stdout + proc.stderr,
            returncode=proc.returncode,
            stage=stage,
        )
        if proc.returncode != 0:
            if check:
                raise AssertionError(
                    f"ignition --stage={stage} failed ({proc.returncode}):\n{result.log}"
                )
            return result
    assert result is not None
    return result
