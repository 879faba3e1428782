"""Disk settings (precedence, located errors), the disk plan, template variables, and the
rendered fragment checked by ignition-validate and systemd-analyze verify."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.consumers import ignition_validate, require
from support.template_vars import disk_only_variables, disk_variables, entry_bytes

from igngen.azure import waagent_conf
from igngen.disks import layers
from igngen.disks.layers import resolve
from igngen.disks.plan import explain, partition_path, plan
from igngen.disks.variables import SCRIPT_PATH, script_text, template_variables
from igngen.errors import DiskSettingsError, WaagentConfError
from igngen.limits import MAX_NVME_DISKS
from igngen.render.templating import render_fragment
from igngen.systemd import escape_path

WAAGENT = """\
ResourceDisk.Format=y
ResourceDisk.Filesystem=xfs
ResourceDisk.MountPoint=/mnt/scratch
ResourceDisk.MountOptions=noatime,nodev
ResourceDisk.EnableSwap=y
ResourceDisk.SwapSizeMB=2048
"""


def conf(text: str = WAAGENT) -> waagent_conf.WaagentConf:
    return waagent_conf.parse(text, "waagent.conf")


# --- settings ------------------------------------------------------------------------


def test_defaults_match_flatcars_waagent() -> None:
    s = resolve()
    assert s.resource.format is True
    assert s.resource.filesystem == "ext4"
    assert s.resource.mount_point == "/mnt/resource"
    assert s.swap.mode == "off"
    assert s.nvme.mode == "off"
    assert s.source_of("resource.format") == "default"


def test_waagent_values_apply_with_their_lines() -> None:
    s = resolve(None, "waagent.conf", conf())
    assert s.resource.filesystem == "xfs"
    assert s.resource.mount_point == "/mnt/scratch"
    assert s.resource.mount_options == ("noatime", "nodev")
    assert s.swap == layers.SwapSettings("file", 2048, layers.DEFAULT_SWAP_LABEL)
    assert s.source_of("swap.mode") == "waagent.conf:5"
    assert s.source_of("resource.filesystem") == "waagent.conf:2"


def test_waagent_none_mount_options_and_format_off() -> None:
    s = resolve(
        None, "waagent.conf", conf("ResourceDisk.Format=n\nResourceDisk.MountOptions=None\n")
    )
    assert s.resource.format is False and s.resource.mount_options == ()


def test_igngen_config_wins_over_waagent_which_wins_over_defaults() -> None:
    s = resolve(
        {"resource": {"filesystem": "ext4"}, "swap": {"size_mib": 512}}, "igngen.yaml", conf()
    )
    assert s.resource.filesystem == "ext4"
    assert s.source_of("resource.filesystem") == "igngen.yaml:disks.resource.filesystem"
    assert s.resource.mount_point == "/mnt/scratch"  # from waagent.conf
    assert s.swap.mode == "file" and s.swap.size_mib == 512
    assert s.resource.label == layers.DEFAULT_LABEL  # default
    assert s.resource.device == layers.DEFAULT_RESOURCE_DEVICE


def test_nvme_by_name_by_index_and_paths() -> None:
    s = resolve({"nvme": {"mode": "mounts", "disks": ["nvme-110G-1", "/dev/nvme9n1"]}}, "c")
    assert s.nvme.devices == (f"{layers.NVME_BY_NAME}/nvme-110G-1", "/dev/nvme9n1")
    assert s.nvme.names == ("nvme-110G-1", "nvme9n1")
    s = resolve({"nvme": {"mode": "raid0", "count": 2}}, "c")
    assert s.nvme.devices == (f"{layers.NVME_BY_INDEX}/1", f"{layers.NVME_BY_INDEX}/2")


# (settings under disks:, the key whose value an error points at, words in its message)
_BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"resource": {"fromat": True}}, "disks.resource.fromat", "unknown key"),
    ({"ephemeral": {}}, "disks.ephemeral", "unknown key"),
    ({"resource": []}, "disks.resource", "expected a mapping"),
    ({"resource": {"format": "yes"}}, "disks.resource.format", "true or false"),
    ({"resource": {"filesystem": "btrfs"}}, "disks.resource.filesystem", "ext4, xfs"),
    ({"resource": {"mount_point": "mnt"}}, "disks.resource.mount_point", "absolute"),
    ({"resource": {"mount_point": "/mnt/a b"}}, "disks.resource.mount_point", "absolute"),
    ({"resource": {"mount_point": "/mnt/%h"}}, "disks.resource.mount_point", "absolute"),
    ({"resource": {"mount_point": "/usr/x"}}, "disks.resource.mount_point", "hide"),
    ({"resource": {"mount_point": "/var"}}, "disks.resource.mount_point", "hide"),
    ({"resource": {"mount_options": ["ro", "a b"]}}, "disks.resource.mount_options", "bad"),
    ({"resource": {"label": "x" * 13, "filesystem": "xfs"}}, "disks.resource.label", "12"),
    ({"resource": {"label": "a/b"}}, "disks.resource.label", "label"),
    ({"swap": {"mode": "file"}}, "disks.swap.mode", "size"),
    ({"swap": {"mode": "zram", "size_mib": 1}}, "disks.swap.mode", "off, file, partition"),
    ({"swap": {"mode": "file", "size_mib": -1}}, "disks.swap.size_mib", "at least"),
    ({"nvme": {"mode": "raid0"}}, "disks.nvme.mode", "neither"),
    ({"nvme": {"disks": ["a"], "count": 1}}, "disks.nvme.count", "not both"),
    ({"nvme": {"disks": ["a", "a"]}}, "disks.nvme.disks", "twice"),
    ({"nvme": {"disks": [".."]}}, "disks.nvme.disks", "bad disk name"),
    ({"nvme": {"count": 0}}, "disks.nvme.count", "at least 1"),
    ({"nvme": {"count": MAX_NVME_DISKS + 1}}, "disks.nvme.count", f"at most {MAX_NVME_DISKS}"),
    (
        {"nvme": {"disks": [f"d{i}" for i in range(MAX_NVME_DISKS + 1)]}},
        "disks.nvme.disks",
        f"at most {MAX_NVME_DISKS}",
    ),
]
# Where the message names another key than the one it points at: the missing size of a
# swap that is on (pointing at the mode), and disks/count given both or neither.
_NAMED = {"size": "disks.swap.size_mib", "not both": "disks.nvme", "neither": "disks.nvme"}


@pytest.mark.parametrize(("data", "key", "words"), _BAD)
def test_bad_settings_name_file_and_key(data: dict[str, Any], key: str, words: str) -> None:
    """Resolved alone (no settings file), an error names the source and the key."""
    with pytest.raises(DiskSettingsError) as exc:
        resolve(data, "c")
    assert str(exc.value).startswith(f"c: {_NAMED.get(words, key)}: "), str(exc.value)
    assert words in str(exc.value)


@pytest.mark.parametrize(("data", "key", "words"), _BAD)
def test_bad_settings_in_a_file_point_at_the_value(
    tmp_path: Path, data: dict[str, Any], key: str, words: str
) -> None:
    """Read from a settings file, the same errors point at the value's line and column
    (file:line:col: key: message), checked when the file is read."""
    from igngen import settings

    text = _block_yaml({"disks": data})
    path = tmp_path / "igngen.yaml"
    path.write_text(text)
    with pytest.raises(DiskSettingsError) as exc:
        settings.load(str(path))
    line, column = _value_position(text, key)
    shown = _NAMED.get(words, key)
    assert str(exc.value).startswith(f"{path}:{line}:{column}: {shown}: "), (str(exc.value), text)
    assert words in str(exc.value)


def _block_yaml(value: dict[str, Any], depth: int = 0) -> str:
    """Mappings in block style (each key on its own line), everything else as JSON (a
    YAML flow value): a document whose positions the test can work out by itself."""
    out = ""
    for key, item in value.items():
        if isinstance(item, dict) and item:
            out += f"{'  ' * depth}{key}:\n" + _block_yaml(item, depth + 1)
        else:
            out += f"{'  ' * depth}{key}: {json.dumps(item)}\n"
    return out


def _value_position(text: str, dotted: str) -> tuple[int, int]:
    """1-based line and column of the value of ``dotted`` in a ``_block_yaml`` document."""
    parts = dotted.split(".")
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("  " * depth + parts[depth] + ":"):
            if depth == len(parts) - 1:
                rest = line[len("  " * depth + parts[depth] + ":") :]
                if rest.strip():
                    return number, len(line) - len(rest.lstrip()) + 1
                return number + 1, len("  " * (depth + 1)) + 1  # a block value below
            depth += 1
    raise AssertionError(f"{dotted} not in {text!r}")


def test_bad_waagent_value_names_its_line() -> None:
    with pytest.raises(DiskSettingsError) as exc:
        resolve(None, "waagent.conf", conf("ResourceDisk.Filesystem=ext3\n"))
    assert str(exc.value).startswith("waagent.conf:1: ")
    with pytest.raises(DiskSettingsError) as exc:
        resolve(None, "waagent.conf", conf("ResourceDisk.EnableSwap=y\n"))
    assert "size" in str(exc.value) and str(exc.value).startswith("waagent.conf:1: ")


def test_mode_false_reads_as_off() -> None:
    assert resolve({"swap": {"mode": False}}, "c").swap.mode == "off"


def test_settings_file_section_reaches_resolve(tmp_path: Path) -> None:
    from igngen import settings

    path = tmp_path / "igngen.yaml"
    path.write_text("disks:\n  resource:\n    filesystem: xfs\n  nvme:\n    mode: off\n")
    loaded = settings.load(str(path))
    s = resolve(loaded.sections.get("disks"), loaded.source)
    assert s.resource.filesystem == "xfs" and s.nvme.mode == "off"
    path.write_text("disks:\n  resource:\n    wipe: true\n")
    with pytest.raises(DiskSettingsError) as exc:
        loaded = settings.load(str(path))
        resolve(loaded.sections.get("disks"), loaded.source)
    # Checked when the file is read, at the key's line and column (file:line:col: key: …).
    assert str(exc.value).startswith(f"{path}:3:11: disks.resource.wipe: unknown key")


# --- plan ------------------------------------------------------------------------------


def test_partition_paths() -> None:
    assert partition_path("/dev/disk/azure/resource", 1) == "/dev/disk/azure/resource-part1"
    assert partition_path("/dev/loop3", 2) == "/dev/loop3p2"
    assert partition_path("/dev/nvme0n1", 1) == "/dev/nvme0n1p1"
    assert partition_path("/dev/sdb", 1) == "/dev/sdb1"


def test_plan_states_follow_imds_and_settings() -> None:
    s = resolve()
    assert plan(s, resource_disk_mib=76800).resource == "declare"
    assert plan(s).resource == "boot"
    assert plan(s, resource_disk_mib=0).resource == "absent"
    off = resolve({"resource": {"format": False}}, "c")
    assert plan(off, resource_disk_mib=76800).resource == "off"


def test_swap_partition_must_fit() -> None:
    s = resolve({"swap": {"mode": "partition", "size_mib": 4096}}, "c")
    with pytest.raises(DiskSettingsError) as exc:
        plan(s, resource_disk_mib=4096)
    assert str(exc.value).startswith("c:disks.swap.size_mib: ")


def test_explain_gives_a_reason_with_its_source_for_every_action() -> None:
    s = resolve({"nvme": {"mode": "raid0", "count": 2}}, "igngen.yaml", conf())
    rows = explain(plan(s, resource_disk_mib=8192))
    assert all(action and reason for action, reason in rows)
    text = "\n".join(f"{a} | {r}" for a, r in rows)
    assert "waagent.conf:1" in text  # ResourceDisk.Format
    assert "swap file /mnt/scratch/swapfile of 2048 MiB" in text
    assert "igngen.yaml:disks.nvme.mode" in text
    assert "redeploy" in text
    absent = explain(plan(s, resource_disk_mib=0))
    assert any("IMDS" in reason for _, reason in absent)
    assert any(action == "no swap" for action, _ in absent)


def test_variables_by_state() -> None:
    s = resolve({"swap": {"mode": "partition", "size_mib": 256}}, "c")
    declared = template_variables(plan(s, resource_disk_mib=8192))
    res = declared["resource"]
    assert res["storage_disk"]["wipe_table"] is True
    assert [p["number"] for p in res["storage_disk"]["partitions"]] == [1, 2]
    assert res["filesystem"]["device"] == "/dev/disk/azure/resource-part2"
    assert res["swap_filesystem"]["format"] == "swap"
    assert res["mount_unit"] == "mnt-resource.mount"
    assert "--swap-mib 256" in res["prepare_command"]
    assert declared["script"]["contents"].startswith("#!/bin/bash")
    boot = template_variables(plan(s))
    assert boot["resource"]["enabled"] and boot["resource"]["storage_disk"] is None
    absent = template_variables(plan(s, resource_disk_mib=0))
    assert not absent["enabled"] and not absent["swap"]["enabled"]
    assert absent["script"]["contents"] == ""


# --- rendered fragment ----------------------------------------------------------------


def render(data: dict[str, Any] | None, mib: int | None, spec: str = "3.3.0") -> dict[str, Any]:
    disk = disk_variables(data, "igngen.yaml", resource_disk_mib=mib)
    return render_fragment(disk_only_variables(disk), system_dirs=(), spec=spec)


def materialize(frag: dict[str, Any], root: Path) -> list[Path]:
    """Write the fragment's units and igngen files into a root for systemd-analyze --root."""
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    # The distribution's units (systemd-fsck@, local-fs.target…) as the real root has them.
    for system_dir in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if Path(system_dir).is_dir():
            shutil.copytree(system_dir, root / "usr/lib/systemd/system", symlinks=True)
            break
    for entry in frag["storage"].get("files", []):
        if entry["path"].startswith("/opt/igngen/"):
            path = root / entry["path"].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry_bytes(entry))
            path.chmod(entry["mode"])
    written = []
    for unit in frag["systemd"]["units"]:
        if "contents" in unit and unit["name"].rsplit(".", 1)[-1] in ("service", "mount", "swap"):
            path = unit_dir / unit["name"]
            path.write_text(unit["contents"])
            written.append(path)
    return written


