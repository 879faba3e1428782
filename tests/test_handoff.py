"""The hand-off directory: layout for IGNITION_SYSTEM_CONFIG_DIR, the image's base configs
carried over (Flatcar's links into /oem resolved), all-or-nothing writes, and the result
read by the real Ignition."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from support.consumers import run_ignition

from igngen.boot import handoff
from igngen.errors import HandoffError


def config(path: str, text: str) -> dict[str, Any]:
    return {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": [{"path": path, "contents": {"source": f"data:,{text}"}}]},
    }


FRAGMENT = config("/etc/from-fragment", "fragment")
HANDIN = {
    "ignition": {"version": "3.3.0"},
    "storage": {"files": [{"path": "/etc/from-handin", "contents": {"source": "data:,handin"}}]},
}


def flatcar_like_image(tmp: Path) -> Path:
    """/usr/lib/ignition as Flatcar ships it: base.d/ files, base.platform.d/azure a link into /oem."""
    image = tmp / "usr-lib-ignition"
    oem = tmp / "oem"
    (oem / "base").mkdir(parents=True)
    (oem / "base/base.ign").write_text(json.dumps(config("/etc/from-oem", "oem")))
    (image / "base.d").mkdir(parents=True)
    (image / "base.d/10-image.ign").write_text(json.dumps(config("/etc/from-image", "image")))
    (image / "base.platform.d").mkdir()
    (image / "base.platform.d/azure").symlink_to(oem / "base")
    return image


def tree(d: Path) -> dict[str, tuple[bool, int]]:
    """Relative path → (is a link, permission bits) of everything under d."""
    return {
        str(p.relative_to(d)): (p.is_symlink(), stat.S_IMODE(p.lstat().st_mode))
        for p in sorted(d.rglob("*"))
    }


def test_plan_ignition_custom_data_goes_to_user_ign() -> None:
    for kind in (None, "empty", "ignition"):
        p = handoff.plan(FRAGMENT, HANDIN, kind)
        assert p.user == HANDIN and p.base == {}
        assert p.describe() == "user.ign"


def test_plan_other_custom_data_leaves_user_ign_to_the_platform() -> None:
    p = handoff.plan(FRAGMENT, HANDIN, "cloud-config")
    assert p.user is None and p.base == {"90-igngen.ign": FRAGMENT}
    assert p.describe() == "base.d/90-igngen.ign"


def test_sysdir_layout_carries_image_configs_as_real_files(tmp_path: Path) -> None:
    image = flatcar_like_image(tmp_path)
    target = tmp_path / "run/igngen/ignition"
    written = handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, None), image_dir=str(image))
    assert written == ["base.d/10-image.ign", "base.platform.d/azure/base.ign", "user.ign"]
    assert tree(target) == {
        "base.d": (False, 0o700),
        "base.d/10-image.ign": (False, 0o600),
        "base.platform.d": (False, 0o700),
        "base.platform.d/azure": (False, 0o700),
        "base.platform.d/azure/base.ign": (False, 0o600),
        "user.ign": (False, 0o600),
    }
    assert json.loads((target / "user.ign").read_text()) == HANDIN
    # No staging or previous copies beside the target.
    assert sorted(p.name for p in target.parent.iterdir()) == ["ignition"]


def test_runtime_layout_has_only_igngens_files(tmp_path: Path) -> None:
    target = tmp_path / "run/ignition"
    assert handoff.write(
        str(target), handoff.plan(FRAGMENT, HANDIN, "cloud-config"), image_dir=None
    ) == ["base.d/90-igngen.ign"]


def test_rewrite_replaces_the_directory_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "h"
    handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, None), image_dir=None)
    handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, "script"), image_dir=None)
    assert list(tree(target)) == ["base.d", "base.d/90-igngen.ign"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "image config is not JSON"),
        (b'{"ignition": {"version": "9.9.9"}}', "image config is invalid"),
        (b"\xff\xfe", "image config is not JSON"),
    ],
)
def test_broken_image_config_is_refused_and_nothing_changes(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    image = flatcar_like_image(tmp_path)
    target = tmp_path / "h"
    handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, None), image_dir=None)
    before = {p: (target / p).read_bytes() for p in tree(target) if (target / p).is_file()}
    (image / "base.d/20-broken.ign").write_bytes(content)
    with pytest.raises(HandoffError) as err:
        handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, None), image_dir=str(image))
    assert needle in str(err.value) and "20-broken.ign" in str(err.value)
    after = {p: (target / p).read_bytes() for p in tree(target) if (target / p).is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("h")) == ["h"]


def test_fragment_name_collision_is_an_error(tmp_path: Path) -> None:
    image = tmp_path / "image"
    (image / "base.d").mkdir(parents=True)
    (image / "base.d/90-igngen.ign").write_text(json.dumps(config("/etc/x", "x")))
    with pytest.raises(HandoffError, match="already has a base config"):
        handoff.write(
            str(tmp_path / "h"), handoff.plan(FRAGMENT, HANDIN, "script"), image_dir=str(image)
        )
    assert not (tmp_path / "h").exists()


def test_unwritable_parent_is_a_located_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HandoffError) as err:
        handoff.write(str(blocker / "h"), handoff.plan(FRAGMENT, HANDIN, None), image_dir=None)
    assert str(blocker / "h") in str(err.value)


@pytest.mark.consumer
def test_real_ignition_reads_user_ign_and_every_base_config(tmp_path: Path) -> None:
    image = flatcar_like_image(tmp_path)
    target = tmp_path / "handoff"
    handoff.write(str(target), handoff.plan(FRAGMENT, HANDIN, None), image_dir=str(image))
    run = run_ignition(tmp_path / "ign", system_dir=target, platform="azure")
    assert (run.root / "etc/from-handin").read_text() == "handin"
    assert (run.root / "etc/from-image").read_text() == "image"
    assert (run.root / "etc/from-oem").read_text() == "oem"
    assert os.path.isdir(image / "base.platform.d/azure")  # the image itself is untouched


def test_remove_tree_removes_a_handoff_and_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    tree = tmp_path / "old"
    (tree / "base.d").mkdir(parents=True)
    (tree / "base.d" / "a.ign").write_text("{}")
    (tree / "user.ign").write_text("{}")
    (tree / "link-dir").symlink_to(outside, target_is_directory=True)
    (tree / "link-file").symlink_to(outside / "keep")
    handoff.remove_tree(str(tree))
    assert not os.path.lexists(tree)
    assert (outside / "keep").read_text() == "x"  # what the links pointed at is untouched


def test_remove_tree_of_nothing_or_a_file(tmp_path: Path) -> None:
    handoff.remove_tree(str(tmp_path / "missing"))  # nothing there: nothing to do
    stray = tmp_path / "stray"
    stray.write_text("x")
    handoff.remove_tree(str(stray))
    assert not os.path.lexists(stray)


def test_remove_tree_stops_at_its_depth_bound(tmp_path: Path) -> None:
    deep = tmp_path / "t"
    leaf = deep.joinpath(*["d"] * 12)
    leaf.mkdir(parents=True)
    handoff.remove_tree(str(deep))
    # Deeper than a hand-off ever is: left in place (the caller ignores a leftover).
    assert deep.exists() and not deep.joinpath(*["d"] * 10, "d", "x").exists()
