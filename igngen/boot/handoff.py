"""Hand the rendered configs to Ignition as a system config directory (pure plan + edge writer).

Ignition reads ``<dir>/user.ign`` (the user config, first choice after a kernel
command-line URL) and merges ``<dir>/base.d/*`` then
``<dir>/base.platform.d/<platform>/*`` under it, in every stage. igngen fills
such a directory and points Ignition at it:

- Ignition 2.14 to 2.26 (every Flatcar today): ``IGNITION_SYSTEM_CONFIG_DIR`` set
  by a drop-in on every ``ignition-*.service`` (dracut module) to
  ``/run/igngen/ignition``. That replaces ``/usr/lib/ignition`` (read-only in
  new initrds, and on Flatcar a set of links into ``/oem``), so the image's own
  base configs are copied in, links resolved, each checked to be a valid config.
- Ignition ≥ 2.27 searches ``/run/ignition`` itself and merges base files from
  all its directories: only igngen's own files go there (``--layout runtime``).

What goes where:
- Ignition custom data (or none): ``user.ign`` is the hand-in (the fragment,
  or the wrapper merging fragment then custom data).
- cloud-config, script, MIME or spec 1.x/2.x custom data: no ``user.ign``; the
  fragment becomes ``base.d/90-igngen.ign`` and Ignition's Azure provider
  fetches the custom data itself, so Flatcar's Ignition treats it exactly as
  without igngen (coreos-cloudinit gets cloud-configs, old specs are translated).
Nothing broken is ever left behind: the directory is built beside the target
and renamed into place only when every file is written and valid.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, NamedTuple

from igngen import paths
from igngen.errors import HandoffError, IgngenError, IgnitionConfigError
from igngen.jsonio import canonical_json, write_fully
from igngen.limits import MAX_CONFIG_BYTES
from igngen.readfile import read_file
from igngen.safejson import loads

RUNTIME_DIR = paths.IGNITION_RUNTIME_DIR  # Ignition >= 2.27
IMAGE_DIR = paths.IGNITION_IMAGE_DIR
FRAGMENT_BASE_NAME = "90-igngen.ign"
IMAGE_USER_NAME = "50-image-user.ign"


class HandoffPlan(NamedTuple):
    user: dict[str, Any] | None
    base: dict[str, dict[str, Any]]  # file name in base.d → config

    def describe(self) -> str:
        parts = ["user.ign"] if self.user is not None else []
        parts += [f"base.d/{n}" for n in sorted(self.base)]
        return ", ".join(parts)


def plan(fragment: dict[str, Any], handin: dict[str, Any], custom_kind: str | None) -> HandoffPlan:
    from igngen.ignition.customdata import EMPTY, IGNITION

    if custom_kind in (None, EMPTY, IGNITION):
        return HandoffPlan(handin, {})
    return HandoffPlan(None, {FRAGMENT_BASE_NAME: fragment})


def _check_config(data: bytes, where: str) -> None:
    from igngen.ignition.validate import check

    try:
        config = loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HandoffError("image config is not JSON; Ignition would fail on it", where) from None
    try:
        check(config, source=where)
    except IgnitionConfigError as exc:
        raise HandoffError(f"image config is invalid: {exc.message}", exc.location) from None


def _image_files(image_dir: str) -> dict[str, bytes]:
    """Relative path → bytes of the image's base configs (links followed) and its user.ign."""
    out: dict[str, bytes] = {}
    for sub in ("base.d", "base.platform.d"):
        root = os.path.join(image_dir, sub)
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, image_dir)
                try:
                    data = read_file(full, "image config", cap=MAX_CONFIG_BYTES)
                except IgngenError as exc:
                    raise HandoffError(exc.message, exc.location) from None
                _check_config(data, full)
                out[rel] = data
    user = os.path.join(image_dir, "user.ign")
    if os.path.exists(user):
        try:
            data = read_file(user, "image user config", cap=MAX_CONFIG_BYTES)
        except IgngenError as exc:
            raise HandoffError(exc.message, exc.location) from None
        if data.strip():
            _check_config(data, user)
            # The image's own user config sits under igngen's fragment and the custom data.
            out[os.path.join("base.d", IMAGE_USER_NAME)] = data
    return out


# What a hand-off directory holds: igngen's own files, as Ignition reads them.
_OWN_TOP = frozenset({"user.ign", "base.d", "base.platform.d"})


def _refuse_foreign(target: str) -> None:
    """The hand-off directory is replaced as a whole, so it must be absent, empty or
    igngen's own: ``--handoff-dir /etc`` must never move a user's files away."""
    if not os.path.lexists(target):
        return
    if os.path.islink(target) or not os.path.isdir(target):
        raise HandoffError("refusing to replace it: not a directory igngen wrote", target)
    for top, dirs, names in os.walk(target, followlinks=False):
        rel = os.path.relpath(top, target)
        for name in names:
            path = os.path.join(top, name)
            ours = (
                name.endswith(".ign")
                and not os.path.islink(path)
                and ((rel == "." and name == "user.ign") or rel.split(os.sep)[0] in _OWN_TOP)
            )
            if not ours:
                raise HandoffError(
                    "refusing to replace it: it holds a file igngen did not write", path
                )
        for name in dirs:
            path = os.path.join(top, name)
            if os.path.islink(path) or (rel == "." and name not in _OWN_TOP):
                raise HandoffError(
                    "refusing to replace it: it holds a directory igngen did not write", path
                )


def write(target: str, handoff: HandoffPlan, *, image_dir: str | None = IMAGE_DIR) -> list[str]:
    """Write the system config directory at ``target``; return the files written (relative)."""
    files: dict[str, bytes] = {}
    if image_dir is not None and os.path.isdir(image_dir):
        files.update(_image_files(image_dir))
    if handoff.user is not None:
        files["user.ign"] = canonical_json(handoff.user)
    for name, config in handoff.base.items():
        rel = os.path.join("base.d", name)
        if rel in files:
            raise HandoffError(
                f"image already has a base config named {name}", os.path.join(image_dir or "", rel)
            )
        files[rel] = canonical_json(config)

    _refuse_foreign(target)
    parent = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(parent, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise HandoffError(f"cannot create {parent}: {exc.strerror}", target) from None
    staging = f"{target}.new-{os.getpid()}"
    previous = f"{target}.old-{os.getpid()}"
    try:
        _remove_tree(staging)
        os.makedirs(staging, mode=0o700)
        for rel, data in sorted(files.items()):
            path = os.path.join(staging, rel)
            # One level at a time: makedirs gives intermediate directories the umask's mode.
            parts = os.path.dirname(rel).split(os.sep) if os.path.dirname(rel) else []
            for depth in range(1, len(parts) + 1):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(os.path.join(staging, *parts[:depth]), 0o700)
            # user.ign may carry a password hash: owner-only, like Ignition's own cache.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                write_fully(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        if os.path.lexists(target):
            os.rename(target, previous)
        os.rename(staging, target)
    except OSError as exc:
        _remove_tree(staging)
        if os.path.lexists(previous) and not os.path.lexists(target):
            with contextlib.suppress(OSError):
                os.rename(previous, target)
        raise HandoffError(f"cannot write the hand-off: {exc.strerror}", target) from None
    _remove_tree(previous)
    return sorted(files)


def _remove_tree(path: str) -> None:
    """``shutil.rmtree(path, ignore_errors=True)``, importing shutil (with bz2, lzma and
    fnmatch: ~3 ms) only when there is something to remove: a first boot has nothing."""
    if os.path.lexists(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
