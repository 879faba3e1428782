"""Butane documents that must be refused (or warned about), each at its YAML line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from igngen.butane.transpile import transpile_bytes
from igngen.errors import ButaneError

FILES = Path(__file__).resolve().parent / "data" / "butane" / "files"
HEAD = "variant: flatcar\nversion: 1.0.0\n"

# (document, location "line:col" of the error, words the message must contain)
REFUSED = [
    (HEAD + "storage:\n  filez: []\n", "4:3", "unknown key 'filez'"),
    (HEAD + "passwd:\n  users:\n    - name: a\n      sudo: true\n", "6:7", "unknown key 'sudo'"),
    (
        HEAD + "storage:\n  files:\n    - path: /a\n      mode: '0644'\n",
        "6:13",
        "expected an integer",
    ),
    (
        HEAD + "storage:\n  files:\n    - path: /a\n      overwrite: maybe\n",
        "6:18",
        "true or false",
    ),
    (HEAD + "storage:\n  files: {}\n", "4:10", "expected a list"),
    (
        HEAD
        + "storage:\n  files:\n    - path: /a\n      contents:\n        inline: x\n        source: data:,x\n",
        "7:9",
        "only one of",
    ),
    (
        HEAD + "storage:\n  files:\n    - path: /a\n      contents:\n        local: hello.txt\n",
        "7:16",
        "-d/--files-dir",
    ),
    (
        HEAD
        + "storage:\n  luks:\n    - name: x\n      device: /dev/sdb\n      clevis:\n        tpm2: true\n",
        "7:7",
        "clevis is not supported in this spec version (variant flatcar 1.0.0)",
    ),
    (
        HEAD
        + "storage:\n  filesystems:\n    - device: /dev/sdb\n      path: /mnt/x\n      with_mount_unit: true\n",
        "5:7",
        "needs 'format'",
    ),
    (
        HEAD
        + "storage:\n  filesystems:\n    - device: /dev/sdb\n      format: ext4\n      with_mount_unit: true\n",
        "5:7",
        "needs 'path'",
    ),
    (HEAD + "storage:\n  files:\n    - path: relative\n", "5:13", "absolute"),
    (HEAD + "a: 1\na: 2\n", "4:1", "duplicate key 'a'"),
    (HEAD + "ignition:\n  version: 3.4.0\n", "4:3", "unknown key 'version'"),
    (HEAD + "storage:\n  files:\n    - path: /a\n    - path: /a\n", "6:7", "duplicate"),
    ("variant: flatcar\nversion: 9.9.9\n", "1:10", "unsupported variant/version flatcar 9.9.9"),
    ("version: 1.0.0\n", "1:1", "missing 'variant'"),
    (
        "variant: fcos\nversion: 1.5.0\nboot_device:\n  mirror:\n    devices: [/dev/sda]\n",
        "5:14",
        "mirroring requires at least two devices",
    ),
    (
        "variant: fcos\nversion: 1.5.0\ngrub:\n  users:\n    - name: root\n",
        "5:7",
        'field "password_hash" is required',
    ),
    (HEAD + "boot_device:\n  mirror: {}\n", "3:1", "Fedora CoreOS feature"),
    (HEAD + "grub:\n  users: []\n", "3:1", "Fedora CoreOS feature"),
    ("variant: fcos\nversion: 1.4.0\ngrub:\n  users: []\n", "3:1", "unknown key 'grub'"),
    (
        "variant: flatcar\nversion: 1.0.0\nsystemd:\n  units:\n    - name: a.service\n      contents_local: x\n",
        "6:7",
        "unknown key 'contents_local'",
    ),
    (
        HEAD + "ignition:\n  config:\n    merge:\n      - inline: '{\"ignition\":{}}'\n",
        "6:17",
        "embedded Ignition config is invalid",
    ),
    (HEAD + "ignition:\n  config:\n    merge:\n      - inline: 'not json'\n", "6:17", "not JSON"),
    (
        HEAD + "storage:\n  files:\n    - path: /a\n      contents:\n        inline: [x]\n",
        "7:17",
        "expected a string",
    ),
    (HEAD + "storage: [\n", "4:1", "invalid YAML"),
    (HEAD + "passwd: !!binary aGk=\n", "3:9", "expected a mapping"),
    (HEAD + "passwd: !custom x\n", "3:9", "unsupported YAML tag"),
    (HEAD + "x: &a {k: 1}\npasswd:\n  <<: *a\n", "5:3", "merge keys"),
    (HEAD + "---\n" + HEAD, "3:1", "another document"),
]


@pytest.mark.parametrize(("doc", "where", "words"), REFUSED)
def test_refused_with_location(doc: str, where: str, words: str) -> None:
    with pytest.raises(ButaneError) as exc:
        transpile_bytes(doc, source="in.bu")
    text = str(exc.value)
    assert text.startswith(f"in.bu:{where}:"), text
    assert words in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("local", "words"),
    [
        ("../escape.txt", "leads outside"),
        ("missing.txt", "cannot read local file"),
        ("blob.bin", None),
    ],
)
def test_local_files_stay_inside_the_files_dir(local: str, words: str | None) -> None:
    doc = HEAD + f"storage:\n  files:\n    - path: /a\n      contents:\n        local: {local}\n"
    if words is None:
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))
        return
    with pytest.raises(ButaneError, match=words):
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))


def test_symlink_out_of_files_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "files" / "link").symlink_to(tmp_path / "secret")
    doc = HEAD + "storage:\n  files:\n    - path: /a\n      contents:\n        local: link\n"
    with pytest.raises(ButaneError, match="leads outside"):
        transpile_bytes(doc, source="in.bu", files_dir=str(tmp_path / "files"))


def test_tree_conflicts_with_declared_contents_and_kinds() -> None:
    doc = (
        HEAD
        + "storage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: x\n  trees:\n    - local: tree\n"
    )
    with pytest.raises(ButaneError, match="already declared") as exc:
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))
    assert str(exc.value).startswith("in.bu:9:7")
    doc = HEAD + "storage:\n  directories:\n    - path: /a.txt\n  trees:\n    - local: tree\n"
    with pytest.raises(ButaneError, match="already declared"):
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))
    doc = HEAD + "storage:\n  trees:\n    - local: hello.txt\n"
    with pytest.raises(ButaneError, match="not a directory"):
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))


def test_unit_contents_and_contents_local_are_exclusive() -> None:
    doc = (
        "variant: flatcar\nversion: 1.1.0\nsystemd:\n  units:\n    - name: a.service\n"
        "      contents: x\n      contents_local: unit.service\n"
    )
    with pytest.raises(ButaneError, match="only one of 'contents' and 'contents_local'"):
        transpile_bytes(doc, source="in.bu", files_dir=str(FILES))


@pytest.mark.parametrize(
    ("mode", "directory", "warned"),
    [
        ("644", False, True),
        ("0644", False, False),
        ("755", True, True),
        ("600", False, True),
        ("0", False, False),
        ("420", False, False),
        ("0755", True, False),
    ],
)
def test_decimal_mode_warning_and_strict(mode: str, directory: bool, warned: bool) -> None:
    kind = "directories" if directory else "files"
    doc = HEAD + f"storage:\n  {kind}:\n    - path: /a\n      mode: {mode}\n"
    result = transpile_bytes(doc, source="in.bu")
    found = [w for w in result.warnings if "leading zero" in w]
    assert bool(found) == warned
    if warned:
        assert found[0].startswith("in.bu:6:13:")
        with pytest.raises(ButaneError, match=r"^in.bu:6:13: .*strict mode"):
            transpile_bytes(doc, source="in.bu", strict=True)
    elif not result.warnings:
        transpile_bytes(doc, source="in.bu", strict=True)


def test_fcos_partition_layout_warnings() -> None:
    doc = (
        "variant: fcos\nversion: 1.4.0\nstorage:\n  disks:\n    - device: /dev/disk/by-id/coreos-boot-disk\n"
        "      partitions:\n        - label: root\n          number: 4\n          size_mib: 4096\n"
        "        - label: boot\n          number: 5\n"
    )
    warnings = transpile_bytes(doc, source="in.bu").warnings
    assert any(w.startswith("in.bu:9:21:") and "8 GiB" in w for w in warnings)
    assert any(w.startswith("in.bu:10:18:") and "reserved for partition 3" in w for w in warnings)
    with pytest.raises(ButaneError, match=r"^in.bu:9:21: .*8 GiB.*strict mode"):
        transpile_bytes(doc, source="in.bu", strict=True)
    flatcar = doc.replace("variant: fcos\nversion: 1.4.0", "variant: flatcar\nversion: 1.0.0")
    assert transpile_bytes(flatcar, source="in.bu").warnings == []


def test_embedded_config_of_unknown_version_is_a_warning() -> None:
    doc = (
        HEAD
        + 'ignition:\n  config:\n    replace:\n      inline: \'{"ignition":{"version":"3.9.0"}}\'\n'
    )
    result = transpile_bytes(doc, source="in.bu")
    assert (
        result.warnings
        and result.warnings[0].startswith("in.bu:6:15:")
        and "3.9.0" in result.warnings[0]
    )
    with pytest.raises(ButaneError, match="strict mode"):
        transpile_bytes(doc, source="in.bu", strict=True)