CASES = [
    pytest.param(None, 76800, id="defaults-declared"),
    pytest.param(None, None, id="defaults-boot-only"),
    pytest.param({"swap": {"mode": "file", "size_mib": 1024}}, 76800, id="swapfile"),
    pytest.param(
        {
            "resource": {
                "filesystem": "xfs",
                "mount_point": "/mnt/my-disk",
                "mount_options": "noatime",
            },
            "swap": {"mode": "partition", "size_mib": 2048},
        },
        76800,
        id="xfs-swap-partition-odd-mount-point",
    ),
    pytest.param(
        {"nvme": {"mode": "mounts", "disks": ["nvme-440G-1", "nvme-440G-2"]}},
        76800,
        id="nvme-mounts",
    ),
    pytest.param(
        {"resource": {"format": False}, "nvme": {"mode": "raid0", "count": 4, "filesystem": "xfs"}},
        0,
        id="nvme-raid0-no-resource",
    ),
]


@pytest.mark.consumer
@pytest.mark.parametrize(("data", "mib"), CASES)
def test_rendered_disks_validate_and_units_verify(
    data: dict[str, Any] | None, mib: int | None, tmp_path: Path
) -> None:
    frag = render(data, mib)
    proc = ignition_validate(json.dumps(frag), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    disk_plan = plan(resolve(data, "igngen.yaml"), resource_disk_mib=mib)
    storage = frag["storage"]
    units = {u["name"]: u for u in frag["systemd"]["units"]}
    res = disk_plan.settings.resource
    if disk_plan.resource == "declare":
        assert storage["disks"][0]["device"] == res.device and storage["disks"][0]["wipeTable"]
        labels = {f["label"]: f for f in storage["filesystems"]}
        assert labels[res.label]["wipeFilesystem"] is True
    else:
        assert not storage.get("disks")
    if disk_plan.resource_managed:
        mount = units[f"{escape_path(res.mount_point)}.mount"]
        assert f"Where={res.mount_point}\n" in mount["contents"]
        assert f"What=/dev/disk/by-label/{res.label}\n" in mount["contents"]
        assert "Requires=igngen-resource-disk.service" in mount["contents"]
        assert mount["enabled"] is True
        assert any(f["path"] == SCRIPT_PATH and f["mode"] == 0o755 for f in storage["files"])
    else:
        assert "igngen-resource-disk.service" not in units
    if disk_plan.settings.nvme.mode == "raid0":
        assert storage["raid"][0]["level"] == "raid0"
        assert len(storage["raid"][0]["devices"]) == 4
    systemd_analyze = require("systemd-analyze")
    written = materialize(frag, tmp_path / "root")
    assert written
    proc = subprocess.run(
        [systemd_analyze, "verify", "--man=no", f"--root={tmp_path / 'root'}", *map(str, written)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cycle" not in proc.stderr.lower(), proc.stderr


@pytest.mark.consumer
def test_units_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The verify step above can fail: a mount unit whose name does not match Where= is refused."""
    frag = render(None, 76800)
    for unit in frag["systemd"]["units"]:
        if unit["name"] == "mnt-resource.mount":
            unit["contents"] = unit["contents"].replace("Where=/mnt/resource", "Where=/mnt/other")
    systemd_analyze = require("systemd-analyze")
    written = materialize(frag, tmp_path / "root")
    proc = subprocess.run(
        [systemd_analyze, "verify", "--man=no", f"--root={tmp_path / 'root'}", *map(str, written)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0


def test_rendered_script_is_the_packaged_one() -> None:
    frag = render(None, 76800)
    (entry,) = [f for f in frag["storage"]["files"] if f["path"] == SCRIPT_PATH]
    assert entry_bytes(entry).decode() == script_text()
    assert entry["overwrite"] is True


def test_spec_340_output_keeps_disk_entries() -> None:
    frag = render({"swap": {"mode": "partition", "size_mib": 64}}, 8192, spec="3.4.0")
    assert frag["ignition"]["version"] == "3.4.0"
    assert {f["format"] for f in frag["storage"]["filesystems"]} == {"ext4", "swap"}


def test_boot_only_mode_never_holds_up_the_boot() -> None:
    """Without IMDS the disk may be missing: the mount is nofail, swap waits for nothing."""
    boot = render({"swap": {"mode": "file", "size_mib": 64}}, None)
    units = {u["name"]: u["contents"] for u in boot["systemd"]["units"] if "contents" in u}
    assert "Options=nofail\n" in units["mnt-resource.mount"]
    assert "DefaultDependencies=no" in units["mnt-resource-swapfile.swap"]
    declared = render({"resource": {"mount_options": ["noatime"]}}, 76800)
    units = {u["name"]: u["contents"] for u in declared["systemd"]["units"] if "contents" in u}
    assert "Options=noatime\n" in units["mnt-resource.mount"]
    rows = explain(plan(resolve(None, "c")))
    assert any("nofail" in action for action, _ in rows)


@pytest.mark.parametrize(
    ("data", "size", "device_unit"),
    [
        ({}, 76800, r"dev-disk-by\x2dlabel-igngen\x2dres.device"),
        ({}, None, r"dev-disk-by\x2dlabel-igngen\x2dres.device"),
        ({"nvme": {"mode": "raid0", "count": 2}}, 76800, r"dev-md-igngen\x2dnvme.device"),
    ],
)
def test_a_slow_prepare_cannot_time_out_the_mount(
    data: dict[str, Any], size: int | None, device_unit: str
) -> None:
    """The mount's device appears only when the prepare service has made it: the device
    wait must outlast the prepare's own start timeout (systemd's default is 90 s)."""
    import re

    frag = render(data, size)
    units = {u["name"]: u for u in frag["systemd"]["units"]}
    assert device_unit in units, sorted(units)
    (dropin,) = units[device_unit]["dropins"]
    wait = int(re.search(r"^JobRunningTimeoutSec=(\d+)$", dropin["contents"], re.M).group(1))  # type: ignore[union-attr]
    prepares = [
        u["contents"]
        for u in units.values()
        if "prepare" in u.get("contents", "").lower() and "ExecStart=" in u.get("contents", "")
    ]
    assert prepares
    for text in prepares:
        prepare = int(re.search(r"^TimeoutStartSec=(\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
        assert 90 < prepare < wait


def test_pipeline_uses_imds_size_and_image_waagent_conf() -> None:
    from igngen.render.pipeline import RenderInputs, render
    from igngen.settings import Settings

    ovf = (Path(__file__).resolve().parent.parent / "examples/basic/ovf-env.xml").read_bytes()
    imds = json.dumps({"compute": {"storageProfile": {"resourceDisk": {"size": "0"}}}}).encode()
    out = render(RenderInputs(ovf=ovf, imds=imds), Settings())
    assert out.variables["disk"]["resource"]["enabled"] is False  # IMDS: no resource disk
    out = render(RenderInputs(ovf=ovf, waagent_conf=b"ResourceDisk.Filesystem=xfs\n"), Settings())
    assert out.variables["disk"]["resource"]["fs_type"] == "xfs"
    assert out.variables["disk"]["resource"]["storage_disk"] is None  # no IMDS: boot only
    with pytest.raises(WaagentConfError) as exc:
        render(RenderInputs(ovf=ovf, waagent_conf=b"ResourceDisk.Format=maybe\n"), Settings())
    assert str(exc.value).startswith("waagent.conf:1: ")


@pytest.mark.consumer
@pytest.mark.parametrize(
    "mount_point",
    ["/mnt/resource", "/mnt/my-disk", "/mnt/a.b/c_d", "/data/x@y:z", "/mnt/.hidden", "/mnt/a+b"],
)
def test_unit_names_match_systemd_escape(mount_point: str) -> None:
    systemd_escape = require("systemd-escape")
    s = resolve(
        {"resource": {"mount_point": mount_point}, "swap": {"mode": "file", "size_mib": 8}}, "c"
    )
    v = template_variables(plan(s, resource_disk_mib=1024))
    expected = sh_out(systemd_escape, "--path", "--suffix=mount", mount_point)
    assert v["resource"]["mount_unit"] == expected
    swap = sh_out(systemd_escape, "--path", "--suffix=swap", f"{mount_point}/swapfile")
    assert v["swap"]["unit"] == swap
    label = sh_out(
        systemd_escape, "--path", "--template=systemd-fsck@.service", v["resource"]["what"]
    )
    assert v["resource"]["fsck_unit"] == label


def sh_out(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout.strip()


# --- local NVMe disks the VM size may not have -------------------------------------------

RAID = {"nvme": {"mode": "raid0", "count": 2}}
MOUNTS = {"nvme": {"mode": "mounts", "disks": ["nvme-440G-1", "nvme-440G-2"]}}


def _nvme_entries(frag: dict[str, Any]) -> tuple[list[Any], list[str], list[str]]:
    storage = frag["storage"]
    units = [u["name"] for u in frag["systemd"]["units"]]
    filesystems = [f["device"] for f in storage.get("filesystems", [])]
    return (
        storage.get("raid", []),
        [d for d in filesystems if "nvme" in d or "/md/" in d],
        [u for u in units if "nvme" in u],
    )


def _render_present(data: dict[str, Any], present: frozenset[str] | None) -> dict[str, Any]:
    disk = disk_variables(data, "igngen.yaml", resource_disk_mib=1024, nvme_present=present)
    return render_fragment(disk_only_variables(disk), system_dirs=(), spec="3.3.0")


@pytest.mark.parametrize("data", [RAID, MOUNTS], ids=["raid0", "mounts"])
def test_a_vm_without_the_local_disks_gets_no_nvme_entries(data: dict[str, Any]) -> None:
    declared = _render_present(data, None)  # offline: the disks are taken to exist
    assert any(_nvme_entries(declared))
    frag = _render_present(data, frozenset())
    assert _nvme_entries(frag) == ([], [], [])
    assert frag["storage"]["disks"][0]["device"] == layers.DEFAULT_RESOURCE_DEVICE  # untouched
    disk_plan = plan(resolve(data, "igngen.yaml"), resource_disk_mib=1024, nvme_present=frozenset())
    (note,) = [a for a in disk_plan.actions if a.action == "no local NVMe actions"]
    assert "igngen.yaml:disks.nvme.mode" in note.reason and "VM size without" in note.reason


def test_mounts_keep_the_disks_the_vm_has() -> None:
    first = f"{layers.NVME_BY_NAME}/nvme-440G-1"
    second = f"{layers.NVME_BY_NAME}/nvme-440G-2"
    frag = _render_present(MOUNTS, frozenset({second}))
    _, filesystems, units = _nvme_entries(frag)
    assert filesystems == [second]
    assert [u for u in units if u.endswith(".mount")] == ["mnt-nvme-nvme\\x2d440G\\x2d2.mount"]
    disk_plan = plan(resolve(MOUNTS, "igngen.yaml"), nvme_present=frozenset({second}))
    assert any(a.action == f"leave out {first}" for a in disk_plan.actions)


def test_a_raid_missing_a_member_stays_as_configured() -> None:
    # RAID0 over fewer disks would be another array; Ignition's failure names the missing one.
    one = frozenset({f"{layers.NVME_BY_INDEX}/1"})
    assert _render_present(RAID, one) == _render_present(RAID, None)


# --- the unit text is in the templates ---------------------------------------------------


def _strings(value: Any, at: str = "disk") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{at}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{at}[{i}]")]
    return [(at, value)] if isinstance(value, str) else []


@pytest.mark.parametrize(("data", "mib"), CASES)
def test_python_hands_the_templates_values_not_unit_text(
    data: dict[str, Any] | None, mib: int | None
) -> None:
    disk = disk_variables(data, "igngen.yaml", resource_disk_mib=mib)
    texts = [(at, s) for at, s in _strings(disk) if at != "disk.script.contents"]
    assert texts
    for at, text in texts:
        # One-line values only: a unit section or a second line would be unit text.
        assert "\n" not in text and not text.startswith("["), (at, text)


def test_an_image_author_can_change_every_nvme_unit(tmp_path: Path) -> None:
    from igngen.render.templating import discover

    builtins = discover((), system_dirs=())
    for name in ("42-nvme-mounts.bu", "42-nvme-raid.bu"):
        text = builtins[name].text
        assert "[Mount]" in text and "[Service]" in text and "JobRunningTimeoutSec=" in text
        (tmp_path / name).write_text(
            text.replace("Options=defaults", "Options=noatime,discard").replace(
                "RemainAfterExit=yes", "RemainAfterExit=yes\n        Nice=5"
            )
        )
    for data in (MOUNTS, RAID):
        disk = disk_variables(data, "igngen.yaml", resource_disk_mib=0)
        frag = render_fragment(disk_only_variables(disk), search_dirs=[tmp_path], system_dirs=())
        units = {u["name"]: u.get("contents", "") for u in frag["systemd"]["units"]}
        mounts = [t for n, t in units.items() if n.startswith("mnt-nvme")]
        prepares = [t for n, t in units.items() if n.startswith("igngen-nvme-")]
        assert mounts and all("Options=noatime,discard\n" in t for t in mounts), units
        assert prepares and all("\nNice=5\n" in t for t in prepares), units
